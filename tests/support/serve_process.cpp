#include "support/serve_process.h"

#include "support/test_env.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace capi::testing {

int64_t unixNow() { return static_cast<int64_t>(std::time(nullptr)); }

int statusOf(uint16_t port, const std::string& path) {
  try {
    return httpRequest(port, "GET", path).status;
  } catch (const std::exception&) {
    return 0;   // not listening (yet), or the connection broke
  }
}

ServeProcess::ServeProcess(const std::function<std::string(uint16_t)>& config, std::string key)
    : ingest_key(std::move(key)) {
  const std::string path = dir.write("capi-reconciler.conf", config(port));
  child = std::make_unique<ChildProcess>(daemonBinary(), std::vector<std::string>{"serve", "--config", path});
}

void ServeProcess::waitUntilReady(std::chrono::milliseconds bound) {
  const bool ready = pollUntil(bound, [&] { return !child->running() || statusOf(port, "/readyz") == 200; });
  if (!ready || !child->running())
    FAIL("capi-reconciler serve did not become ready on port " << port << "; its output:\n" << child->output());
}

HttpResult ServeProcess::post(const std::string& path, const std::string& body,
                              std::map<std::string, std::string> headers) const {
  headers.emplace("Content-Type", "application/json");
  if (!ingest_key.empty()) headers.emplace("X-Ingest-Key", ingest_key);
  return httpRequest(port, "POST", path, body, headers);
}

std::string postgresControl() {
  const char* control = std::getenv("CAPI_TEST_PG_CONTROL");
  return control == nullptr ? std::string() : std::string(control);
}

PostgresOutage::PostgresOutage(std::string control) : control_(std::move(control)) {
  const auto r = runProcess(control_, {"stop"}, {}, std::chrono::seconds(120));
  if (r.exit_code != 0) {
    restart();
    FAIL(control_ << " stop failed (" << r.exit_code << "):\n" << r.output());
  }
  stopped_ = true;
}

PostgresOutage::~PostgresOutage() {
  try {
    restart();
  } catch (...) {
    // Nothing more can be done from a destructor; the following tests will report it.
  }
}

int PostgresOutage::restart() {
  if (!stopped_) return 0;
  const auto r = runProcess(control_, {"start"}, {}, std::chrono::seconds(120));
  if (r.exit_code == 0) stopped_ = false;
  return r.exit_code;
}

RawConnection::RawConnection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RawConnection::send(const std::string& bytes) {
  if (!trySend(bytes)) throw std::runtime_error("send failed: the server closed the connection");
}

bool RawConnection::trySend(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void RawConnection::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

std::string RawConnection::readUntilClosed(std::chrono::milliseconds bound) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return out;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

RawResponse parseRawResponse(const std::string& raw) {
  RawResponse r;
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return r;
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return r;
  size_t line = raw.find("\r\n") + 2;
  while (line < head_end + 2) {
    const size_t next = raw.find("\r\n", line);
    const std::string field = raw.substr(line, next - line);
    const auto colon = field.find(':');
    if (colon != std::string::npos) {
      const auto value = field.find_first_not_of(' ', colon + 1);
      r.headers[field.substr(0, colon)] = value == std::string::npos ? "" : field.substr(value);
    }
    line = next + 2;
  }
  const auto length = r.headers.find("Content-Length");
  if (length != r.headers.end()) {
    if (raw.size() - (head_end + 4) != std::stoul(length->second)) return r;
  } else {
    // Without a length the body runs to the end of the connection, which the server must say.
    const auto connection = r.headers.find("Connection");
    if (connection == r.headers.end() || ::strcasecmp(connection->second.c_str(), "close") != 0) return r;
  }
  r.body = raw.substr(head_end + 4);
  r.status = std::stoi(raw.substr(9, 3));
  return r;
}

int completeResponseStatus(const std::string& raw) { return parseRawResponse(raw).status; }

}  // namespace capi::testing
