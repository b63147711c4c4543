#pragma once
// The Graph API /events edge: one HTTPS POST per batch. GraphApi is the seam the dispatcher
// sees; PocoGraphClient is the production implementation (TLS verified against the system CA
// store plus an optional extra CA file).
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace capi::graph {

struct GraphRequest {
  std::string pixel_id;
  std::string access_token;
  std::string data_json;         // a JSON array of server events, already serialized
  std::string test_event_code;   // empty: not sent
};

struct GraphError {
  int code = 0;
  int subcode = 0;
  std::string type;
  std::string message;
  std::string user_title;
  std::string user_msg;
  std::optional<bool> is_transient;
  std::string fbtrace_id;
};

struct GraphResponse {
  enum class Kind { Success, GraphFailure, Transport };
  Kind kind = Kind::Transport;
  int http_status = 0;                 // 0 for Transport
  int events_received = 0;             // Success
  std::string fbtrace_id;              // Success or GraphFailure
  GraphError error;                    // GraphFailure (code 0 when the body was not a Graph error)
  std::string transport_error;         // Transport: connect/TLS/timeout description (no secrets)
  std::chrono::milliseconds latency{0};
};

// How the dispatcher must treat a response (SPEC §4, reference meta-capi.md §5).
enum class ErrorClass {
  Ok,
  Transient,     // network, timeout, 5xx, Graph 1, 2, 4, 17, 341, 368, 613, 80003/80004, is_transient
  Token,         // 190 and OAuth errors (102, 463, 467, ...): pause the pixel
  Permission,    // 3, 10, 200-299, 100/33, a 4xx without a Graph error: pause the pixel
  Invalid,       // other 4xx (100 and its subcodes, 2804003 ...): permanent for this event/batch
  Request,       // 2635, 12 (retired API version), 2500, 803 (unknown path): every request; pause
};

ErrorClass classify(const GraphResponse& r);
const char* toString(ErrorClass c);
// One line for last_error / logs: "Graph 100/2804003: Event Timestamp Too Old: The timestamp...".
std::string describe(const GraphResponse& r);

// Thread safety: implementations must allow concurrent sendEvents calls.
class GraphApi {
 public:
  virtual ~GraphApi() = default;
  virtual GraphResponse sendEvents(const GraphRequest& request) = 0;
};

struct GraphClientOptions {
  std::string graph_url = "https://graph.facebook.com";   // scheme://host[:port]
  std::string api_version = "v26.0";
  std::string ca_file;                                     // optional extra trusted CA (PEM)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{10000};
};

// REQUIRES: Poco::Net::initializeSSL() was called (the app does it once at start).
// Throws std::invalid_argument for an unusable graph_url or unreadable ca_file.
std::unique_ptr<GraphApi> makePocoGraphClient(const GraphClientOptions& options);

}  // namespace capi::graph
