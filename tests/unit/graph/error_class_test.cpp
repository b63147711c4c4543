#include <catch2/catch.hpp>

#include <string>

#include "capi/graph/graph_client.h"
#include "capi/graph/graph_wire.h"

using namespace capi::graph;

namespace {

GraphResponse graphFailure(int http_status, int code, int subcode = 0, std::optional<bool> is_transient = false,
                           std::string type = "OAuthException") {
  GraphResponse r;
  r.kind = GraphResponse::Kind::GraphFailure;
  r.http_status = http_status;
  r.error.code = code;
  r.error.subcode = subcode;
  r.error.is_transient = is_transient;
  r.error.type = std::move(type);
  r.error.message = "message";
  return r;
}

GraphResponse foreignBody(int http_status) {
  return wire::parseResponse(http_status, "<html>oops</html>", "");
}

}  // namespace

TEST_CASE("a success is Ok and a transport failure is Transient", "[graph][classify]") {
  GraphResponse ok;
  ok.kind = GraphResponse::Kind::Success;
  ok.http_status = 200;
  CHECK(classify(ok) == ErrorClass::Ok);

  GraphResponse net;
  net.kind = GraphResponse::Kind::Transport;
  net.transport_error = "connection refused";
  CHECK(classify(net) == ErrorClass::Transient);
}

TEST_CASE("throttling and downtime codes are Transient whatever the HTTP status", "[graph][classify]") {
  for (int code : {1, 2, 4, 17, 341, 368, 613, 80003, 80004}) {
    INFO("code " << code);
    CHECK(classify(graphFailure(400, code)) == ErrorClass::Transient);
    CHECK(classify(graphFailure(403, code)) == ErrorClass::Transient);
    CHECK(classify(graphFailure(500, code)) == ErrorClass::Transient);
  }
}

TEST_CASE("token errors pause the pixel: 190 with any subcode, and 102", "[graph][classify]") {
  CHECK(classify(graphFailure(400, 190)) == ErrorClass::Token);
  for (int subcode : {458, 459, 460, 463, 464, 467, 492}) {
    CHECK(classify(graphFailure(400, 190, subcode)) == ErrorClass::Token);
  }
  CHECK(classify(graphFailure(401, 102)) == ErrorClass::Token);
  // Even if Meta flagged it transient, retrying cannot fix a dead token.
  CHECK(classify(graphFailure(400, 190, 463, true)) == ErrorClass::Token);
}

TEST_CASE("permission errors pause the pixel: 3, 10 and 200-299", "[graph][classify]") {
  for (int code : {3, 10, 200, 210, 270, 299}) {
    INFO("code " << code);
    CHECK(classify(graphFailure(403, code)) == ErrorClass::Permission);
  }
  CHECK(classify(graphFailure(400, 300)) == ErrorClass::Invalid);
}

TEST_CASE("OAuthException with code 100 is Invalid, not a token problem", "[graph][classify]") {
  CHECK(classify(graphFailure(400, 100, 2804003)) == ErrorClass::Invalid);
  CHECK(classify(graphFailure(400, 100, 2804050, std::nullopt)) == ErrorClass::Invalid);
}

TEST_CASE("is_transient true makes an otherwise permanent error Transient", "[graph][classify]") {
  CHECK(classify(graphFailure(400, 100, 0, true)) == ErrorClass::Transient);
  CHECK(classify(graphFailure(400, 12345, 0, true)) == ErrorClass::Transient);
  CHECK(classify(graphFailure(400, 12345, 0, false)) == ErrorClass::Invalid);
}

TEST_CASE("a missing pixel or a token without access to it (100/33) pauses the pixel", "[graph][classify]") {
  CHECK(classify(graphFailure(400, 100, 33)) == ErrorClass::Permission);
}

TEST_CASE("HTTP 5xx and 429 are Transient, a 4xx without a Graph error pauses the pixel", "[graph][classify]") {
  CHECK(classify(foreignBody(500)) == ErrorClass::Transient);
  CHECK(classify(foreignBody(502)) == ErrorClass::Transient);
  CHECK(classify(foreignBody(503)) == ErrorClass::Transient);
  CHECK(classify(foreignBody(429)) == ErrorClass::Transient);
  CHECK(classify(foreignBody(400)) == ErrorClass::Permission);
  CHECK(classify(foreignBody(404)) == ErrorClass::Permission);
  CHECK(classify(foreignBody(413)) == ErrorClass::Permission);
  CHECK(classify(graphFailure(500, 12345)) == ErrorClass::Transient);
  CHECK(classify(graphFailure(400, 12345)) == ErrorClass::Invalid);
}

TEST_CASE("a retired API version or an unknown path is about the request and pauses the pixel", "[graph][classify]") {
  // They fail every request alike: split to single events, each event would be marked dead.
  for (int code : {2635, 12, 2500, 803}) {
    INFO("code " << code);
    CHECK(classify(graphFailure(400, code)) == ErrorClass::Request);
  }
  // An event Meta refuses (100/2804xxx) and unknown codes stay Invalid: one event must not
  // hold back a whole pixel.
  CHECK(classify(graphFailure(400, 100)) == ErrorClass::Invalid);
  CHECK(classify(graphFailure(400, 100, 2804001)) == ErrorClass::Invalid);
  CHECK(classify(graphFailure(400, 12345)) == ErrorClass::Invalid);
}

TEST_CASE("a 2xx that is not a Graph success is resent rather than declared dead", "[graph][classify]") {
  const auto r = foreignBody(200);
  REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
  CHECK(classify(r) == ErrorClass::Transient);
}

TEST_CASE("error classes have stable names", "[graph][classify]") {
  CHECK(std::string(toString(ErrorClass::Ok)) == "ok");
  CHECK(std::string(toString(ErrorClass::Transient)) == "transient");
  CHECK(std::string(toString(ErrorClass::Token)) == "token");
  CHECK(std::string(toString(ErrorClass::Permission)) == "permission");
  CHECK(std::string(toString(ErrorClass::Invalid)) == "invalid");
  CHECK(std::string(toString(ErrorClass::Request)) == "request");
}

TEST_CASE("describe gives Meta's code, texts and trace id on one line", "[graph][describe]") {
  const std::string body =
      R"({"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2804003,)"
      R"("is_transient":false,"error_user_title":"Event Timestamp Too Old","error_user_msg":"The timestamp for )"
      R"(this event is too far in the past.","fbtrace_id":"AxYz123"}})";
  const auto r = wire::parseResponse(400, body, "");
  CHECK(describe(r) ==
        "HTTP 400 Graph 100/2804003 OAuthException: Invalid parameter \u2014 Event Timestamp Too Old: The "
        "timestamp for this event is too far in the past. (fbtrace_id AxYz123)");

  const auto token = wire::parseResponse(
      400, R"({"error":{"message":"Error validating access token","type":"OAuthException","code":190}})", "");
  CHECK(describe(token) == "HTTP 400 Graph 190 OAuthException: Error validating access token");

  CHECK(describe(foreignBody(502)) == "HTTP 502: <html>oops</html>");

  GraphResponse net;
  net.kind = GraphResponse::Kind::Transport;
  net.transport_error = "connection refused by graph.facebook.com:443";
  CHECK(describe(net) == "network: connection refused by graph.facebook.com:443");

  GraphResponse ok;
  ok.kind = GraphResponse::Kind::Success;
  ok.http_status = 200;
  ok.events_received = 3;
  ok.fbtrace_id = "T1";
  CHECK(describe(ok) == "HTTP 200: events_received 3 (fbtrace_id T1)");
}

TEST_CASE("describe stays bounded and keeps the trace id when the message is huge", "[graph][describe]") {
  auto r = graphFailure(400, 100, 2804050);
  r.error.message = std::string(5000, 'x');
  r.error.user_msg = std::string(3000, 'y');
  r.error.fbtrace_id = "TraceKept";
  const auto text = describe(r);
  CHECK(text.size() <= 500);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find("(fbtrace_id TraceKept)") != std::string::npos);
}
