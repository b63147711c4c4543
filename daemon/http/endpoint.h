#pragma once
// The seam between the network and the daemon's logic: handlers receive a fully read Request
// and return a Response carrying an Outcome. toHttpStatus() is the one place outcomes become
// HTTP status codes. Nothing here includes Poco.
#include "common/json_text.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace capi::http {

enum class Outcome {
  Ok,                   // 200
  Accepted,             // 202
  NoContent,            // 204
  BadRequest,           // 400: malformed, unsigned, stale, invalid fields
  Unauthorized,         // 401: missing/wrong bearer or ingest key
  Forbidden,            // 403: CORS origin not allowed
  NotFound,             // 404
  MethodNotAllowed,     // 405
  PayloadTooLarge,      // 413
  UnsupportedMediaType, // 415
  ServiceUnavailable,   // 503: database unreachable; providers retry
  Internal,             // 500: a bug
};
int toHttpStatus(Outcome o);

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct Request {
  std::string method;
  std::string path;                 // without query
  std::string query;
  std::map<std::string, std::string, CaseInsensitiveLess> headers;
  std::string body;
  std::string peer_ip;              // TCP peer
  std::string header(const std::string& name) const;
};

struct Response {
  Outcome outcome = Outcome::Ok;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": message} with the outcome.
Response jsonError(Outcome o, const std::string& message);
// JSON string literal, quotes included (see common/json_text.h).
using ::capi::jsonQuote;

// Thread safety: handle() is called concurrently from HTTP worker threads.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual Response handle(const Request& request) = 0;
};

class Router {
 public:
  // path ending in '*' matches any path with that prefix.
  void add(const std::string& method, const std::string& path, std::shared_ptr<Endpoint> endpoint);
  // 404 for unknown paths, 405 (with Allow) for a known path and another method.
  Response dispatch(const Request& request) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    std::shared_ptr<Endpoint> endpoint;
  };
  std::vector<Route> routes_;
};

// The client's address: the TCP peer, or when the peer is a trusted proxy the right-most
// X-Forwarded-For entry that is not itself a trusted proxy.
std::string resolveClientIp(const std::string& peer, const std::string& forwarded_for,
                            const std::vector<std::string>& trusted_proxies);

}  // namespace capi::http
