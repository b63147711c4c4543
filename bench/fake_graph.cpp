// A loopback stand-in for the Graph API /events edge for bench/run: answers every request as
// Meta does on success ({"events_received": N, "messages": [], "fbtrace_id": ...}) and, with
// --log FILE, appends "<order_id> <unix ns>" for each event received (end-to-end latency).
//
//   fake_graph --port P [--log FILE]        serves until SIGTERM; prints the port when ready
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::mutex g_mu;
std::ofstream g_log;
std::atomic<long> g_events{0};

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
    std::string body;
    Poco::StreamCopier::copyToString(req.stream(), body);
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    // Counts and logs the events with a scan rather than a JSON parser: the real Graph API does
    // not run on this machine, and a full parse here took about a fifth of the CPU the dispatch
    // phase uses. The body is still checked to be a {"data":[...]} object with one order_id per
    // event, which is all this stand-in promises (tests use tests/support's strict fake).
    static const std::string kEvent = R"("event_name")", kOrder = R"("order_id")";
    int n = 0;
    std::vector<std::string_view> orders;
    const std::string_view b(body);
    for (size_t at = b.find(kEvent); at != std::string_view::npos; at = b.find(kEvent, at + 1)) ++n;
    for (size_t at = b.find(kOrder); at != std::string_view::npos; at = b.find(kOrder, at + 1)) {
      const size_t from = b.find_first_not_of(": ", at + kOrder.size()) + 1;   // past the opening quote
      const size_t to = from == 0 ? std::string_view::npos : b.find('"', from);
      if (to == std::string_view::npos) break;
      orders.push_back(b.substr(from, to - from));
    }
    if (b.rfind(R"({"data":[)", 0) != 0 || b.back() != '}' || n == 0 || static_cast<int>(orders.size()) != n) {
      res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
      res.setContentType("application/json");
      res.send() << R"({"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"Bench"}})";
      return;
    }
    if (g_log.is_open()) {
      std::lock_guard lock(g_mu);
      for (const auto& o : orders) g_log << o << ' ' << now << '\n';
      g_log.flush();   // the benchmark reads the log while this runs
    }
    g_events += n;
    res.setContentType("application/json");
    res.send() << R"({"events_received":)" << n << R"(,"messages":[],"fbtrace_id":"BenchTrace"})";
  }
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--port") port = std::stoi(argv[i + 1]);
    else if (k == "--log") g_log.open(argv[i + 1], std::ios::app);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(16);
  Poco::Net::HTTPServer server(new Factory, socket, params);
  server.start();
  std::printf("%d\n", socket.address().port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  server.stopAll(true);
  std::lock_guard lock(g_mu);
  if (g_log.is_open()) g_log.flush();
  std::fprintf(stderr, "fake_graph: %ld events\n", g_events.load());
  return 0;
}
