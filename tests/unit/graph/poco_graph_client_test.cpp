// PocoGraphClient against a real loopback HTTPS server with a throwaway CA.
#include <catch2/catch.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "capi/graph/graph_client.h"
#include "support/fake_graph_server.h"
#include "support/test_certs.h"

using namespace capi::graph;
using capi::testing::FakeGraphServer;
using capi::testing::RecordedRequest;
using capi::testing::TestCertificates;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "EAAGsecretTOKENvalue0123456789";
const std::string kTwoEvents =
    R"([{"event_name":"Purchase","event_id":"pi_1","event_time":1760000000,"action_source":"website"},)"
    R"({"event_name":"Purchase","event_id":"pi_2","event_time":1760000001,"action_source":"website"}])";

GraphClientOptions optionsFor(const FakeGraphServer& server) {
  GraphClientOptions o;
  o.graph_url = server.baseUrl();
  o.ca_file = server.caFile();
  o.connect_timeout = 2000ms;
  o.timeout = 5000ms;
  return o;
}

GraphRequest twoEvents() {
  GraphRequest r;
  r.pixel_id = "1234567890";
  r.access_token = kToken;
  r.data_json = kTwoEvents;
  return r;
}

Poco::JSON::Object::Ptr parseObject(const std::string& json) {
  Poco::JSON::Parser parser;
  return parser.parse(json).extract<Poco::JSON::Object::Ptr>();
}

// A port nothing listens on: bound by a server that is then shut down.
uint16_t closedPort() {
  FakeGraphServer server(FakeGraphServer::Options{.tls = false});
  return server.port();
}

// Holds a responder until the end of the test; the guard must be declared after the server so
// that it releases the worker thread before the server joins it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

struct GateReleaser {
  Gate& gate;
  ~GateReleaser() { gate.release(); }
};

}  // namespace

TEST_CASE("a 200 from Graph is a Success with events_received and fbtrace_id", "[graph][client]") {
  FakeGraphServer server;
  auto client = makePocoGraphClient(optionsFor(server));
  const auto r = client->sendEvents(twoEvents());
  INFO(describe(r));
  REQUIRE(r.kind == GraphResponse::Kind::Success);
  CHECK(r.http_status == 200);
  CHECK(r.events_received == 2);
  CHECK(r.fbtrace_id == "AbCdEfFakeTrace");
  CHECK(r.latency >= 0ms);
  CHECK(r.latency < 5000ms);
  CHECK(classify(r) == ErrorClass::Ok);
}

TEST_CASE("the request is a JSON POST to /{version}/{pixel}/events with the token only in the body",
          "[graph][client]") {
  FakeGraphServer server;
  auto client = makePocoGraphClient(optionsFor(server));
  REQUIRE(client->sendEvents(twoEvents()).kind == GraphResponse::Kind::Success);

  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const RecordedRequest& sent = requests[0];
  CHECK(sent.method == "POST");
  CHECK(sent.uri == "/v26.0/1234567890/events");
  CHECK(sent.content_type == "application/json");
  CHECK(sent.uri.find(kToken) == std::string::npos);

  const auto body = parseObject(sent.body);
  CHECK(body->getValue<std::string>("access_token") == kToken);
  CHECK_FALSE(body->has("test_event_code"));
  const auto data = body->getArray("data");
  REQUIRE(data);
  REQUIRE(data->size() == 2);
  CHECK(data->getObject(0)->getValue<std::string>("event_id") == "pi_1");
  CHECK(data->getObject(1)->getValue<std::string>("event_id") == "pi_2");
}

TEST_CASE("test_event_code is sent only when set", "[graph][client]") {
  FakeGraphServer server;
  auto client = makePocoGraphClient(optionsFor(server));
  auto request = twoEvents();
  request.test_event_code = "TEST4242";
  REQUIRE(client->sendEvents(request).kind == GraphResponse::Kind::Success);
  request.test_event_code.clear();
  REQUIRE(client->sendEvents(request).kind == GraphResponse::Kind::Success);

  const auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(parseObject(requests[0].body)->getValue<std::string>("test_event_code") == "TEST4242");
  CHECK_FALSE(parseObject(requests[1].body)->has("test_event_code"));
}

TEST_CASE("a graph_url with a path prefix keeps it in front of the version", "[graph][client]") {
  FakeGraphServer server;
  auto options = optionsFor(server);
  options.graph_url = server.baseUrl() + "/graph/";
  options.api_version = "v25.0";
  auto client = makePocoGraphClient(options);
  REQUIRE(client->sendEvents(twoEvents()).kind == GraphResponse::Kind::Success);
  CHECK(server.requests().at(0).uri == "/graph/v25.0/1234567890/events");
}

TEST_CASE("Graph error bodies are parsed and classified", "[graph][client]") {
  FakeGraphServer server;
  auto client = makePocoGraphClient(optionsFor(server));

  SECTION("100/2804003 event too old is Invalid") {
    server.pushResponse(400, FakeGraphServer::errorBody(
                                 100, 2804003, "Invalid parameter", "Event Timestamp Too Old",
                                 "The timestamp for this event is too far in the past. Events need to be sent from "
                                 "your server within 7 days of when they occurred.",
                                 false, "OAuthException", "TraceOld"));
    const auto r = client->sendEvents(twoEvents());
    REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
    CHECK(r.http_status == 400);
    CHECK(r.error.code == 100);
    CHECK(r.error.subcode == 2804003);
    CHECK(r.error.type == "OAuthException");
    CHECK(r.error.message == "Invalid parameter");
    CHECK(r.error.user_title == "Event Timestamp Too Old");
    CHECK(r.error.user_msg.rfind("The timestamp for this event", 0) == 0);
    CHECK(r.error.is_transient == std::optional<bool>(false));
    CHECK(r.error.fbtrace_id == "TraceOld");
    CHECK(classify(r) == ErrorClass::Invalid);
    CHECK(describe(r).rfind("HTTP 400 Graph 100/2804003 OAuthException: Invalid parameter \u2014 Event Timestamp "
                            "Too Old: The timestamp",
                            0) == 0);
    CHECK(describe(r).find("(fbtrace_id TraceOld)") != std::string::npos);
  }

  SECTION("190/463 expired token is Token") {
    server.pushResponse(400, FakeGraphServer::errorBody(190, 463,
                                                        "Error validating access token: Session has expired on "
                                                        "Friday, 11-Sep-26 10:00:00 PDT."));
    const auto r = client->sendEvents(twoEvents());
    REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
    CHECK(r.error.code == 190);
    CHECK(r.error.subcode == 463);
    CHECK(classify(r) == ErrorClass::Token);
  }

  SECTION("code 4 throttling is Transient") {
    server.pushResponse(400, FakeGraphServer::errorBody(4, 0, "(#4) Application request limit reached", "", "", true));
    const auto r = client->sendEvents(twoEvents());
    REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
    CHECK(r.error.code == 4);
    CHECK(r.error.is_transient == std::optional<bool>(true));
    CHECK(classify(r) == ErrorClass::Transient);
  }

  SECTION("a 500 with an HTML page is Transient with the page's start as message") {
    server.pushResponse(500, "<!DOCTYPE html>\n<html><head><title>Error</title></head><body>Sorry, something went "
                             "wrong.</body></html>");
    const auto r = client->sendEvents(twoEvents());
    REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
    CHECK(r.http_status == 500);
    CHECK(r.error.code == 0);
    CHECK(r.error.message.rfind("HTTP 500: <!DOCTYPE html> <html><head><title>Error</title>", 0) == 0);
    CHECK(classify(r) == ErrorClass::Transient);
  }

  SECTION("an unavailable server answers 503, which is Transient") {
    server.setUnavailable(true);
    const auto r = client->sendEvents(twoEvents());
    CHECK(r.http_status == 503);
    CHECK(classify(r) == ErrorClass::Transient);
    server.setUnavailable(false);
    CHECK(client->sendEvents(twoEvents()).kind == GraphResponse::Kind::Success);
  }
}

TEST_CASE("the access token never appears in what the client reports", "[graph][client]") {
  SECTION("Meta echoing the token in its message") {
    FakeGraphServer server;
    server.setResponder([](const RecordedRequest& req) {
      const auto token = parseObject(req.body)->getValue<std::string>("access_token");
      return std::pair{400, FakeGraphServer::errorBody(190, 0, "Malformed access token " + token, "",
                                                       "Token " + token + " is not valid")};
    });
    auto client = makePocoGraphClient(optionsFor(server));
    const auto r = client->sendEvents(twoEvents());
    REQUIRE(r.kind == GraphResponse::Kind::GraphFailure);
    CHECK(classify(r) == ErrorClass::Token);
    CHECK(r.error.message == "Malformed access token [redacted]");
    CHECK(r.error.user_msg.find(kToken) == std::string::npos);
    CHECK(describe(r).find(kToken) == std::string::npos);
  }

  SECTION("a non-JSON body quoting the token") {
    FakeGraphServer server;
    server.pushResponse(403, "forbidden: " + kToken);
    auto client = makePocoGraphClient(optionsFor(server));
    const auto r = client->sendEvents(twoEvents());
    CHECK(r.error.message == "HTTP 403: forbidden: [redacted]");
    CHECK(describe(r).find(kToken) == std::string::npos);
  }

  SECTION("a transport failure") {
    GraphClientOptions options;
    options.graph_url = "http://127.0.0.1:" + std::to_string(closedPort());
    auto client = makePocoGraphClient(options);
    const auto r = client->sendEvents(twoEvents());
    REQUIRE(r.kind == GraphResponse::Kind::Transport);
    CHECK(r.transport_error.find(kToken) == std::string::npos);
    CHECK(describe(r).find(kToken) == std::string::npos);
  }
}

TEST_CASE("a server certificate from an unknown CA is a Transport failure and nothing is sent",
          "[graph][client][tls]") {
  FakeGraphServer server;

  SECTION("trusting another private CA") {
    TestCertificates other;
    auto options = optionsFor(server);
    options.ca_file = other.caFile();
    auto client = makePocoGraphClient(options);
    const auto r = client->sendEvents(twoEvents());
    INFO(r.transport_error);
    REQUIRE(r.kind == GraphResponse::Kind::Transport);
    CHECK(r.http_status == 0);
    CHECK(r.transport_error.find("TLS") != std::string::npos);
    CHECK(r.transport_error.find("unable to get local issuer certificate") != std::string::npos);
    CHECK(classify(r) == ErrorClass::Transient);
  }

  SECTION("trusting only the system store") {
    auto options = optionsFor(server);
    options.ca_file.clear();
    auto client = makePocoGraphClient(options);
    const auto r = client->sendEvents(twoEvents());
    INFO(r.transport_error);
    REQUIRE(r.kind == GraphResponse::Kind::Transport);
    CHECK(r.transport_error.find("TLS") != std::string::npos);
  }

  CHECK(server.requestCount() == 0);
}

TEST_CASE("a certificate naming localhost is accepted for https://localhost", "[graph][client][tls]") {
  FakeGraphServer server;
  auto options = optionsFor(server);
  options.graph_url = "https://localhost:" + std::to_string(server.port());
  const auto r = makePocoGraphClient(options)->sendEvents(twoEvents());
  INFO(describe(r));
  CHECK(r.kind == GraphResponse::Kind::Success);
}

TEST_CASE("a response slower than the timeout is a Transport failure", "[graph][client]") {
  Gate gate;
  FakeGraphServer server;
  GateReleaser releaser{gate};
  server.setResponder([&gate](const RecordedRequest&) {
    gate.wait();
    return std::pair{200, FakeGraphServer::successBody(2)};
  });
  auto options = optionsFor(server);
  options.timeout = 300ms;
  auto client = makePocoGraphClient(options);

  const auto r = client->sendEvents(twoEvents());
  INFO(r.transport_error);
  REQUIRE(r.kind == GraphResponse::Kind::Transport);
  CHECK(r.transport_error.find("timed out") != std::string::npos);
  CHECK(r.latency >= 250ms);
  CHECK(r.latency < 3000ms);
  CHECK(classify(r) == ErrorClass::Transient);
  CHECK(server.requestCount() == 1);   // a timeout is not retried: the server may be working on it
}

TEST_CASE("a refused connection is a Transport failure", "[graph][client]") {
  GraphClientOptions options;
  options.graph_url = "https://127.0.0.1:" + std::to_string(closedPort());
  auto client = makePocoGraphClient(options);
  const auto r = client->sendEvents(twoEvents());
  REQUIRE(r.kind == GraphResponse::Kind::Transport);
  CHECK(r.transport_error.find("connection refused") != std::string::npos);
  CHECK(describe(r).rfind("network: ", 0) == 0);
}

TEST_CASE("sequential requests reuse one keep-alive connection", "[graph][client]") {
  FakeGraphServer server;
  auto client = makePocoGraphClient(optionsFor(server));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(client->sendEvents(twoEvents()).kind == GraphResponse::Kind::Success);
  }
  CHECK(server.requestCount() == 5);
  CHECK(server.connectionCount() == 1);
}

TEST_CASE("a keep-alive connection closed by the server is replaced and the request retried once",
          "[graph][client]") {
  for (bool tls : {true, false}) {
    INFO("tls " << tls);
    FakeGraphServer server(FakeGraphServer::Options{.tls = tls});
    server.setCloseAfterResponse(true);
    auto client = makePocoGraphClient(optionsFor(server));
    for (int i = 0; i < 4; ++i) {
      const auto r = client->sendEvents(twoEvents());
      INFO(describe(r));
      REQUIRE(r.kind == GraphResponse::Kind::Success);
    }
    CHECK(server.requestCount() == 4);
    CHECK(server.connectionCount() == 4);
  }
}

TEST_CASE("plain http is accepted for loopback only", "[graph][client]") {
  FakeGraphServer server(FakeGraphServer::Options{.tls = false});
  CHECK(server.baseUrl().rfind("http://127.0.0.1:", 0) == 0);
  CHECK(server.caFile().empty());
  auto client = makePocoGraphClient(optionsFor(server));
  CHECK(client->sendEvents(twoEvents()).kind == GraphResponse::Kind::Success);

  GraphClientOptions options;
  options.graph_url = "http://graph.facebook.com";
  CHECK_THROWS_AS(makePocoGraphClient(options), std::invalid_argument);
  options.graph_url = "http://localhost:8080";
  CHECK_NOTHROW(makePocoGraphClient(options));
}

TEST_CASE("unusable options are rejected at construction", "[graph][client]") {
  capi::testing::ensureSslInitialized();
  GraphClientOptions options;
  CHECK_NOTHROW(makePocoGraphClient(options));

  options.graph_url = "ftp://graph.facebook.com";
  CHECK_THROWS_AS(makePocoGraphClient(options), std::invalid_argument);
  options.graph_url = "https://graph.facebook.com/?access_token=x";
  CHECK_THROWS_AS(makePocoGraphClient(options), std::invalid_argument);
  options.graph_url = "not a url";
  CHECK_THROWS_AS(makePocoGraphClient(options), std::invalid_argument);

  options = GraphClientOptions{};
  options.ca_file = "/nonexistent/ca.pem";
  CHECK_THROWS_AS(makePocoGraphClient(options), std::invalid_argument);

  TestCertificates certs;
  options.ca_file = certs.keyFile();   // readable, but holds no certificate
  CHECK_THROWS_AS(makePocoGraphClient(options), std::invalid_argument);

  options = GraphClientOptions{};
  options.api_version = "v26.0/../x";
  CHECK_THROWS_AS(makePocoGraphClient(options), std::invalid_argument);
}

TEST_CASE("concurrent sendEvents calls from several threads all succeed", "[graph][client]") {
  FakeGraphServer server;
  auto client = makePocoGraphClient(optionsFor(server));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> successes{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto r = client->sendEvents(twoEvents());
        if (r.kind == GraphResponse::Kind::Success && r.events_received == 2) {
          ++successes;
        } else {
          failures[t] = describe(r);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) CHECK(f.empty());
  CHECK(successes == kThreads * kPerThread);
  CHECK(server.requestCount() == static_cast<size_t>(kThreads * kPerThread));
  CHECK(server.connectionCount() <= static_cast<size_t>(kThreads));
  CHECK(server.waitForRequests(kThreads * kPerThread, 10ms));
  CHECK_FALSE(server.waitForRequests(kThreads * kPerThread + 1, 10ms));
}
