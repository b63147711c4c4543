// Delivery to Meta (SPEC §4) against real PostgreSQL and a loopback HTTPS Graph server: retries
// with backoff, isolating one invalid event in a batch, pausing a pixel on a token error until a
// reload fixes it, the 7-day limit, leases shared by several instances, TLS verification and the
// test event code.
#include "app/retries_command.h"
#include "common/metrics.h"
#include "config/loader.h"
#include "dispatch/dispatcher.h"
#include "store/outbound_store.h"
#include "support/fake_graph_server.h"
#include "support/process.h"
#include "support/test_daemon.h"
#include "support/test_env.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace capi;
using namespace capi::testing;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = fromUnixSeconds(1795000000);
constexpr int64_t kDay = 86400;

struct Fixture {
  TestDatabase db;
  ManualClock clock{kStart};
};

int64_t unixNow(const Clock& c) { return toUnixSeconds(c.now()); }

// A paid order whose browser event arrived first: one pending row per configured pixel, each
// carrying the browser's event_id "evt-KEY". Returns the id of the first (pixel 111's).
int64_t queuePurchase(const TestDaemon& d, const Fixture& f, const std::string& key, int64_t event_time) {
  BrowserEvent be;
  be.event_id = "evt-" + key;
  be.order_ref = "ORDER-" + key;
  be.event_time = event_time;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  REQUIRE(d.postStripe(checkoutFor(f.clock, key)).status == 200);
  // postStripe matched it, unless a background matching thread took the delivery first.
  std::string id;
  REQUIRE(pollUntil(20s, [&] {
    id = f.db.scalar("SELECT id FROM outbound_events WHERE event_id = 'evt-" + key + "' ORDER BY id LIMIT 1");
    return !id.empty();
  }));
  return std::stoll(id);
}

std::string column(const Fixture& f, int64_t id, const std::string& expr) {
  return f.db.scalar("SELECT " + expr + " FROM outbound_events WHERE id = " + std::to_string(id));
}

// Seconds from now until the row is due again.
int64_t secondsUntilDue(const Fixture& f, int64_t id) {
  return std::stoll(column(f, id, "extract(epoch from next_attempt_at)::bigint")) - unixNow(f.clock);
}

std::vector<std::string> eventIdsIn(const std::string& body) {
  std::vector<std::string> ids;
  Poco::JSON::Parser parser;
  auto object = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  auto data = object->getArray("data");
  for (unsigned i = 0; data && i < data->size(); ++i) ids.push_back(data->getObject(i)->getValue<std::string>("event_id"));
  return ids;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

size_t occurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}

std::string retriesShow(const TestDatabase& db, int64_t id) {
  std::ostringstream out, err;
  const int rc = app::runRetries({"show", std::to_string(id)}, db.url(), out, err);
  INFO(err.str());
  REQUIRE(rc == 0);
  return out.str();
}

double pixelPausedGauge(TestDaemon& d) { return d->metrics().value("capi_pixel_paused", {{"pixel", "111"}}); }

// Runs dispatch cycles until nothing is due (at most `cycles`).
void drain(TestDaemon& d, int cycles = 10) {
  for (int i = 0; i < cycles && d->dispatcher().runOnce() > 0; ++i) {
  }
}

}  // namespace

TEST_CASE("two 500s then a 200 leave the event sent after 3 attempts with both failures on record", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.dispatch.backoff_base_seconds = 10;
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock) - 5);
  REQUIRE(column(f, id, "status") == "pending");

  graph.pushResponse(500, FakeGraphServer::errorBody(2, 0, "An unexpected error has occurred. Please retry your request later.",
                                                     "", "", true, "OAuthException", "TraceFirst500"));
  graph.pushResponse(500, "<html><body>Internal Server Error</body></html>");

  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "retrying");
  CHECK(column(f, id, "attempts") == "1");
  CHECK(column(f, id, "last_http_status") == "500");
  // The first retry waits between half the base and the base.
  const int64_t wait1 = secondsUntilDue(f, id);
  CHECK(wait1 >= 5);
  CHECK(wait1 <= 10);
  f.clock.advance(std::chrono::seconds(wait1 - 1));
  CHECK(d->dispatcher().runOnce() == 0);
  CHECK(graph.requestCount() == 1);

  f.clock.advance(1s);
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "retrying");
  CHECK(column(f, id, "attempts") == "2");
  const int64_t wait2 = secondsUntilDue(f, id);
  CHECK(wait2 >= 5);
  CHECK(wait2 <= 20);
  f.clock.advance(std::chrono::seconds(wait2));

  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "sent");
  CHECK(column(f, id, "attempts") == "3");
  CHECK(column(f, id, "last_error") == "");
  CHECK(column(f, id, "sent_at IS NOT NULL") == "t");
  CHECK(graph.requestCount() == 3);
  for (const auto& r : graph.requests()) {
    CHECK(r.uri == "/v26.0/111/events");
    CHECK(eventIdsIn(r.body) == std::vector<std::string>{"evt-1"});
    CHECK_FALSE(contains(r.body, "test_event_code"));
  }

  CHECK(f.db.scalar("SELECT string_agg(coalesce(http_status::text, '-') || ' ' || error_class, ',' ORDER BY attempted_at, id)"
                    " FROM send_attempts WHERE outbound_event_id = " + std::to_string(id)) ==
        "500 server,500 server,200 ok");
  CHECK(f.db.scalar("SELECT message FROM send_attempts WHERE outbound_event_id = " + std::to_string(id) +
                    " ORDER BY attempted_at, id LIMIT 1")
            .find("An unexpected error has occurred") != std::string::npos);

  const std::string shown = retriesShow(f.db, id);
  INFO(shown);
  CHECK(contains(shown, "status:           sent after 3 attempt(s)"));
  CHECK(occurrences(shown, "HTTP 500  server") == 2);
  CHECK(occurrences(shown, "HTTP 200  ok") == 1);
  CHECK(contains(shown, "Graph 2"));
  CHECK(contains(shown, "TraceFirst500"));
  CHECK(contains(shown, "Internal Server Error"));
}

TEST_CASE("a batch of 10 with one invalid event sends the other 9 and marks only the invalid one dead", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  TestDaemon d(cfg, f.clock);
  std::map<std::string, int64_t> ids;
  for (int i = 1; i <= 10; ++i) ids["evt-" + std::to_string(i)] = queuePurchase(d, f, std::to_string(i), unixNow(f.clock) - 60);
  const std::string poisoned = "evt-7";

  // Meta rejects the whole request when any event in it is invalid.
  graph.setResponder([&](const RecordedRequest& r) -> std::pair<int, std::string> {
    const auto in = eventIdsIn(r.body);
    if (std::find(in.begin(), in.end(), poisoned) != in.end())
      return {400, FakeGraphServer::errorBody(100, 2804003, "Invalid parameter", "Event Timestamp Too Old",
                                              "The timestamp for this event is too old.", false, "OAuthException",
                                              "TracePoisoned")};
    return {200, FakeGraphServer::successBody(static_cast<int>(in.size()), "TraceAccepted")};
  });

  CHECK(d->dispatcher().runOnce() == 10);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == "9");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'dead'") == "1");
  const int64_t dead = ids[poisoned];
  CHECK(column(f, dead, "status") == "dead");
  const std::string last_error = column(f, dead, "last_error");
  INFO(last_error);
  CHECK(contains(last_error, "Invalid parameter"));
  CHECK(contains(last_error, "Event Timestamp Too Old"));
  CHECK(contains(last_error, "2804003"));
  CHECK(column(f, dead, "fbtrace_id") == "TracePoisoned");
  CHECK(column(f, dead, "last_http_status") == "400");
  CHECK(column(f, dead, "attempts") == "1");

  // The first request carried all 10; every good event was then accepted exactly once.
  const auto requests = graph.requests();
  REQUIRE_FALSE(requests.empty());
  CHECK(eventIdsIn(requests.front().body).size() == 10);
  std::map<std::string, int> accepted;
  for (const auto& r : requests) {
    const auto in = eventIdsIn(r.body);
    if (std::find(in.begin(), in.end(), poisoned) == in.end())
      for (const auto& e : in) ++accepted[e];
  }
  for (const auto& [event_id, id] : ids) {
    if (event_id == poisoned) continue;
    INFO(event_id);
    CHECK(accepted[event_id] == 1);
    CHECK(column(f, id, "status") == "sent");
    CHECK(column(f, id, "fbtrace_id") == "TraceAccepted");
  }
  CHECK(accepted.count(poisoned) == 0);
  // Halving finds the bad event in fewer requests than sending the 10 one by one.
  CHECK(requests.size() < 10);
  CHECK(d->metrics().value("capi_events_dead_total", {{"pixel", "111"}, {"reason", "invalid"}}) == 1);
}

TEST_CASE("error 190 pauses the pixel without spending attempts until a reload brings a working token", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph, "EAAexpiredtoken");
  cfg.dispatch.pause_probe_seconds = 300;
  TestDaemon d(cfg, f.clock);
  std::vector<int64_t> ids;
  for (int i = 1; i <= 3; ++i) ids.push_back(queuePurchase(d, f, std::to_string(i), unixNow(f.clock) - 30));

  const std::string expired = FakeGraphServer::errorBody(190, 463, "Error validating access token: Session has expired.",
                                                         "", "", false, "OAuthException", "TraceToken");
  graph.pushResponse(400, expired);
  graph.pushResponse(400, expired);

  CHECK(d->dispatcher().runOnce() == 3);
  CHECK(graph.requestCount() == 1);
  CHECK(f.db.scalar("SELECT pixel_id FROM pixel_pauses") == "111");
  CHECK(contains(f.db.scalar("SELECT reason FROM pixel_pauses"), "Error validating access token"));
  CHECK(pixelPausedGauge(d) == 1);
  CHECK(contains(d.get("/metrics").body, "capi_pixel_paused{pixel=\"111\"} 1"));
  CHECK(f.db.scalar("SELECT string_agg(status || '/' || attempts, ',') FROM outbound_events") ==
        "pending/0,pending/0,pending/0");
  CHECK(f.db.scalar("SELECT count(*) FROM send_attempts WHERE graph_code = 190 AND error_class = 'token'") == "3");

  // While paused nothing is sent, even for rows that are due.
  f.clock.advance(60s);
  CHECK(d->dispatcher().runOnce() == 0);
  CHECK(graph.requestCount() == 1);

  // Without a reload, the periodic probe tries one event with the same token.
  f.clock.advance(241s);
  d->dispatcher().runOnce();
  REQUIRE(graph.requestCount() == 2);
  CHECK(eventIdsIn(graph.requests()[1].body).size() == 1);
  CHECK(f.db.scalar("SELECT count(*) FROM pixel_pauses") == "1");
  CHECK(f.db.scalar("SELECT sum(attempts) FROM outbound_events") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'pending'") == "3");

  auto fixed = cfg;
  useGraph(fixed, graph, "EAAfreshtoken");
  d->reload(fixed);
  drain(d);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == "3");
  CHECK(f.db.scalar("SELECT sum(attempts) FROM outbound_events") == "3");
  CHECK(f.db.scalar("SELECT count(*) FROM pixel_pauses") == "0");
  CHECK(pixelPausedGauge(d) == 0);
  const auto requests = graph.requests();
  REQUIRE(requests.size() > 2);
  std::multiset<std::string> sent_after_reload;
  for (size_t i = 2; i < requests.size(); ++i) {
    CHECK(contains(requests[i].body, "\"access_token\":\"EAAfreshtoken\""));
    CHECK_FALSE(contains(requests[i].body, "EAAexpiredtoken"));
    for (const auto& e : eventIdsIn(requests[i].body)) sent_after_reload.insert(e);
  }
  CHECK(sent_after_reload == std::multiset<std::string>{"evt-1", "evt-2", "evt-3"});
}

TEST_CASE("a permission error (code 200) pauses the pixel like a token error, without spending an attempt", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));
  graph.pushResponse(403, FakeGraphServer::errorBody(200, 0, "(#200) Permissions error", "", "", false, "OAuthException"));
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "pending");
  CHECK(column(f, id, "attempts") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM pixel_pauses WHERE pixel_id = '111'") == "1");
  CHECK(pixelPausedGauge(d) == 1);
}

TEST_CASE("a retired API version pauses the pixel instead of killing the batch; a restart probes it at once",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.dispatch.pause_probe_seconds = 300;
  TestDaemon d(cfg, f.clock);
  for (int i = 1; i <= 4; ++i) queuePurchase(d, f, std::to_string(i), unixNow(f.clock) - 30);
  // Every request is refused alike, whatever events it carries, until the version is raised.
  std::atomic<bool> retired{true};
  graph.setResponder([&](const RecordedRequest& r) -> std::pair<int, std::string> {
    if (retired)
      return {400, FakeGraphServer::errorBody(2635, 0,
                                              "(#2635) You are calling a deprecated version of the Ads API. Please "
                                              "update to the latest version.",
                                              "", "", false, "OAuthException", "TraceVersion")};
    return {200, FakeGraphServer::successBody(static_cast<int>(eventIdsIn(r.body).size()), "TraceOk")};
  });

  CHECK(d->dispatcher().runOnce() == 4);
  CHECK(graph.requestCount() == 1);   // not split: the events are not what Meta refuses
  CHECK(f.db.scalar("SELECT string_agg(status || '/' || attempts, ',') FROM outbound_events") ==
        "pending/0,pending/0,pending/0,pending/0");
  const std::string reason = f.db.scalar("SELECT reason FROM pixel_pauses WHERE pixel_id = '111'");
  INFO(reason);
  CHECK(contains(reason, "request refused"));
  CHECK(contains(reason, "2635"));
  CHECK(pixelPausedGauge(d) == 1);
  CHECK(f.db.scalar("SELECT count(*) FROM send_attempts WHERE error_class = 'request'") == "4");

  // The next probe, still refused, keeps them waiting.
  f.clock.advance(301s);
  d->dispatcher().runOnce();
  CHECK(graph.requestCount() == 2);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'dead'") == "0");

  // The version is raised, which takes a restart: the restarted daemon probes at once instead
  // of at the next probe time (the clock does not move here), and all go out.
  retired = false;
  TestDaemon restarted(cfg, f.clock, true);
  CHECK(pollUntil(20s, [&] {
    return f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == "4";
  }));
  CHECK(f.db.scalar("SELECT count(*) FROM pixel_pauses") == "0");
}

TEST_CASE("a token error on one pixel pauses only that pixel; the other keeps sending", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  cfg.pixels.push_back({"second", "222", ""});
  useGraph(cfg, graph);
  graph.setResponder([](const RecordedRequest& r) -> std::pair<int, std::string> {
    if (contains(r.uri, "/111/"))
      return {400, FakeGraphServer::errorBody(190, 0, "Invalid OAuth access token - Cannot parse access token")};
    return {200, FakeGraphServer::successBody(static_cast<int>(eventIdsIn(r.body).size()))};
  });
  TestDaemon d(cfg, f.clock);
  queuePurchase(d, f, "1", unixNow(f.clock));
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'pending'") == "2");

  CHECK(d->dispatcher().runOnce() == 2);
  CHECK(f.db.scalar("SELECT status || '/' || attempts FROM outbound_events WHERE pixel_id = '222'") == "sent/1");
  CHECK(f.db.scalar("SELECT status || '/' || attempts FROM outbound_events WHERE pixel_id = '111'") == "pending/0");
  CHECK(f.db.scalar("SELECT string_agg(pixel_id, ',') FROM pixel_pauses") == "111");

  f.clock.advance(60s);
  queuePurchase(d, f, "2", unixNow(f.clock));
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE pixel_id = '222' AND status = 'sent'") == "2");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE pixel_id = '111' AND status = 'pending'") == "2");
  int to_paused = 0;
  for (const auto& r : graph.requests()) to_paused += contains(r.uri, "/111/") ? 1 : 0;
  CHECK(to_paused == 1);
  CHECK(graph.requestCount() == 3);
}

TEST_CASE("a Graph request that times out is recorded as a network failure and retried", "[dispatch]") {
  Fixture f;
  // Holds the first answer back past the client's timeout; released before the server stops.
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.meta.timeout_ms = 300;
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));
  graph.setResponder([&](const RecordedRequest& r) -> std::pair<int, std::string> {
    std::unique_lock lock(mu);
    cv.wait_for(lock, 10s, [&] { return released; });
    return {200, FakeGraphServer::successBody(static_cast<int>(eventIdsIn(r.body).size()))};
  });

  CHECK(d->dispatcher().runOnce() == 1);
  {
    std::lock_guard lock(mu);
    released = true;
  }
  cv.notify_all();
  CHECK(column(f, id, "status") == "retrying");
  CHECK(column(f, id, "attempts") == "1");
  CHECK(column(f, id, "last_error").rfind("network:", 0) == 0);
  CHECK(f.db.scalar("SELECT error_class FROM send_attempts") == "network");

  // Meta may have accepted the timed-out request; resending is safe because it deduplicates on event_id.
  f.clock.advance(1h);
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "sent");
  CHECK(column(f, id, "attempts") == "2");
  CHECK(graph.requestCount() == 2);
}

TEST_CASE("a retry drawn past event_time + 7 days is brought forward to the last minute, then the event is dead",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.matching.max_past_skew_seconds = 30 * kDay;
  cfg.dispatch.backoff_base_seconds = 7200;   // the first retry waits 1 to 2 hours
  TestDaemon d(cfg, f.clock);
  // 50 minutes of Meta's 7 days left; less the 10 minute margin, the last retry is due in 39.
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock) - 7 * kDay + 50 * 60);
  REQUIRE(column(f, id, "status") == "pending");
  graph.pushResponse(503, "<html><body>Service Unavailable</body></html>");

  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "retrying");
  CHECK(secondsUntilDue(f, id) == 39 * 60);

  // The last chance fails too: no time is left for another.
  f.clock.advance(39min);
  graph.pushResponse(503, "<html><body>Service Unavailable</body></html>");
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "dead");
  const std::string last_error = column(f, id, "last_error");
  INFO(last_error);
  CHECK(last_error.rfind("expired", 0) == 0);
  CHECK(contains(last_error, "HTTP 503"));
  CHECK(column(f, id, "attempts") == "2");
  CHECK(d->metrics().value("capi_events_dead_total", {{"pixel", "111"}, {"reason", "expired"}}) == 1);

  f.clock.advance(3h);
  CHECK(d->dispatcher().runOnce() == 0);
  CHECK(graph.requestCount() == 2);
}

TEST_CASE("by default an outage of days spends no attempt limit: the event is sent when Meta answers again",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  REQUIRE(cfg.dispatch.max_attempts == 0);
  cfg.dispatch.backoff_cap_seconds = 3600;   // due again at every hourly look below
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));

  // Three days of 503s, looked at every hour: 72 attempts, where the old default gave up at 20.
  graph.setUnavailable(true);
  int attempts = 0;
  for (int hour = 0; hour < 72; ++hour) {
    f.clock.advance(1h);
    attempts += d->dispatcher().runOnce();
  }
  CHECK(attempts == 72);
  CHECK(column(f, id, "status") == "retrying");
  CHECK(column(f, id, "attempts") == "72");
  const int64_t wait = secondsUntilDue(f, id);
  CHECK(wait > 0);
  CHECK(wait <= 3600);

  graph.setUnavailable(false);
  f.clock.advance(std::chrono::seconds(wait));
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "sent");
}

TEST_CASE("a retrying event found past its 7 days is marked dead without another request", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock) - 5);
  graph.pushResponse(502, "<html><body>Bad Gateway</body></html>");
  CHECK(d->dispatcher().runOnce() == 1);
  REQUIRE(column(f, id, "status") == "retrying");

  // The daemon was down for a week.
  f.clock.advance(std::chrono::seconds(7 * kDay));
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "dead");
  CHECK(column(f, id, "last_error").rfind("expired", 0) == 0);
  CHECK(column(f, id, "attempts") == "1");
  CHECK(graph.requestCount() == 1);
  CHECK(f.db.scalar("SELECT count(*) FROM send_attempts") == "1");
}

TEST_CASE("throttling (code 4) and 5xx answers are retried until max_attempts, then the event is dead", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.dispatch.max_attempts = 3;
  cfg.dispatch.backoff_base_seconds = 10;
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));

  graph.pushResponse(400, FakeGraphServer::errorBody(4, 0, "(#4) Application request limit reached", "", "", true,
                                                     "OAuthException"));
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "retrying");
  CHECK(column(f, id, "attempts") == "1");
  CHECK(column(f, id, "last_http_status") == "400");
  CHECK(contains(column(f, id, "last_error"), "Application request limit reached"));
  CHECK(d->metrics().value("capi_events_retried_total", {{"pixel", "111"}, {"reason", "throttled"}}) == 1);

  f.clock.advance(1h);
  graph.pushResponse(503, "<html><body>Service Unavailable</body></html>");
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "retrying");

  f.clock.advance(1h);
  graph.setUnavailable(true);
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "dead");
  CHECK(column(f, id, "attempts") == "3");
  CHECK(column(f, id, "last_error").rfind("gave up after 3 attempts", 0) == 0);
  CHECK(f.db.scalar("SELECT string_agg(error_class || ':' || coalesce(graph_code, 0), ',' ORDER BY attempted_at, id)"
                    " FROM send_attempts") == "throttled:4,server:0,server:0");
}

// Meta's answer to a batch with an invalid event: the whole request is refused, and the cycle
// splits it until each event is sent alone.
namespace {
std::pair<int, std::string> refusedAsWhole() {
  return {400, FakeGraphServer::errorBody(100, 0, "Invalid parameter", "Missing Currency", "currency is required", false,
                                          "OAuthException", "TraceSplit")};
}
}  // namespace

TEST_CASE("a cycle that outlasts half its lease renews it before its next request, so no one takes its events over",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.dispatch.lease_seconds = 120;
  TestDaemon d(cfg, f.clock);
  const int64_t first = queuePurchase(d, f, "1", unixNow(f.clock) - 60);
  const int64_t second = queuePurchase(d, f, "2", unixNow(f.clock) - 60);

  // Each request takes 100 s of the clock. The batch of both is refused as a whole, so it is
  // split and each event is sent alone: three requests, 300 s, in a cycle leased for 120 s.
  std::vector<int64_t> lease_left;   // seconds of lease left on the second event, at each request
  int n = 0;
  graph.setResponder([&](const RecordedRequest& r) -> std::pair<int, std::string> {
    lease_left.push_back(std::stoll(f.db.scalar("SELECT extract(epoch from lease_expires_at)::bigint FROM outbound_events"
                                                " WHERE id = " + std::to_string(second))) -
                         unixNow(f.clock));
    f.clock.advance(100s);
    if (++n == 1)
      return refusedAsWhole();
    return {200, FakeGraphServer::successBody(static_cast<int>(eventIdsIn(r.body).size()))};
  });

  CHECK(d->dispatcher().runOnce() == 2);
  REQUIRE(lease_left.size() == 3);
  CHECK(lease_left[0] == 120);   // taken at the claim
  CHECK(lease_left[1] == 120);   // 100 s later: renewed before the request
  CHECK(lease_left[2] == 120);   // and again
  CHECK(column(f, first, "status") == "sent");
  CHECK(column(f, second, "status") == "sent");
  CHECK(column(f, second, "lease_owner") == "");
}

TEST_CASE("events taken over by another worker after their lease ran out are left to it", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.dispatch.lease_seconds = 120;
  TestDaemon d(cfg, f.clock);
  const int64_t first = queuePurchase(d, f, "1", unixNow(f.clock) - 60);
  const int64_t second = queuePurchase(d, f, "2", unixNow(f.clock) - 60);

  // The batch is refused as a whole and split. The first single request stalls for 200 s: the
  // lease runs out, and another worker claims the second event meanwhile.
  int n = 0;
  graph.setResponder([&](const RecordedRequest& r) -> std::pair<int, std::string> {
    if (++n == 1)
      return refusedAsWhole();
    if (n == 2) {
      f.clock.advance(200s);
      f.db.exec("UPDATE outbound_events SET lease_owner = 'other-worker#1', lease_expires_at = now() + interval '2 min'"
                " WHERE id = " + std::to_string(second));
    }
    return {200, FakeGraphServer::successBody(static_cast<int>(eventIdsIn(r.body).size()))};
  });

  CHECK(d->dispatcher().runOnce() == 2);
  // The second event was not sent by this cycle, and its row is the other worker's, untouched.
  REQUIRE(graph.requestCount() == 2);
  CHECK(eventIdsIn(graph.requests().at(1).body) == std::vector<std::string>{"evt-1"});
  CHECK(column(f, first, "status") == "sent");
  CHECK(column(f, second, "status") == "pending");
  CHECK(column(f, second, "lease_owner") == "other-worker#1");
  CHECK(f.db.scalar("SELECT count(*) FROM send_attempts WHERE outbound_event_id = " + std::to_string(second)) == "1");
}

TEST_CASE("a Graph server whose certificate comes from an unknown CA is refused and the event retries", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  FakeGraphServer unrelated;   // its CA is trusted instead of the one that signed graph's certificate
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.meta.ca_file = unrelated.caFile();
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));

  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(graph.requestCount() == 0);
  CHECK(graph.connectionCount() >= 1);
  CHECK(column(f, id, "status") == "retrying");
  CHECK(column(f, id, "attempts") == "1");
  CHECK(column(f, id, "last_http_status IS NULL") == "t");
  CHECK(column(f, id, "last_error").rfind("network:", 0) == 0);
  CHECK(f.db.scalar("SELECT error_class || ' ' || (http_status IS NULL) FROM send_attempts WHERE outbound_event_id = " +
                    std::to_string(id)) == "network true");
  CHECK(d->metrics().value("capi_events_retried_total", {{"pixel", "111"}, {"reason", "network"}}) == 1);
}

TEST_CASE("a staging instance sends the test event code and marks the rows it sent with it", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.environment = "staging";
  cfg.meta.test_event_code = "TEST12345";
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));
  CHECK(d->dispatcher().runOnce() == 1);
  REQUIRE(graph.requestCount() == 1);
  CHECK(contains(graph.requests()[0].body, "\"test_event_code\":\"TEST12345\""));
  CHECK(column(f, id, "status") == "sent");
  CHECK(column(f, id, "test_event_code") == "t");
  CHECK(d->metrics().value("capi_test_event_code_active") == 1);
}

TEST_CASE("a test event code in the environment of a production instance is a configuration error", "[dispatch]") {
  TestDatabase db(false);
  const auto path = std::filesystem::temp_directory_path() / (db.name() + "-dispatch.conf");
  auto load = [&](const std::string& environment) {
    std::ofstream(path) << "environment = " << environment << "\n[database]\nurl = " << db.url()
                        << "\n[meta]\npixel_id = 111\naccess_token = EAAtesttoken\n";
    return config::load({path.string(), false, true, {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST12345"}}});
  };
  try {
    load("production");
    FAIL("a production configuration with a test event code was accepted");
  } catch (const config::ConfigError& e) {
    CHECK(contains(e.what(), "CAPI_RECONCILER_META_TEST_EVENT_CODE"));
    CHECK(contains(e.what(), "environment = production"));
  }
  CHECK(load("staging").meta.test_event_code == "TEST12345");
  std::filesystem::remove(path);
}

TEST_CASE("a pixel without an access token never reaches the Graph server, and its queued events wait for one",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.dispatch.pause_probe_seconds = 300;
  TestDaemon d(cfg, f.clock);
  const int64_t queued = queuePurchase(d, f, "1", unixNow(f.clock));
  REQUIRE(column(f, queued, "status") == "pending");

  // The token is removed by a reload while the row waits, and another order arrives after.
  auto dry = cfg;
  for (auto& p : dry.pixels) p.access_token.clear();
  d->reload(dry);
  const int64_t later = queuePurchase(d, f, "2", unixNow(f.clock));

  drain(d);
  // Made while the pixel had no token: dry-run. Queued before: it waits, spending no attempt.
  CHECK(column(f, later, "status") == "dry_run");
  CHECK(column(f, queued, "status") == "pending");
  CHECK(column(f, queued, "attempts") == "0");
  CHECK(contains(column(f, queued, "last_error"), "no access token"));
  CHECK(secondsUntilDue(f, queued) == 300);
  CHECK(f.db.scalar("SELECT count(*) FROM retry_queue WHERE id = " + std::to_string(queued)) == "1");
  CHECK(column(f, queued, "payload->>'event_id'") == "evt-1");
  CHECK(graph.requestCount() == 0);
  CHECK(graph.connectionCount() == 0);

  // Still no token when it is looked at again: it waits again.
  f.clock.advance(5min);
  drain(d);
  CHECK(column(f, queued, "status") == "pending");
  CHECK(graph.requestCount() == 0);

  // The new token arrives: the event goes out at once, with its own event_id.
  d->reload(cfg);
  drain(d);
  CHECK(column(f, queued, "status") == "sent");
  CHECK(column(f, later, "status") == "dry_run");
  REQUIRE(graph.requestCount() == 1);
  CHECK(eventIdsIn(graph.requests().at(0).body) == std::vector<std::string>{"evt-1"});
}

TEST_CASE("a pixel whose token a reload brings during a cycle has its events given back, due now, not parked",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  cfg.pixels.push_back({"b", "222", ""});
  useGraph(cfg, graph);   // both pixels have a token
  cfg.dispatch.pause_probe_seconds = 300;
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));
  const std::string of_b = f.db.scalar("SELECT id FROM outbound_events WHERE pixel_id = '222'");
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'pending'") == "2");

  // Pixel 222 loses its token; the next cycle claims both events and, while it sends pixel 111's,
  // a reload brings 222's token back.
  auto without_b = cfg;
  without_b.pixels.at(1).access_token.clear();
  d->reload(without_b);
  graph.setResponder([&](const RecordedRequest& r) -> std::pair<int, std::string> {
    if (graph.requestCount() == 1) d->reload(cfg);
    return {200, FakeGraphServer::successBody(static_cast<int>(eventIdsIn(r.body).size()))};
  });
  CHECK(d->dispatcher().runOnce() == 2);
  CHECK(column(f, id, "status") == "sent");
  // Pixel 222's event is due now, not parked for pause_probe_seconds: the next cycle sends it.
  CHECK(f.db.scalar("SELECT status FROM outbound_events WHERE id = " + of_b) == "pending");
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(f.db.scalar("SELECT status FROM outbound_events WHERE id = " + of_b) == "sent");
  CHECK(graph.requestCount() == 2);
}

TEST_CASE("`retries retry ID` requeues a dead event and it is then sent", "[dispatch]") {
  // The command stamps the requeue with the real time, so this clock starts there.
  Fixture f;
  f.clock.set(fromUnixSeconds(toUnixSeconds(systemClock().now())));
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));
  graph.pushResponse(400, FakeGraphServer::errorBody(100, 0, "Invalid parameter", "Missing Currency",
                                                     "currency is required", false, "OAuthException", "TraceBad"));
  CHECK(d->dispatcher().runOnce() == 1);
  REQUIRE(column(f, id, "status") == "dead");

  std::ostringstream out, err;
  CHECK(app::runRetries({"retry", std::to_string(id)}, f.db.url(), out, err) == 0);
  CHECK(contains(out.str(), "requeued event " + std::to_string(id)));
  CHECK(column(f, id, "status") == "pending");
  CHECK(column(f, id, "attempts") == "0");

  f.clock.advance(1min);
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "sent");
  CHECK(column(f, id, "attempts") == "1");
  REQUIRE(graph.requestCount() == 2);
  CHECK(eventIdsIn(graph.requests()[1].body) == std::vector<std::string>{"evt-1"});

  // A sent event is not requeued.
  std::ostringstream out2, err2;
  CHECK(app::runRetries({"retry", std::to_string(id)}, f.db.url(), out2, err2) != 0);
  CHECK(column(f, id, "status") == "sent");
}

TEST_CASE("rows claimed by an instance that stopped are taken over once its lease expires", "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.dispatch.lease_seconds = 120;
  TestDaemon d(cfg, f.clock);
  const int64_t id = queuePurchase(d, f, "1", unixNow(f.clock));

  // Another instance claims the row and dies before sending.
  REQUIRE(d->outbound().claim("crashed-instance", f.clock.now(), 120s, 100).size() == 1);
  CHECK(d->dispatcher().runOnce() == 0);
  f.clock.advance(119s);
  CHECK(d->dispatcher().runOnce() == 0);
  CHECK(graph.requestCount() == 0);

  f.clock.advance(2s);
  CHECK(d->dispatcher().runOnce() == 1);
  CHECK(column(f, id, "status") == "sent");
  CHECK(column(f, id, "lease_owner IS NULL") == "t");
  CHECK(graph.requestCount() == 1);
}

TEST_CASE("two instances sharing one database send each of 2,000 events exactly once", "[dispatch][instances]") {
  constexpr int kEvents = 2000;
  constexpr int kPosters = 8;
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.matching.wait_seconds = 0;   // each paid order is queued at once, unmatched
  cfg.meta.batch_size = 25;        // many small claims, so the instances contend often
  cfg.dispatch.workers = 2;

  {
    // Builds the backlog through the webhook endpoint; no dispatcher runs yet.
    TestDaemon ingest(cfg, f.clock);
    std::atomic<int> failures{0};
    std::vector<std::thread> posters;
    for (int t = 0; t < kPosters; ++t) {
      posters.emplace_back([&, t] {
        for (int i = t; i < kEvents; i += kPosters) {
          try {
            if (ingest.postStripe(checkoutFor(f.clock, std::to_string(i))).status != 200) ++failures;
          } catch (const std::exception&) {
            ++failures;
          }
        }
      });
    }
    for (auto& t : posters) t.join();
    REQUIRE(failures == 0);
  }
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'pending'") == std::to_string(kEvents));

  // Keep the backlog not yet due until both instances are polling, so they race for it.
  f.clock.set(kStart - 1min);
  TestDaemon a(cfg, f.clock, true);
  TestDaemon b(cfg, f.clock, true);
  f.clock.set(kStart);

  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::string sent;
  while (std::chrono::steady_clock::now() < deadline) {
    sent = f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'");
    if (sent == std::to_string(kEvents)) break;
    graph.waitForRequests(graph.requestCount() + 1, 200ms);
  }
  // Let in-flight sends finish before looking at what the server received.
  a->stop();
  b->stop();
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == std::to_string(kEvents));

  std::map<std::string, int> received;
  for (const auto& r : graph.requests())
    for (const auto& e : eventIdsIn(r.body)) ++received[e];
  std::set<std::string> queued;
  std::istringstream all(f.db.scalar("SELECT string_agg(event_id, ' ') FROM outbound_events"));
  for (std::string e; all >> e;) queued.insert(e);
  REQUIRE(queued.size() == static_cast<size_t>(kEvents));
  CHECK(received.size() == queued.size());
  int duplicates = 0, unknown = 0;
  for (const auto& [event_id, n] : received) {
    if (n != 1) ++duplicates;
    if (!queued.count(event_id)) ++unknown;
  }
  CHECK(duplicates == 0);
  CHECK(unknown == 0);
  const double by_a = a->metrics().value("capi_events_sent_total", {{"pixel", "111"}});
  const double by_b = b->metrics().value("capi_events_sent_total", {{"pixel", "111"}});
  CHECK(by_a + by_b == kEvents);
  // Both instances took part; otherwise nothing was shared.
  CHECK(by_a > 0);
  CHECK(by_b > 0);
  CHECK(f.db.scalar("SELECT count(*) FROM send_attempts") == std::to_string(kEvents));
}

TEST_CASE("once a reload fixes the token, a paused pixel's whole queue goes out without waiting for the poll",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph, "EAAexpiredtoken");
  cfg.dispatch.workers = 2;
  cfg.dispatch.poll_interval_ms = 3600 * 1000;   // only wake-ups can move the queue in this test
  {
    TestDaemon queue(cfg, f.clock);
    for (int i = 1; i <= 3; ++i) queuePurchase(queue, f, std::to_string(i), unixNow(f.clock) - 30);
    graph.pushResponse(400, FakeGraphServer::errorBody(190, 463, "Error validating access token: Session has expired.",
                                                       "", "", false, "OAuthException", "TraceToken"));
    REQUIRE(queue->dispatcher().runOnce() == 3);
    REQUIRE(f.db.scalar("SELECT count(*) FROM pixel_pauses") == "1");
  }

  TestDaemon d(cfg, f.clock, true, 1h);
  auto fixed = cfg;
  useGraph(fixed, graph, "EAAfreshtoken");
  d->reload(fixed);
  // The reload's probe sends one event; the two given back must follow on the probe's success,
  // not an hour later.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") != "3" &&
         std::chrono::steady_clock::now() < deadline)
    graph.waitForRequests(graph.requestCount() + 1, 200ms);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == "3");
  CHECK(f.db.scalar("SELECT count(*) FROM pixel_pauses") == "0");
}

TEST_CASE("events queued while a worker rests after a short batch go out together in its next request",
          "[dispatch]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  // With two workers, the idle one does not claim while the other rests.
  cfg.dispatch.workers = GENERATE(1, 2);
  INFO("dispatch workers: " << cfg.dispatch.workers);
  cfg.dispatch.poll_interval_ms = 3600 * 1000;   // only wake-ups move the queue
  // A rest long enough that queueing three more orders surely fits inside it.
  TestDaemon d(cfg, f.clock, true, 1s, 3s);
  queuePurchase(d, f, "1", unixNow(f.clock) - 30);
  REQUIRE(graph.waitForRequests(1, 20s));
  // The worker has recorded the send and started its rest (3 s) before more orders arrive.
  REQUIRE(pollUntil(20s, [&] { return f.db.scalar("SELECT status FROM outbound_events") == "sent"; }));
  std::this_thread::sleep_for(200ms);
  for (const char* key : {"2", "3", "4"}) queuePurchase(d, f, key, unixNow(f.clock) - 30);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") != "4" &&
         std::chrono::steady_clock::now() < deadline)
    graph.waitForRequests(graph.requestCount() + 1, 200ms);
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == "4");
  const auto requests = graph.requests();
  REQUIRE(requests.size() == 2);
  CHECK(eventIdsIn(requests[0].body) == std::vector<std::string>{"evt-1"});
  auto second = eventIdsIn(requests[1].body);
  std::sort(second.begin(), second.end());
  CHECK(second == std::vector<std::string>{"evt-2", "evt-3", "evt-4"});
}
