// SPEC §7 for every endpoint of the real binary: malformed, truncated, oversized, wrongly encoded
// and hostile requests each get a clear 4xx, the daemon neither crashes nor hangs, and nothing is
// stored. One table of raw requests, sent byte for byte.
#include "support/process.h"
#include "support/serve_process.h"
#include "support/test_daemon.h"
#include "support/test_env.h"
#include "webhooks/stripe/stripe_signature.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace capi::testing;
using namespace std::chrono_literals;
using capi::webhooks::stripe::StripeSignatureVerifier;

namespace {

const std::string kIngestKey = "ingest-key-badinput";
const std::string kAdminToken = "admin-token-badinput";
const std::string kSecret = "whsec_badinput_secret";
constexpr size_t kMaxBody = 1024 * 1024;   // server.max_body_bytes' default, kept
constexpr int kReadTimeoutSeconds = 2;     // server.timeout_seconds: how long a stalled body is awaited

std::string badInputConfig(const TestDatabase& db, uint16_t port) {
  return "environment = production\n"
         "[log]\nlevel = warn\n"
         "[server]\nlisten = 127.0.0.1:" + std::to_string(port) + "\ningest_key = " + kIngestKey +
         "\ntimeout_seconds = " + std::to_string(kReadTimeoutSeconds) + "\n"
         "[database]\nurl = " + db.url() + "\nmigrations_dir = " + migrationsDir() + "\npool_size = 4\n"
         "[meta]\npixel_id = 998877\n"   // no token: dry-run, nothing leaves the machine
         "[stripe]\nwebhook_secret = " + kSecret + "\n"
         "[matching]\nwait_seconds = 0\n"
         "[admin]\ntoken = " + kAdminToken + "\n";
}

using Headers = std::vector<std::pair<std::string, std::string>>;

// A raw HTTP/1.1 request. Content-Length is the body's size unless `content_length` says
// otherwise, and absent when `chunked` (the body is then already chunk-encoded).
struct RawRequest {
  RawRequest() = default;
  RawRequest(std::string m, std::string t, std::string b = "", Headers h = {})
      : method(std::move(m)), target(std::move(t)), body(std::move(b)), headers(std::move(h)) {}

  std::string method = "POST";
  std::string target;
  std::string body;
  Headers headers;
  std::optional<size_t> content_length;
  bool chunked = false;
  std::string verbatim;   // when set, sent instead of everything above

  std::string bytes() const {
    if (!verbatim.empty()) return verbatim;
    std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
    if (chunked)
      out += "Transfer-Encoding: chunked\r\n";
    else if (content_length || !body.empty() || method == "POST")
      out += "Content-Length: " + std::to_string(content_length.value_or(body.size())) + "\r\n";
    return out + "\r\n" + body;
  }
};

std::string signature(const std::string& body, int64_t at) { return StripeSignatureVerifier::sign(kSecret, at, body); }

RawRequest events(std::string body, Headers extra = {}) {
  RawRequest r{"POST", "/v1/events", std::move(body), {{"Content-Type", "application/json"}, {"X-Ingest-Key", kIngestKey}}};
  r.headers.insert(r.headers.end(), extra.begin(), extra.end());
  return r;
}

// Signed as Stripe would sign it, now, unless `stripe_signature` is given.
RawRequest stripe(std::string body, std::optional<std::string> stripe_signature = std::nullopt) {
  const std::string sig = stripe_signature.value_or(signature(body, unixNow()));
  RawRequest r{"POST", "/webhooks/stripe", std::move(body), {{"Content-Type", "application/json"}}};
  if (!sig.empty()) r.headers.emplace_back("Stripe-Signature", sig);
  return r;
}

// `r` with header `name` set to `value`, replacing an earlier value.
RawRequest withHeader(RawRequest r, const std::string& name, const std::string& value) {
  for (auto& [k, v] : r.headers)
    if (k == name) {
      v = value;
      return r;
    }
  r.headers.emplace_back(name, value);
  return r;
}

RawRequest get(const std::string& target, Headers headers = {}) { return {"GET", target, "", std::move(headers)}; }

RawRequest admin(const std::string& method, const std::string& target, std::string body = "") {
  return {method, target, std::move(body), {{"Authorization", "Bearer " + kAdminToken}}};
}

std::string validEvent(const std::string& event_id) {
  BrowserEvent e;
  e.event_id = event_id;
  e.order_ref = "ORDER-" + event_id;
  e.event_time = unixNow() - 5;
  return browserEventJson(e);
}

std::string validWebhook(const std::string& suffix) {
  StripeCheckout c;
  c.event_id = "evt_" + suffix;
  c.session_id = "cs_" + suffix;
  c.payment_intent = "pi_" + suffix;
  c.client_reference_id = "ORDER-" + suffix;
  c.created = unixNow();
  return stripeCheckoutEvent(c);
}

// `text` with its first occurrence of `from` replaced.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string nested(size_t depth, char open, char close, const std::string& inner = "1") {
  return std::string(depth, open) + inner + std::string(depth, close);
}

std::string nestedObjects(size_t depth) {
  std::string out;
  out.reserve(depth * 6 + 2);
  for (size_t i = 0; i < depth; ++i) out += "{\"a\":";
  out += "1";
  out.append(depth, '}');
  return out;
}

// What UTF-16 (little endian, with its byte order mark) makes of an ASCII text.
std::string utf16le(const std::string& ascii) {
  std::string out = "\xFF\xFE";
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

std::string chunkedEncoding(size_t total, size_t chunk) {
  std::string out;
  const std::string piece(chunk, ' ');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk);
  for (size_t sent = 0; sent < total; sent += chunk) out += size_line + piece + "\r\n";
  return out + "0\r\n\r\n";
}

enum class Send {
  Whole,       // the request, then wait for the answer
  HalfClose,   // the request, then the client stops sending (EOF) before the announced end
  Stall,       // the request, then silence with the connection open: the server's read timeout
};

enum class Answer {
  JsonError,    // the daemon's own {"error": "..."} with application/json
  ProtocolError // refused by the HTTP parser before any endpoint sees it: a 4xx, no body required
};

struct BadInput {
  BadInput(std::string n, RawRequest r, std::set<int> s, Send how = Send::Whole, Answer a = Answer::JsonError)
      : name(std::move(n)), request(std::move(r)), statuses(std::move(s)), send(how), answer(a) {}

  std::string name;
  RawRequest request;
  std::set<int> statuses;
  Send send = Send::Whole;
  Answer answer = Answer::JsonError;
};

// Rows of every table a request could write to, and what could be flipped by one.
std::string storedState(const TestDatabase& db) {
  return db.scalar(
      "SELECT concat_ws(' ', (SELECT count(*) FROM client_events), (SELECT count(*) FROM webhook_deliveries), "
      "(SELECT count(*) FROM payments), (SELECT count(*) FROM outbound_events), "
      "(SELECT count(*) FROM outbound_events WHERE status = 'dead'), (SELECT count(*) FROM send_attempts), "
      "(SELECT count(*) FROM pixel_pauses))");
}

std::string sendRaw(uint16_t port, const std::string& bytes, Send how) {
  RawConnection c(port);
  // A server that refuses a body half-way closes while we still write; its answer is readable.
  c.trySend(bytes);
  if (how == Send::HalfClose) c.shutdownWrite();
  return c.readUntilClosed(std::chrono::seconds(kReadTimeoutSeconds + 20));
}

// The error message of a JSON error answer, or "" when the body is not {"error": "<text>"}.
std::string jsonErrorMessage(const RawResponse& r) {
  if (r.headers.count("Content-Type") == 0 || r.headers.at("Content-Type").rfind("application/json", 0) != 0) return "";
  try {
    Poco::JSON::Parser parser;
    const auto body = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
    return body && body->has("error") && body->get("error").isString() ? body->getValue<std::string>("error") : "";
  } catch (const std::exception&) {
    return "";
  }
}

std::vector<BadInput> corpus() {
  const int64_t now = unixNow();
  const std::string event = validEvent("bad-input-evt");
  const std::string webhook = validWebhook("badinput");
  const std::string oversized_event = "{\"event_name\":\"Purchase\",\"pad\":\"" + std::string(kMaxBody, 'x') + "\"}";
  const std::string deep_arrays = nested(100000, '[', ']');
  const std::string deep_objects = nestedObjects(100000);
  std::vector<BadInput> c;

  // ---- POST /v1/events ----
  c.push_back({"events: malformed JSON", events(R"({"event_name":"Purchase","event_id":)"), {400}});
  c.push_back({"events: JSON with a trailing comma", events(R"({"event_name":"Purchase","event_id":"a",})"), {400}});
  c.push_back({"events: a JSON array instead of an object", events("[1,2,3]"), {400}});
  c.push_back({"events: a bare JSON string", events("\"Purchase\""), {400}});
  c.push_back({"events: JSON null", events("null"), {400}});
  c.push_back({"events: an empty body", events(""), {400}});
  c.push_back({"events: whitespace only", events(" \r\n\t "), {400}});
  c.push_back({"events: empty data list", events(R"({"data":[]})"), {400}});
  c.push_back({"events: data is not a list", events(R"({"data":{"event_name":"Purchase"}})"), {400}});
  c.push_back({"events: a list of 1001 events", events("{\"data\":[" + [&] {
                 std::string list;
                 for (int i = 0; i < 1001; ++i) list += (i ? "," : "") + validEvent("many-" + std::to_string(i));
                 return list;
               }() + "]}"), {400}});
  c.push_back({"events: one invalid event among valid ones stores none",
               events("{\"data\":[" + validEvent("batch-ok-1") + R"(,{"event_name":"Purchase"},)" +
                      validEvent("batch-ok-2") + "]}"), {400}});
  c.push_back({"events: a valid event whose body ends before its Content-Length",
               [&] { auto r = events(event); r.content_length = event.size() + 64; return r; }(), {400},
               Send::HalfClose});
  c.push_back({"events: half an event, then the client goes away",
               [&] { auto r = events(event.substr(0, event.size() / 2)); r.content_length = event.size(); return r; }(),
               {400}, Send::HalfClose});
  c.push_back({"events: a body that stalls half-way",
               [&] { auto r = events(event.substr(0, event.size() / 2)); r.content_length = event.size(); return r; }(),
               {400, 408}, Send::Stall});
  c.push_back({"events: Content-Length above server.max_body_bytes, body not sent",
               [&] { auto r = events(""); r.content_length = kMaxBody + 1; return r; }(), {413}, Send::HalfClose});
  c.push_back({"events: a body one byte above server.max_body_bytes", events(oversized_event), {413}});
  c.push_back({"events: a chunked body above server.max_body_bytes",
               [&] { auto r = events(chunkedEncoding(kMaxBody + 64 * 1024, 16 * 1024)); r.chunked = true; return r; }(),
               {413}});
  c.push_back({"events: a malformed chunked body",
               [&] { auto r = events("zz\r\n{}\r\n0\r\n\r\n"); r.chunked = true; return r; }(), {400}});
  c.push_back({"events: invalid UTF-8 in event_id", events(replaced(event, "bad-input-evt", "bad\xFF\xFEinput")), {400}});
  c.push_back({"events: overlong UTF-8 in order_ref",
               events(replaced(event, "ORDER-bad-input-evt", "ORDER-\xC0\xAF-evt")), {400}});
  c.push_back({"events: a lone UTF-16 surrogate escape in event_id",
               events(replaced(event, "bad-input-evt", "bad\\ud800input")), {400}});
  c.push_back({"events: a NUL byte in the body", events(replaced(event, "bad-input-evt", std::string("bad\0in", 6))),
               {400}});
  c.push_back({"events: a \\u0000 escape in event_id", events(replaced(event, "bad-input-evt", "bad\\u0000input")),
               {400}});
  c.push_back({"events: a UTF-16 body", withHeader(events(utf16le(event)), "Content-Type", "application/json; charset=utf-16"),
               {400, 415}});
  c.push_back({"events: 100,000 nested arrays", events(deep_arrays), {400}});
  c.push_back({"events: 100,000 nested objects", events(deep_objects), {400}});
  c.push_back({"events: deeply nested custom_data",
               events(replaced(event, "\"event_source_url\"", "\"custom_data\":" + deep_objects + ",\"event_source_url\"")),
               {400}});
  c.push_back({"events: event_time beyond every integer type",
               events(replaced(event, std::to_string(now - 5), "99999999999999999999999999999999")), {400}});
  c.push_back({"events: event_time beyond double", events(replaced(event, std::to_string(now - 5), "1e400")), {400}});
  c.push_back({"events: event_time negative", events(replaced(event, std::to_string(now - 5), "-9223372036854775808")),
               {400}});
  c.push_back({"events: duplicate event_id keys",
               events(replaced(event, "\"event_id\":", "\"event_id\":\"first-of-two\",\"event_id\":")), {400}});
  c.push_back({"events: Content-Type text/xml", withHeader(events(event), "Content-Type", "text/xml"), {415}});
  c.push_back({"events: Content-Type multipart/form-data",
               withHeader(events(event), "Content-Type", "multipart/form-data; boundary=x"), {415}});
  c.push_back({"events: no X-Ingest-Key", {"POST", "/v1/events", event, {{"Content-Type", "application/json"}}}, {401}});
  c.push_back({"events: a wrong X-Ingest-Key",
               {"POST", "/v1/events", event, {{"Content-Type", "application/json"}, {"X-Ingest-Key", kIngestKey + "x"}}},
               {401}});
  c.push_back({"events: GET", get("/v1/events"), {405}});
  c.push_back({"events: PUT", [&] { auto r = events(event); r.method = "PUT"; return r; }(), {405}});
  c.push_back({"events: DELETE", {"DELETE", "/v1/events"}, {405}});
  c.push_back({"events: a made-up method", {"BREW", "/v1/events"}, {405}});
  c.push_back({"events: a header value of 100 KB", events(event, {{"User-Agent", std::string(100 * 1024, 'u')}}),
               {400, 431}, Send::Whole, Answer::ProtocolError});
  c.push_back({"events: 2,000 headers", [&] {
                 Headers many;
                 for (int i = 0; i < 2000; ++i) many.emplace_back("X-Filler-" + std::to_string(i), "v");
                 return events(event, many);
               }(), {400, 431}, Send::Whole, Answer::ProtocolError});

  // ---- POST /webhooks/stripe ----
  c.push_back({"stripe: unsigned", stripe(webhook, ""), {400}});
  c.push_back({"stripe: a garbage Stripe-Signature", stripe(webhook, "garbage"), {400}});
  c.push_back({"stripe: signed with another secret",
               stripe(webhook, StripeSignatureVerifier::sign("whsec_not_the_configured_one", now, webhook)), {400}});
  c.push_back({"stripe: a stale timestamp", stripe(webhook, signature(webhook, now - 3600)), {400}});
  c.push_back({"stripe: a timestamp an hour ahead", stripe(webhook, signature(webhook, now + 3600)), {400}});
  c.push_back({"stripe: the signature of another body",
               stripe(webhook, signature(replaced(webhook, "\"amount_total\":1999", "\"amount_total\":1"), now)), {400}});
  c.push_back({"stripe: a v0 scheme only", stripe(webhook, replaced(signature(webhook, now), ",v1=", ",v0=")), {400}});
  c.push_back({"stripe: a Stripe-Signature of 7,000 bytes",
               stripe(webhook, "t=" + std::to_string(now) + ",v1=" + std::string(7000, 'a')), {400}});
  c.push_back({"stripe: a Stripe-Signature with 100 v1 entries", stripe(webhook, [&] {
                 std::string s = "t=" + std::to_string(now);
                 for (int i = 0; i < 100; ++i) s += ",v1=" + std::string(64, '0');
                 return s;
               }()), {400}});
  c.push_back({"stripe: signed malformed JSON", stripe(R"({"id":"evt_x","type":)"), {400}});
  c.push_back({"stripe: signed empty body", stripe(""), {400}});
  c.push_back({"stripe: signed JSON array", stripe("[" + webhook + "]"), {400}});
  c.push_back({"stripe: signed event without an id", stripe(replaced(webhook, "\"id\":\"evt_badinput\",", "")), {400}});
  c.push_back({"stripe: signed event with a numeric id", stripe(replaced(webhook, "\"evt_badinput\"", "42")), {400}});
  c.push_back({"stripe: signed 100,000 nested arrays", stripe(deep_arrays), {400}});
  c.push_back({"stripe: signed 100,000 nested objects", stripe(deep_objects), {400}});
  c.push_back({"stripe: signed deep nesting inside metadata",
               stripe(replaced(webhook, "\"metadata\":{}", "\"metadata\":" + deep_objects)), {400}});
  c.push_back({"stripe: signed invalid UTF-8", stripe(replaced(webhook, "John Smith", "John \xFF\xFE Smith")), {400}});
  c.push_back({"stripe: signed lone surrogate escape", stripe(replaced(webhook, "John Smith", "John \\udc00 Smith")), {400}});
  c.push_back({"stripe: signed NUL byte", stripe(replaced(webhook, "John Smith", std::string("John\0Smith", 10))), {400}});
  c.push_back({"stripe: signed \\u0000 escape", stripe(replaced(webhook, "John Smith", "John\\u0000Smith")), {400}});
  c.push_back({"stripe: signed UTF-16 body", stripe(utf16le(webhook)), {400}});
  c.push_back({"stripe: signed amount beyond 64 bits",
               stripe(replaced(webhook, "\"amount_total\":1999", "\"amount_total\":184467440737095516160")), {400}});
  c.push_back({"stripe: signed amount 1e400", stripe(replaced(webhook, "\"amount_total\":1999", "\"amount_total\":1e400")),
               {400}});
  c.push_back({"stripe: signed duplicate id keys",
               stripe(replaced(webhook, "\"id\":\"evt_badinput\"", "\"id\":\"evt_first\",\"id\":\"evt_badinput\"")), {400}});
  c.push_back({"stripe: signed body above server.max_body_bytes",
               stripe("{\"id\":\"evt_big\",\"pad\":\"" + std::string(kMaxBody, 'x') + "\"}"), {413}});
  c.push_back({"stripe: a signed body that ends before its Content-Length",
               [&] { auto r = stripe(webhook); r.content_length = webhook.size() + 100; return r; }(), {400},
               Send::HalfClose});
  c.push_back({"stripe: the signed prefix of a body, then the client goes away", [&] {
                 const std::string prefix = webhook.substr(0, webhook.size() / 2);
                 auto r = stripe(prefix);
                 r.content_length = webhook.size();
                 return r;
               }(), {400}, Send::HalfClose});
  c.push_back({"stripe: GET", get("/webhooks/stripe"), {405}});
  c.push_back({"stripe: PATCH", [&] { auto r = stripe(webhook); r.method = "PATCH"; return r; }(), {405}});
  c.push_back({"stripe: an unknown provider", [&] { auto r = stripe(webhook); r.target = "/webhooks/paypal"; return r; }(),
               {404}});

  // ---- GET /healthz, /readyz, /metrics ----
  c.push_back({"healthz: POST", {"POST", "/healthz", "{}"}, {405}});
  c.push_back({"readyz: DELETE", {"DELETE", "/readyz"}, {405}});
  c.push_back({"metrics: PUT", {"PUT", "/metrics", "x"}, {405}});
  c.push_back({"healthz: a GET announcing a body above server.max_body_bytes",
               [] { auto r = get("/healthz"); r.content_length = kMaxBody + 1; return r; }(), {413}, Send::HalfClose});
  c.push_back({"metrics: a GET whose body ends before its Content-Length",
               [] { auto r = get("/metrics"); r.body = "abc"; r.content_length = 10; return r; }(), {400}, Send::HalfClose});
  c.push_back({"path traversal: /healthz/../admin/api/status", get("/healthz/../admin/api/status"), {404}});
  c.push_back({"path traversal: /metrics/../../etc/passwd", get("/metrics/../../etc/passwd"), {404}});
  c.push_back({"path traversal: percent-encoded dots", get("/%2e%2e/%2e%2e/etc/passwd"), {404}});
  c.push_back({"path traversal: /v1/../readyz", get("/v1/../readyz"), {404}});
  c.push_back({"unknown path with invalid UTF-8", get("/\xFF\xFE"), {400, 404}});
  c.push_back({"a target of 100 KB", get("/healthz?" + std::string(100 * 1024, 'q')), {400, 414},
               Send::Whole, Answer::ProtocolError});
  c.push_back({"a request line that is not HTTP", [] { RawRequest r; r.verbatim = "\x16\x03\x01 garbage\r\n\r\n"; return r; }(),
               {400}, Send::Whole, Answer::ProtocolError});

  // ---- /admin/api ----
  c.push_back({"admin: no token", get("/admin/api/status"), {401}});
  c.push_back({"admin: a wrong token", get("/admin/api/status", {{"Authorization", "Bearer " + kAdminToken + "x"}}),
               {401}});
  c.push_back({"admin: an empty bearer token", get("/admin/api/status", {{"Authorization", "Bearer "}}), {401}});
  c.push_back({"admin: basic authentication", get("/admin/api/status", {{"Authorization", "Basic YWRtaW46YWRtaW4="}}),
               {401}});
  c.push_back({"admin: a token of 8 KB", get("/admin/api/status", {{"Authorization", "Bearer " + std::string(8000, 't')}}),
               {401}});
  c.push_back({"admin: DELETE status", admin("DELETE", "/admin/api/status"), {405}});
  c.push_back({"admin: an unknown resource", admin("GET", "/admin/api/secrets"), {404}});
  c.push_back({"admin: path traversal out of the API", admin("GET", "/admin/api/../../etc/passwd"), {404}});
  c.push_back({"admin: path traversal inside the API", admin("GET", "/admin/api/retries/../status"), {404}});
  c.push_back({"admin: an encoded traversal as the event key", admin("GET", "/admin/api/events/..%2f..%2fetc%2fpasswd"),
               {404}});
  c.push_back({"admin: a retry id that is not a number", admin("GET", "/admin/api/retries/abc"), {400}});
  c.push_back({"admin: a retry id beyond 64 bits", admin("GET", "/admin/api/retries/99999999999999999999999"), {400}});
  c.push_back({"admin: a negative retry id", admin("GET", "/admin/api/retries/-1"), {400}});
  c.push_back({"admin: limit not a number", admin("GET", "/admin/api/retries?limit=abc"), {400}});
  c.push_back({"admin: limit negative", admin("GET", "/admin/api/retries?limit=-5"), {400}});
  c.push_back({"admin: limit beyond 64 bits", admin("GET", "/admin/api/retries?limit=99999999999999999999"), {400}});
  c.push_back({"admin: an unknown status", admin("GET", "/admin/api/retries?status=bogus"), {400}});
  c.push_back({"admin: a status that is an option", admin("GET", "/admin/api/retries?status=--json"), {400}});
  c.push_back({"admin: retry of an id that is an option", admin("POST", "/admin/api/retries/--all-dead/retry"), {400}});
  c.push_back({"admin: retry of an id that is not a number", admin("POST", "/admin/api/retries/abc/retry"), {400}});
  c.push_back({"admin: retry of an id that does not exist", admin("POST", "/admin/api/retries/987654321/retry"), {404}});
  c.push_back({"admin: an event key that looks like an option is only a key", admin("GET", "/admin/api/events/--no-color"), {404}});
  c.push_back({"admin: an event key with invalid UTF-8", admin("GET", "/admin/api/events/\xFF\xFE"), {400, 404}});
  c.push_back({"admin: retry with a body above server.max_body_bytes",
               admin("POST", "/admin/api/retries/1/retry", std::string(kMaxBody + 1, 'x')), {413}});
  return c;
}

}  // namespace

TEST_CASE("every endpoint answers malformed, oversized, wrongly encoded and hostile input with a clear 4xx, "
          "stores nothing and keeps serving",
          "[badinput]") {
  TestDatabase db;
  ServeProcess serve([&](uint16_t port) { return badInputConfig(db, port); }, kIngestKey);
  serve.waitUntilReady();

  // Something to protect: a browser event, a payment and its outbound row, one of them dead.
  REQUIRE(serve.post("/v1/events", validEvent("stored-evt")).status == 202);
  const std::string stored_webhook = validWebhook("stored");
  REQUIRE(serve.post("/webhooks/stripe", stored_webhook, {{"Stripe-Signature", signature(stored_webhook, unixNow())}})
              .status == 200);
  const std::string dead_webhook = validWebhook("dead");
  REQUIRE(serve.post("/webhooks/stripe", dead_webhook, {{"Stripe-Signature", signature(dead_webhook, unixNow())}})
              .status == 200);
  REQUIRE(pollUntil(30s, [&] {
    return db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'dry_run'") == "2";
  }));
  db.exec("UPDATE outbound_events SET status = 'dead', last_error = 'test' WHERE order_ref = 'ORDER-dead'");
  const std::string before = storedState(db);

  for (const auto& input : corpus()) {
    INFO(input.name);
    const std::string state = storedState(db);
    const std::string raw = sendRaw(serve.port, input.request.bytes(), input.send);
    const RawResponse response = parseRawResponse(raw);
    INFO("answer: " << raw.substr(0, 600));
    CHECK(input.statuses.count(response.status) == 1);
    CHECK(response.status >= 400);
    CHECK(response.status < 500);
    if (input.answer == Answer::JsonError) CHECK_FALSE(jsonErrorMessage(response).empty());
    if (!serve.child->running()) FAIL("the daemon exited; its output:\n" << serve.child->output());
    CHECK(storedState(db) == state);
  }
  CHECK(storedState(db) == before);

  // A Stripe redelivery is answered 200 (Stripe would retry anything else for days) and
  // changes nothing.
  const auto redelivery =
      serve.post("/webhooks/stripe", stored_webhook, {{"Stripe-Signature", signature(stored_webhook, unixNow())}});
  CHECK(redelivery.status == 200);
  CHECK(redelivery.body.find("\"duplicate\"") != std::string::npos);
  CHECK(storedState(db) == before);

  INFO(serve.child->output());
  CHECK(statusOf(serve.port, "/healthz") == 200);
  CHECK(statusOf(serve.port, "/readyz") == 200);
  const std::string metrics = httpRequest(serve.port, "GET", "/metrics").body;
  CHECK(metrics.find("capi_http_requests_total{code=\"500\"}") == std::string::npos);
  CHECK(serve.child->running());
}
