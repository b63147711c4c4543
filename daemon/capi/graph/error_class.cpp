// The retry policy's input: what a Graph answer means for the events in the batch
// (SPEC §4, meta-capi.md §5.2). Codes decide before HTTP status, because Meta sends throttling
// and token errors with 4xx and 5xx statuses alike.
#include <string>

#include "capi/graph/graph_client.h"
#include "capi/graph/graph_wire.h"

namespace capi::graph {
namespace {

constexpr std::size_t kMaxDescriptionBytes = 500;

bool isTokenCode(int code) {
  // 190: expired/invalid/malformed token (any subcode: 458-467, 492). 102: API session.
  return code == 190 || code == 102;
}

bool isPermissionCode(int code) { return code == 3 || code == 10 || (code >= 200 && code <= 299); }

bool isTransientCode(int code) {
  switch (code) {
    case 1:       // API unknown (downtime)
    case 2:       // API service (downtime)
    case 4:       // app-level throttling
    case 17:      // user-level throttling
    case 341:     // application limit
    case 368:     // temporarily blocked
    case 613:     // ad-account rate limit
    case 80003:   // rate limits of the ads management family
    case 80004:
      return true;
    default:
      return false;
  }
}

}  // namespace

ErrorClass classify(const GraphResponse& r) {
  switch (r.kind) {
    case GraphResponse::Kind::Success:
      return ErrorClass::Ok;
    case GraphResponse::Kind::Transport:
      return ErrorClass::Transient;
    case GraphResponse::Kind::GraphFailure:
      break;
  }
  const int code = r.error.code;
  // Token and permission problems pause the pixel instead of burning attempts; they win over
  // is_transient because retrying cannot fix them. "OAuthException" alone means nothing: Meta
  // uses that type for code 100 (invalid parameter) too.
  if (isTokenCode(code)) return ErrorClass::Token;
  if (isPermissionCode(code)) return ErrorClass::Permission;
  if (isTransientCode(code)) return ErrorClass::Transient;
  if (r.error.is_transient.value_or(false)) return ErrorClass::Transient;
  if (r.http_status >= 500 || r.http_status == 429) return ErrorClass::Transient;
  // A 2xx we could not read (a proxy's page, a truncated body): resending is safe because Meta
  // deduplicates on event_id, while declaring the events dead could lose accepted ones.
  if (r.http_status >= 200 && r.http_status < 300) return ErrorClass::Transient;
  // Errors about the request rather than an event would mark a whole healthy backlog dead one
  // bisection at a time: code 100 subcode 33 (the pixel does not exist or the token cannot reach
  // it, a configuration error) and a 4xx without a Graph error body (a proxy in the way) pause
  // the pixel until an operator fixes the configuration.
  if (code == 100 && r.error.subcode == 33) return ErrorClass::Permission;
  if (code == 0) return ErrorClass::Permission;
  // A retired API version (2635, 12) or a path Graph does not know (2500, 803: the pixel id)
  // fails every request alike: split down to single events, it would mark the whole backlog
  // dead. Other codes stay Invalid: Meta reports an event it will not take with 100/2804xxx,
  // and pausing a pixel on an unknown code that one event causes would hold back all others.
  if (code == 2635 || code == 12 || code == 2500 || code == 803) return ErrorClass::Request;
  return ErrorClass::Invalid;
}

const char* toString(ErrorClass c) {
  switch (c) {
    case ErrorClass::Ok: return "ok";
    case ErrorClass::Transient: return "transient";
    case ErrorClass::Token: return "token";
    case ErrorClass::Permission: return "permission";
    case ErrorClass::Invalid: return "invalid";
    case ErrorClass::Request: return "request";
  }
  return "unknown";
}

std::string describe(const GraphResponse& r) {
  std::string s;
  std::string trace = r.fbtrace_id;
  switch (r.kind) {
    case GraphResponse::Kind::Success:
      s = "HTTP " + std::to_string(r.http_status) + ": events_received " + std::to_string(r.events_received);
      break;
    case GraphResponse::Kind::Transport:
      s = "network: " + (r.transport_error.empty() ? std::string("unknown failure") : r.transport_error);
      break;
    case GraphResponse::Kind::GraphFailure: {
      const GraphError& e = r.error;
      if (!e.fbtrace_id.empty()) trace = e.fbtrace_id;
      if (e.code == 0 && e.type.empty()) {
        s = e.message;   // already "HTTP <status>: <body excerpt>"
        break;
      }
      s = "HTTP " + std::to_string(r.http_status) + " Graph " + std::to_string(e.code);
      if (e.subcode != 0) s += "/" + std::to_string(e.subcode);
      if (!e.type.empty()) s += " " + e.type;
      s += ": " + e.message;
      if (!e.user_title.empty() || !e.user_msg.empty()) {
        s += " \u2014 ";
        s += e.user_title;
        if (!e.user_title.empty() && !e.user_msg.empty()) s += ": ";
        s += e.user_msg;
      }
      break;
    }
  }
  // The trace id is what Meta support asks for: a long message is cut, never the id.
  const std::string suffix =
      r.kind == GraphResponse::Kind::Transport || trace.empty() ? "" : " (fbtrace_id " + wire::oneLine(trace, 64) + ")";
  return wire::oneLine(s, kMaxDescriptionBytes - suffix.size()) + suffix;
}

}  // namespace capi::graph
