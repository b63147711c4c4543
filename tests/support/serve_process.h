#pragma once
// The real capi-reconciler binary serving on a loopback port, as an operator and systemd see it,
// and the faults the process tests inflict on it: a PostgreSQL outage, raw and broken HTTP.
#include "http/endpoint.h"
#include "support/process.h"
#include "support/test_daemon.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace capi::testing {

// The wall clock as unix seconds: the real binary signs, stamps and expires by it.
int64_t unixNow();

// The status of `GET path` on 127.0.0.1:port; 0 when nothing listens or the connection broke.
int statusOf(uint16_t port, const std::string& path);

// A `serve` child on a reserved loopback port. The child is killed when this is destroyed.
struct ServeProcess {
  TempDir dir;
  uint16_t port = reserveLoopbackPort();
  std::string ingest_key;   // sent by post() as X-Ingest-Key when not empty
  std::unique_ptr<ChildProcess> child;

  // `config` receives the port and returns the configuration file's text.
  explicit ServeProcess(const std::function<std::string(uint16_t)>& config, std::string ingest_key = "");

  // Waits until /readyz answers 200. Fails the test, showing the daemon's log, when the daemon
  // exits or is not ready within the bound.
  void waitUntilReady(std::chrono::milliseconds bound = std::chrono::seconds(30));

  // POST with Content-Type application/json (unless `headers` names one) and the ingest key.
  // Throws when the connection fails.
  HttpResult post(const std::string& path, const std::string& body,
                  std::map<std::string, std::string> headers = {}) const;
};

// CAPI_TEST_PG_CONTROL: a program taking `stop` and `start` that stops and starts the whole
// PostgreSQL server the tests use (scripts/test sets it to scripts/pg); "" when unset.
std::string postgresControl();

// Stops the whole PostgreSQL server through `control` and starts it again on destruction, on
// every path out of the test: the rest of the suite needs it.
class PostgresOutage {
 public:
  explicit PostgresOutage(std::string control);
  ~PostgresOutage();
  PostgresOutage(const PostgresOutage&) = delete;
  PostgresOutage& operator=(const PostgresOutage&) = delete;

  // Starts the server again; returns the exit status of `start` (0 on success). After a
  // success it does nothing; after a failure the destructor tries once more.
  int restart();

 private:
  std::string control_;
  bool stopped_ = false;
};

// A raw HTTP/1.1 client connection to 127.0.0.1, for requests no well-behaved client sends:
// bodies in pieces, bodies shorter than announced, malformed heads.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port);   // throws when the connection is refused
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends every byte; throws std::runtime_error when the server closed the connection (never
  // SIGPIPE: a peer that already closed must fail the test, not kill the test process).
  void send(const std::string& bytes);
  // Like send(), but false instead of an exception: for writing into a server that may refuse
  // the request half-way and close (its answer can still be read afterwards).
  bool trySend(const std::string& bytes);
  // Half-closes: the server reads end-of-stream, the answer can still be read.
  void shutdownWrite();

  // Everything the server sends until it closes the connection, or until `bound` passes.
  std::string readUntilClosed(std::chrono::milliseconds bound);

 private:
  int fd_ = -1;
};

// A raw HTTP/1.1 response, read until the server closed, split up. status is 0 when the response
// is missing or cut short: no complete head, fewer body bytes than Content-Length announces, or
// neither a Content-Length nor Connection: close.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string, http::CaseInsensitiveLess> headers;
  std::string body;
};
RawResponse parseRawResponse(const std::string& raw);

// parseRawResponse(raw).status.
int completeResponseStatus(const std::string& raw);

}  // namespace capi::testing
