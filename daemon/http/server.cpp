#include "http/server.h"

#include "common/metrics.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/ServerSocketImpl.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <istream>

namespace capi::http {
namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const Router& router, Metrics& metrics, size_t max_body)
      : router_(router), metrics_(metrics), max_body_(max_body) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
    Response out;
    bool drained = true;
    try {
      Request r;
      r.method = req.getMethod();
      const std::string& uri = req.getURI();
      const auto q = uri.find('?');
      r.path = uri.substr(0, q);
      if (q != std::string::npos) r.query = uri.substr(q + 1);
      for (const auto& [name, value] : req) r.headers[name] = value;
      r.peer_ip = req.clientAddress().host().toString();
      // Without a length or chunking there is no body: Poco would read until the peer closes
      // (a CORS preflight would hang for the whole socket timeout).
      const bool has_body = req.hasContentLength() || req.getChunkedTransferEncoding();
      if (req.hasContentLength() && req.getContentLength64() > static_cast<Poco::Int64>(max_body_)) {
        out = jsonError(Outcome::PayloadTooLarge,
                        "body larger than server.max_body_bytes (" + std::to_string(max_body_) + " bytes)");
        drained = false;
      } else if (const auto read = has_body ? readBody(req.stream(), r.body) : BodyRead::Complete;
                 read == BodyRead::TooLarge) {
        out = jsonError(Outcome::PayloadTooLarge,
                        "body larger than server.max_body_bytes (" + std::to_string(max_body_) + " bytes)");
        drained = false;
      } else if (read == BodyRead::Broken) {
        // The stream failed mid-body (a timeout or broken chunked encoding inside the stream
        // buffer, which std::istream turns into badbit instead of an exception).
        out = jsonError(Outcome::BadRequest, "could not read the whole request body");
        drained = false;
      } else if (req.hasContentLength() && static_cast<Poco::Int64>(r.body.size()) < req.getContentLength64()) {
        // The client went away mid-body; what arrived may still parse (a complete JSON event
        // followed by nothing), but it is not the request that was sent.
        out = jsonError(Outcome::BadRequest, "body ended after " + std::to_string(r.body.size()) + " of the " +
                                                 std::to_string(req.getContentLength64()) +
                                                 " bytes announced by Content-Length");
        drained = false;
      } else {
        out = router_.dispatch(r);
      }
    } catch (const Poco::TimeoutException&) {
      out = jsonError(Outcome::BadRequest, "timed out reading the request body");
      drained = false;
    } catch (const std::exception& e) {
      spdlog::error("unhandled error in {} {}: {}", req.getMethod(), req.getURI(), e.what());
      out = jsonError(Outcome::Internal, "internal error");
    }
    const int status = toHttpStatus(out.outcome);
    metrics_.increment("capi_http_requests_total", {{"code", std::to_string(status)}});
    try {
      // The unread rest of a refused body would be parsed as the next request.
      if (!drained) res.setKeepAlive(false);
      res.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
      for (const auto& [k, v] : out.headers) res.set(k, v);
      if (status == 204) {
        res.setContentLength(0);
        res.send();
      } else {
        res.setContentType(out.content_type);
        res.setContentLength64(static_cast<Poco::Int64>(out.body.size()));
        res.send() << out.body;
      }
    } catch (const std::exception& e) {
      spdlog::debug("could not write response: {}", e.what());
    }
  }

 private:
  enum class BodyRead { Complete, TooLarge, Broken };

  // Reads at most max_body_ bytes.
  BodyRead readBody(std::istream& in, std::string& body) {
    char buf[16384];
    while (in) {
      in.read(buf, sizeof buf);
      const auto n = static_cast<size_t>(in.gcount());
      if (n == 0) break;
      if (body.size() + n > max_body_) return BodyRead::TooLarge;
      body.append(buf, n);
    }
    return in.bad() ? BodyRead::Broken : BodyRead::Complete;
  }

  const Router& router_;
  Metrics& metrics_;
  size_t max_body_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const Router& router, Metrics& metrics, size_t max_body)
      : router_(router), metrics_(metrics), max_body_(max_body) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(router_, metrics_, max_body_);   // Poco takes ownership
  }

 private:
  const Router& router_;
  Metrics& metrics_;
  size_t max_body_;
};

// A connection whose poll() is one poll(2) call. Poco 1.11 (built with epoll) answers every
// SocketImpl::poll with epoll_create, epoll_ctl, epoll_wait and close, and its HTTP server
// polls once per request on a kept-alive connection: under load those four system calls were
// 9 % of the daemon's CPU. Same contract: true when the socket is ready for `mode` (or has an
// error or hang-up to report) within the timeout, false when the time ran out; EINTR resumes
// the wait with the time left.
class OnePollStreamSocketImpl final : public Poco::Net::StreamSocketImpl {
 public:
  explicit OnePollStreamSocketImpl(poco_socket_t fd) : StreamSocketImpl(fd) {}

  bool poll(const Poco::Timespan& timeout, int mode) override {
    if (sockfd() == POCO_INVALID_SOCKET) throw Poco::Net::InvalidSocketException();
    pollfd p{};
    p.fd = sockfd();
    if (mode & SELECT_READ) p.events |= POLLIN;
    if (mode & SELECT_WRITE) p.events |= POLLOUT;
    // SELECT_ERROR needs no flag: poll(2) always reports POLLERR and POLLHUP, as epoll does.
    // A negative timeout waits without end, as Poco's epoll_wait does.
    using Clock = std::chrono::steady_clock;
    constexpr Poco::Int64 kYear = 366LL * 24 * 3600 * 1000 * 1000;
    const bool forever = timeout.totalMicroseconds() < 0;
    const auto deadline = Clock::now() + std::chrono::microseconds(std::min(timeout.totalMicroseconds(), kYear));
    for (;;) {
      int wait_ms = -1;
      if (!forever) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 1000LL * 3600 * 24));
      }
      const int rc = ::poll(&p, 1, wait_ms);
      if (rc > 0) return true;
      if (rc == 0 && !forever && Clock::now() >= deadline) return false;
      if (rc < 0 && errno != EINTR) error(errno);
    }
  }

 protected:
  ~OnePollStreamSocketImpl() override = default;
};

// The listening socket: accepts as Poco's SocketImpl does, into OnePollStreamSocketImpl.
class ListeningSocketImpl final : public Poco::Net::ServerSocketImpl {
 public:
  Poco::Net::SocketImpl* acceptConnection(Poco::Net::SocketAddress& client) override {
    if (sockfd() == POCO_INVALID_SOCKET) throw Poco::Net::InvalidSocketException();
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd;
    do {
      length = sizeof address;
      fd = ::accept(sockfd(), reinterpret_cast<sockaddr*>(&address), &length);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) error(errno);
    client = Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&address), length);
    return new OnePollStreamSocketImpl(fd);
  }

 protected:
  ~ListeningSocketImpl() override = default;
};

class ListeningSocket final : public Poco::Net::ServerSocket {
 public:
  ListeningSocket() : ServerSocket(new ListeningSocketImpl, true) {}
};

}  // namespace

struct HttpServer::Impl {
  Poco::ThreadPool pool;
  ListeningSocket socket;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  bool started = false;
  Impl(int threads) : pool(2, threads) {}
};

HttpServer::HttpServer(const ServerOptions& o, const Router& router, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::max(2, o.threads))) {
  metrics.describe("capi_http_requests_total", "counter", "HTTP requests answered, by status code.");
  impl_->socket.bind(Poco::Net::SocketAddress(o.host, o.port), true);
  impl_->socket.listen(std::max(64, o.max_queued));
  auto* params = new Poco::Net::HTTPServerParams;   // Poco takes ownership
  params->setMaxThreads(std::max(2, o.threads));
  params->setMaxQueued(o.max_queued);
  params->setTimeout(Poco::Timespan(o.timeout_seconds, 0));
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(o.keepalive_timeout_seconds, 0));
  params->setServerName("capi-reconciler");
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(router, metrics, o.max_body_bytes),
                                                          impl_->pool, impl_->socket, params);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  impl_->server->start();
  impl_->started = true;
}

void HttpServer::stop() {
  if (!impl_->started) return;
  impl_->started = false;
  impl_->server->stopAll(false);   // stop accepting, let in-flight requests finish
  impl_->pool.joinAll();
}

uint16_t HttpServer::port() const { return impl_->socket.address().port(); }

int HttpServer::currentConnections() const { return impl_->server->currentConnections(); }

}  // namespace capi::http
