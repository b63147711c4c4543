#pragma once
// The /events wire format, kept apart from the transport so it can be tested without a socket:
// the request body, the reading of Meta's answers, and the text hygiene every string taken from
// the network goes through before it reaches last_error, a log line or the database.
#include <cstddef>
#include <string>
#include <string_view>

#include "capi/graph/graph_client.h"

namespace capi::graph::wire {

// {"data":<data_json verbatim>,"access_token":"...","test_event_code":"..."}; test_event_code
// only when set. The token travels in the body so it never shows up in a URL.
std::string buildEventsBody(const GraphRequest& request);

// Reads one HTTP answer of the /events edge. kind is Success or GraphFailure; latency is left
// to the caller. Every text field is made single-line valid UTF-8 and has `secret` (the access
// token) masked, since Meta echoes malformed tokens back in its messages.
GraphResponse parseResponse(int http_status, std::string_view body, const std::string& secret);

// `secret` replaced by "[redacted]" wherever it occurs. Secrets shorter than kMinRedactedSecret
// are left alone: no real access token is that short, and masking e.g. "t" would garble every
// message exactly when an operator is debugging a mistyped token.
constexpr std::size_t kMinRedactedSecret = 8;
std::string redact(std::string text, const std::string& secret);

// One line of valid UTF-8 of at most max_bytes: control characters become spaces, whitespace
// runs collapse, invalid UTF-8 bytes become '?', and a cut is marked with "...".
std::string oneLine(std::string_view text, std::size_t max_bytes);

}  // namespace capi::graph::wire
