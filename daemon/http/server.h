#pragma once
// Poco::Net HTTP server glue: reads each request body (bounded by max_body_bytes), hands a
// Request to the Router, writes the Response. Every exception stops here and becomes a status:
// a pqxx exception escaping a Poco handler would otherwise close the socket with no answer.
#include "http/endpoint.h"

#include <cstdint>
#include <memory>
#include <string>

namespace capi {
class Metrics;
}

namespace capi::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;            // 0: any free port (tests)
  size_t max_body_bytes = 1024 * 1024;
  int threads = 32;
  int max_queued = 256;
  int timeout_seconds = 15;
  int keepalive_timeout_seconds = 5;
};

class HttpServer {
 public:
  // Binds immediately (throws on a port in use); serving starts with start().
  HttpServer(const ServerOptions& options, const Router& router, Metrics& metrics);
  ~HttpServer();
  void start();
  // Stops accepting; in-flight requests finish (up to the socket timeout).
  void stop();
  uint16_t port() const;
  int currentConnections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capi::http
