#include "capi/graph/graph_wire.h"

#include "common/json_text.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

namespace capi::graph::wire {
namespace {

// Meta's messages are a sentence or two; anything longer is noise we will not store.
constexpr std::size_t kMaxFieldBytes = 1000;
// How much of a body that is not a Graph answer (an HTML error page, a proxy's text) is kept.
constexpr std::size_t kMaxForeignBodyBytes = 200;

Poco::JSON::Object::Ptr parseObject(std::string_view body) {
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var root = parser.parse(std::string(body));
    if (root.type() == typeid(Poco::JSON::Object::Ptr)) return root.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    // Not JSON: the caller reports the body as text.
  }
  return nullptr;
}

std::string textField(const Poco::JSON::Object& obj, const std::string& key, const std::string& secret) {
  if (!obj.has(key)) return {};
  const Poco::Dynamic::Var v = obj.get(key);
  if (v.isEmpty()) return {};
  std::string text;
  try {
    text = v.isString() ? v.extract<std::string>() : v.toString();
  } catch (const std::exception&) {
    return {};
  }
  return oneLine(redact(std::move(text), secret), kMaxFieldBytes);
}

int intField(const Poco::JSON::Object& obj, const std::string& key) {
  if (!obj.has(key)) return 0;
  const Poco::Dynamic::Var v = obj.get(key);
  try {
    if (v.isInteger() || v.isNumeric()) {
      const auto n = v.convert<long long>();
      if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) return 0;
      return static_cast<int>(n);
    }
    if (v.isString()) {
      const auto& s = v.extract<std::string>();
      int n = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      return ec == std::errc() && end == s.data() + s.size() ? n : 0;
    }
  } catch (const std::exception&) {
  }
  return 0;
}

std::optional<bool> boolField(const Poco::JSON::Object& obj, const std::string& key) {
  if (!obj.has(key)) return std::nullopt;
  const Poco::Dynamic::Var v = obj.get(key);
  try {
    if (v.isBoolean()) return v.extract<bool>();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

std::string buildEventsBody(const GraphRequest& request) {
  std::string body;
  body.reserve(request.data_json.size() + request.access_token.size() + request.test_event_code.size() + 64);
  body += "{\"data\":";
  body += request.data_json;
  body += ",\"access_token\":";
  appendJsonString(body, request.access_token);
  if (!request.test_event_code.empty()) {
    body += ",\"test_event_code\":";
    appendJsonString(body, request.test_event_code);
  }
  body += '}';
  return body;
}

GraphResponse parseResponse(int http_status, std::string_view body, const std::string& secret) {
  GraphResponse r;
  r.http_status = http_status;
  const bool ok_status = http_status >= 200 && http_status < 300;

  if (const auto root = parseObject(body)) {
    if (const auto error = root->getObject("error")) {
      r.kind = GraphResponse::Kind::GraphFailure;
      r.error.code = intField(*error, "code");
      r.error.subcode = intField(*error, "error_subcode");
      r.error.type = textField(*error, "type", secret);
      r.error.message = textField(*error, "message", secret);
      r.error.user_title = textField(*error, "error_user_title", secret);
      r.error.user_msg = textField(*error, "error_user_msg", secret);
      r.error.is_transient = boolField(*error, "is_transient");
      r.error.fbtrace_id = textField(*error, "fbtrace_id", secret);
      if (r.error.fbtrace_id.empty()) r.error.fbtrace_id = textField(*root, "fbtrace_id", secret);
      r.fbtrace_id = r.error.fbtrace_id;
      if (r.error.message.empty()) r.error.message = "HTTP " + std::to_string(http_status) + ": error without message";
      return r;
    }
    if (ok_status && root->has("events_received")) {
      r.kind = GraphResponse::Kind::Success;
      r.events_received = intField(*root, "events_received");
      r.fbtrace_id = textField(*root, "fbtrace_id", secret);
      return r;
    }
  }

  // Not a Graph answer: an HTML error page from a load balancer, a proxy, an unexpected 2xx.
  r.kind = GraphResponse::Kind::GraphFailure;
  // Masked before it is cut: a token across the cut would otherwise leave its first part.
  const std::string excerpt = oneLine(redact(std::string(body), secret), kMaxForeignBodyBytes);
  r.error.message = "HTTP " + std::to_string(http_status) + ": " + (excerpt.empty() ? "(empty body)" : excerpt);
  return r;
}

std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < kMinRedactedSecret) return text;
  static const std::string kMask = "[redacted]";
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + kMask.size())) {
    text.replace(pos, secret.size(), kMask);
  }
  return text;
}

std::string oneLine(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes + 4));
  const auto space = [&out] {
    if (!out.empty() && out.back() != ' ') out += ' ';
  };
  for (std::size_t i = 0; i < text.size() && out.size() <= max_bytes;) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F || c == ' ') {
        space();
      } else {
        out += static_cast<char>(c);
      }
      ++i;
    } else if (const std::size_t len = utf8SequenceLength(text, i); len != 0) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max_bytes) {
    std::size_t cut = max_bytes >= 3 ? max_bytes - 3 : 0;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += std::string_view("...").substr(0, std::min<std::size_t>(3, max_bytes));
  }
  return out;
}

}  // namespace capi::graph::wire
