#include "http/endpoint.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <strings.h>

namespace capi::http {

int toHttpStatus(Outcome o) {
  switch (o) {
    case Outcome::Ok: return 200;
    case Outcome::Accepted: return 202;
    case Outcome::NoContent: return 204;
    case Outcome::BadRequest: return 400;
    case Outcome::Unauthorized: return 401;
    case Outcome::Forbidden: return 403;
    case Outcome::NotFound: return 404;
    case Outcome::MethodNotAllowed: return 405;
    case Outcome::PayloadTooLarge: return 413;
    case Outcome::UnsupportedMediaType: return 415;
    case Outcome::ServiceUnavailable: return 503;
    case Outcome::Internal: return 500;
  }
  return 500;
}

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return ::strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string Request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {
// Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing above
// U+10FFFF) that starts at s[i], or 0 when none does.
size_t utf8SequenceLength(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;   // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) low = 0xA0;    // overlong
    if (lead == 0xED) high = 0x9F;   // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) low = 0x90;    // overlong
    if (lead == 0xF4) high = 0x8F;   // above U+10FFFF
  }
  if (n == 0 || i + n > s.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}
}  // namespace

std::string jsonQuote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // JSON text is UTF-8 (RFC 8259); a request's stray bytes, echoed back in a message, must
      // not make the whole answer unreadable.
      const size_t n = utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\\ufffd";
      } else {
        out.append(s, i, n);
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

Response jsonError(Outcome o, const std::string& message) {
  Response r;
  r.outcome = o;
  r.body = "{\"error\":" + jsonQuote(message) + "}";
  return r;
}

void Router::add(const std::string& method, const std::string& path, std::shared_ptr<Endpoint> endpoint) {
  routes_.push_back({method, path, std::move(endpoint)});
}

Response Router::dispatch(const Request& request) const {
  std::string allowed;
  for (const auto& r : routes_) {
    const bool prefix = !r.path.empty() && r.path.back() == '*';
    const bool match = prefix ? request.path.rfind(r.path.substr(0, r.path.size() - 1), 0) == 0
                              : request.path == r.path;
    if (!match) continue;
    if (r.method == request.method || (r.method == "GET" && request.method == "HEAD"))
      return r.endpoint->handle(request);
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  if (allowed.empty()) return jsonError(Outcome::NotFound, "no such endpoint: " + request.path);
  auto resp = jsonError(Outcome::MethodNotAllowed, request.method + " is not allowed here; use " + allowed);
  resp.headers.emplace_back("Allow", allowed);
  return resp;
}

namespace {
std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}
}  // namespace

std::string resolveClientIp(const std::string& peer, const std::string& forwarded_for,
                            const std::vector<std::string>& trusted_proxies) {
  auto trusted = [&](const std::string& ip) {
    return std::find(trusted_proxies.begin(), trusted_proxies.end(), ip) != trusted_proxies.end();
  };
  if (forwarded_for.empty() || !trusted(peer)) return peer;
  std::vector<std::string> hops;
  size_t start = 0;
  while (start <= forwarded_for.size()) {
    auto comma = forwarded_for.find(',', start);
    hops.push_back(trim(forwarded_for.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it)
    if (!it->empty() && !trusted(*it)) return *it;
  return peer;
}

}  // namespace capi::http
