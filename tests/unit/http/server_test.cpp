// The HTTP server's kept-alive connections: between two requests a connection waits for the
// next one (http/server.cpp's one-call poll), and closes when server.keepalive_timeout_seconds
// passes without one.
#include "common/metrics.h"
#include "http/endpoint.h"
#include "http/server.h"

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace {

class Echo final : public capi::http::Endpoint {
 public:
  capi::http::Response handle(const capi::http::Request& r) override {
    capi::http::Response out;
    out.body = "{\"path\":\"" + r.path + "\"}";
    return out;
  }
};

// Sends one GET on the connection and reads its whole answer (headers and the body, whose
// length the server gives).
std::string roundTrip(Poco::Net::StreamSocket& s, const std::string& path) {
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
  s.sendBytes(request.data(), static_cast<int>(request.size()));
  std::string answer;
  char buf[1024];
  for (;;) {
    const auto head_end = answer.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const auto cl = answer.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end &&
          answer.size() >= head_end + 4 + std::stoul(answer.substr(cl + 16)))
        return answer;
    }
    const int n = s.receiveBytes(buf, sizeof buf);
    if (n <= 0) return answer + "<closed>";
    answer.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

TEST_CASE("a kept-alive connection waits for the next request, then closes after the keep-alive timeout") {
  capi::Metrics metrics;
  capi::http::Router router;
  router.add("GET", "/echo*", std::make_shared<Echo>());
  capi::http::ServerOptions o;
  o.port = 0;
  o.threads = 4;
  o.timeout_seconds = 30;            // a wrong wait would block on reading, far past this test
  o.keepalive_timeout_seconds = 1;
  capi::http::HttpServer server(o, router, metrics);
  server.start();

  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", server.port()));
  s.setReceiveTimeout(Poco::Timespan(10, 0));
  CHECK(roundTrip(s, "/echo/1").find("{\"path\":\"/echo/1\"}") != std::string::npos);
  // Idle for less than the keep-alive timeout: the same connection takes the next request.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const std::string second = roundTrip(s, "/echo/2");
  CHECK(second.find("{\"path\":\"/echo/2\"}") != std::string::npos);
  CHECK(second.find("<closed>") == std::string::npos);
  // Then idle past it: the server closes the connection (EOF, not the 10 s receive timeout a
  // wait that never ends would run into). A wait that ends early closed it before the second
  // request already.
  char buf[16];
  CHECK(s.receiveBytes(buf, sizeof buf) == 0);
  server.stop();
}
