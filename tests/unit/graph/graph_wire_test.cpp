#include <catch2/catch.hpp>

#include <string>

#include "capi/graph/graph_wire.h"

using namespace capi::graph;

TEST_CASE("the events body embeds data verbatim and adds test_event_code only when set", "[graph][wire]") {
  GraphRequest request;
  request.pixel_id = "42";
  request.access_token = "tok\"en";
  request.data_json = R"([{"event_name":"Purchase","event_id":"evt_1"}])";
  CHECK(wire::buildEventsBody(request) ==
        R"({"data":[{"event_name":"Purchase","event_id":"evt_1"}],"access_token":"tok\"en"})");

  request.test_event_code = "TEST123";
  CHECK(wire::buildEventsBody(request) ==
        R"({"data":[{"event_name":"Purchase","event_id":"evt_1"}],"access_token":"tok\"en",)"
        R"("test_event_code":"TEST123"})");
}

TEST_CASE("a Graph error body fills every field", "[graph][wire]") {
  const auto r = wire::parseResponse(
      400,
      R"({"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2804003,)"
      R"("is_transient":false,"error_user_title":"Event Timestamp Too Old","error_user_msg":"Too old.",)"
      R"("fbtrace_id":"Trace9"}})",
      "");
  REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
  CHECK(r.http_status == 400);
  CHECK(r.error.code == 100);
  CHECK(r.error.subcode == 2804003);
  CHECK(r.error.type == "OAuthException");
  CHECK(r.error.message == "Invalid parameter");
  CHECK(r.error.user_title == "Event Timestamp Too Old");
  CHECK(r.error.user_msg == "Too old.");
  CHECK(r.error.is_transient == std::optional<bool>(false));
  CHECK(r.error.fbtrace_id == "Trace9");
  CHECK(r.fbtrace_id == "Trace9");
}

TEST_CASE("missing optional error fields stay empty", "[graph][wire]") {
  const auto r =
      wire::parseResponse(401, R"({"error":{"message":"Bad token","type":"OAuthException","code":190}})", "");
  REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
  CHECK(r.error.code == 190);
  CHECK(r.error.subcode == 0);
  CHECK_FALSE(r.error.is_transient.has_value());
  CHECK(r.error.user_title.empty());
  CHECK(r.error.fbtrace_id.empty());
}

TEST_CASE("a body that is not a Graph answer becomes code 0 with a sanitized excerpt", "[graph][wire]") {
  std::string html = "<html>\r\n<body>\tBad\x01Gateway \xff\xfe</body></html>";
  html += std::string(500, 'z');
  const auto r = wire::parseResponse(502, html, "");
  REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
  CHECK(r.error.code == 0);
  CHECK(r.error.message.rfind("HTTP 502: <html> <body> Bad Gateway ?" "?</body></html>zzz", 0) == 0);
  CHECK(r.error.message.size() <= std::string("HTTP 502: ").size() + 200);

  CHECK(wire::parseResponse(500, "", "").error.message == "HTTP 500: (empty body)");
  CHECK(wire::parseResponse(400, R"({"unexpected":true})", "").error.message == R"(HTTP 400: {"unexpected":true})");
}

TEST_CASE("a success body gives events_received and the trace id", "[graph][wire]") {
  const auto r = wire::parseResponse(200, R"({"events_received":7,"messages":[],"fbtrace_id":"Tr"})", "");
  REQUIRE(r.kind == GraphResponse::Kind::Success);
  CHECK(r.events_received == 7);
  CHECK(r.fbtrace_id == "Tr");
}

TEST_CASE("the access token is masked in every text Meta sends back", "[graph][wire]") {
  const std::string token = "EAAGsecretTOKEN123";
  const auto r = wire::parseResponse(
      400, R"({"error":{"message":"Malformed access token EAAGsecretTOKEN123","type":"OAuthException","code":190,)"
           R"("error_user_msg":"EAAGsecretTOKEN123 is bad"}})",
      token);
  CHECK(r.error.message == "Malformed access token [redacted]");
  CHECK(r.error.user_msg == "[redacted] is bad");
  const auto foreign = wire::parseResponse(403, "denied for EAAGsecretTOKEN123", token);
  CHECK(foreign.error.message == "HTTP 403: denied for [redacted]");
}

TEST_CASE("a token across the cut of a foreign body's excerpt leaves no part of itself", "[graph][wire]") {
  const std::string token = "EAAGsecretTOKEN123";
  // The excerpt keeps 200 bytes; the token (18) starts 15 bytes before the cut.
  const std::string body = std::string(185, 'x') + token + " trailing text";
  const auto r = wire::parseResponse(502, body, token);
  INFO(r.error.message);
  CHECK(r.error.message.find("EAAG") == std::string::npos);
  CHECK(r.error.message.find("[redacted]") != std::string::npos);
}

TEST_CASE("a secret too short to be a token is not masked", "[graph][wire]") {
  CHECK(wire::redact("Invalid OAuth access token", "t") == "Invalid OAuth access token");
  CHECK(wire::redact("a 12345678 b 12345678", "12345678") == "a [redacted] b [redacted]");
}

TEST_CASE("oneLine never splits a UTF-8 character and marks the cut", "[graph][wire]") {
  CHECK(wire::oneLine("  a\n\n b  ", 100) == "a b");
  CHECK(wire::oneLine("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6) == "\xc3\xa9...");
  CHECK(wire::oneLine("abcdefghij", 8) == "abcde...");
  CHECK(wire::oneLine("\xed\xa0\x80", 10) == "???");   // a UTF-16 surrogate is not UTF-8
}
