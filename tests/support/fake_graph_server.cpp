#include "support/fake_graph_server.h"

#include "common/json_text.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <ostream>

namespace capi::testing {
namespace {

// Enough workers that every keep-alive connection of several concurrent clients holds its own
// thread; a connection waiting for a free worker would look like a Graph timeout.
constexpr int kMaxWorkers = 64;

std::pair<int, std::string> defaultAnswer(const RecordedRequest& request) {
  try {
    Poco::JSON::Parser parser;
    auto body = parser.parse(request.body).extract<Poco::JSON::Object::Ptr>();
    if (body) {
      if (auto data = body->getArray("data")) {
        return {200, FakeGraphServer::successBody(static_cast<int>(data->size()))};
      }
    }
  } catch (const std::exception&) {
  }
  return {400, FakeGraphServer::errorBody(100, 0, "(#100) The parameter data is required")};
}

// What the request handlers share with the test thread.
struct ServerState {
  mutable std::mutex mu;
  mutable std::condition_variable arrived;
  std::deque<std::pair<int, std::string>> scripted;
  FakeGraphServer::Responder responder = defaultAnswer;
  std::vector<RecordedRequest> recorded;
  bool unavailable = false;
  bool close_after_response = false;

  // Records the request, then picks its answer. The responder runs outside the lock: it may
  // block, and other connections must keep being served meanwhile.
  std::pair<int, std::string> answer(const RecordedRequest& request, bool& close_after) {
    std::optional<std::pair<int, std::string>> fixed;
    FakeGraphServer::Responder current;
    {
      std::lock_guard lock(mu);
      recorded.push_back(request);
      close_after = close_after_response;
      if (unavailable) {
        fixed.emplace(503, "<html><body><h1>503 Service Unavailable</h1></body></html>");
      } else if (!scripted.empty()) {
        fixed = std::move(scripted.front());
        scripted.pop_front();
      } else {
        current = responder;
      }
    }
    arrived.notify_all();
    if (fixed) return *fixed;
    try {
      return current(request);
    } catch (const std::exception& e) {
      return {500, FakeGraphServer::errorBody(1, 0, std::string("fake server responder threw: ") + e.what())};
    } catch (...) {
      return {500, FakeGraphServer::errorBody(1, 0, "fake server responder threw")};
    }
  }
};

class GraphHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit GraphHandler(ServerState& state) : state_(state) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    RecordedRequest recorded;
    recorded.method = request.getMethod();
    recorded.uri = request.getURI();
    recorded.content_type = request.getContentType();
    Poco::StreamCopier::copyToString(request.stream(), recorded.body);

    bool close_after = false;
    auto [status, body] = state_.answer(recorded, close_after);

    const bool json = !body.empty() && (body.front() == '{' || body.front() == '[');
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentType(json ? "application/json; charset=UTF-8" : "text/html; charset=UTF-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    std::ostream& out = response.send();
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();

    if (close_after) {
      // The header already went out saying keep-alive; this only makes HTTPServerConnection
      // end the connection instead of reading the next request from it.
      response.setKeepAlive(false);
    }
  }

 private:
  ServerState& state_;
};

class GraphHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit GraphHandlerFactory(ServerState& state) : state_(state) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new GraphHandler(state_);
  }

 private:
  ServerState& state_;
};

}  // namespace

struct FakeGraphServer::Impl {
  Options options;
  std::unique_ptr<TestCertificates> certs;
  uint16_t port = 0;
  ServerState state;
  Poco::ThreadPool workers{2, kMaxWorkers};
  std::unique_ptr<Poco::Net::HTTPServer> server;
};

FakeGraphServer::FakeGraphServer(Options options) : impl_(std::make_unique<Impl>()) {
  ensureSslInitialized();
  impl_->options = options;
  const Poco::Net::SocketAddress address("127.0.0.1", 0);

  std::unique_ptr<Poco::Net::ServerSocket> socket;
  if (options.tls) {
    impl_->certs = std::make_unique<TestCertificates>();
    Poco::Net::Context::Params params;
    params.privateKeyFile = impl_->certs->keyFile();
    params.certificateFile = impl_->certs->certFile();
    params.verificationMode = Poco::Net::Context::VERIFY_NONE;
    params.loadDefaultCAs = false;
    Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    socket = std::make_unique<Poco::Net::SecureServerSocket>(address, 256, context);
  } else {
    socket = std::make_unique<Poco::Net::ServerSocket>(address, 256);
  }
  impl_->port = socket->address().port();

  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(kMaxWorkers);
  params->setMaxQueued(1024);
  params->setKeepAlive(true);
  // Longer than the Poco client's own 8 s idle limit, so a well-behaved client never sends
  // into a connection this server has just closed; setCloseAfterResponse() provokes that.
  params->setKeepAliveTimeout(Poco::Timespan(15, 0));
  params->setMaxKeepAliveRequests(0);
  params->setTimeout(Poco::Timespan(30, 0));
  params->setThreadIdleTime(Poco::Timespan(2, 0));
  params->setServerName("fake-graph");

  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new GraphHandlerFactory(impl_->state), impl_->workers,
                                                          *socket, params);
  impl_->server->start();
}

FakeGraphServer::~FakeGraphServer() {
  try {
    impl_->server->stopAll(true);
  } catch (const std::exception&) {
  }
  impl_->workers.joinAll();
  impl_->server.reset();
}

std::string FakeGraphServer::baseUrl() const {
  return std::string(impl_->options.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

std::string FakeGraphServer::caFile() const { return impl_->certs ? impl_->certs->caFile() : std::string(); }

uint16_t FakeGraphServer::port() const { return impl_->port; }

void FakeGraphServer::pushResponse(int status, std::string body) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.scripted.emplace_back(status, std::move(body));
}

void FakeGraphServer::setResponder(Responder r) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.responder = r ? std::move(r) : Responder(defaultAnswer);
}

std::vector<RecordedRequest> FakeGraphServer::requests() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.recorded;
}

size_t FakeGraphServer::requestCount() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.recorded.size();
}

bool FakeGraphServer::waitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->state.mu);
  return impl_->state.arrived.wait_for(lock, timeout, [&] { return impl_->state.recorded.size() >= n; });
}

void FakeGraphServer::setUnavailable(bool down) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.unavailable = down;
}

void FakeGraphServer::setCloseAfterResponse(bool on) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.close_after_response = on;
}

size_t FakeGraphServer::connectionCount() const {
  return static_cast<size_t>(impl_->server->totalConnections());
}

std::string FakeGraphServer::successBody(int events_received, const std::string& fbtrace_id) {
  return "{\"events_received\":" + std::to_string(events_received) + ",\"messages\":[],\"fbtrace_id\":" +
         capi::jsonQuote(fbtrace_id) + "}";
}

std::string FakeGraphServer::errorBody(int code, int subcode, const std::string& message,
                                       const std::string& user_title, const std::string& user_msg,
                                       bool is_transient, const std::string& type, const std::string& fbtrace_id) {
  std::string out = "{\"error\":{\"message\":" + capi::jsonQuote(message) + ",\"type\":" + capi::jsonQuote(type) +
                    ",\"code\":" + std::to_string(code);
  if (subcode != 0) out += ",\"error_subcode\":" + std::to_string(subcode);
  out += std::string(",\"is_transient\":") + (is_transient ? "true" : "false");
  if (!user_title.empty()) out += ",\"error_user_title\":" + capi::jsonQuote(user_title);
  if (!user_msg.empty()) out += ",\"error_user_msg\":" + capi::jsonQuote(user_msg);
  out += ",\"fbtrace_id\":" + capi::jsonQuote(fbtrace_id) + "}}";
  return out;
}

}  // namespace capi::testing
