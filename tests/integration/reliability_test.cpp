// The promises of SPEC §2 and §7 under faults, against the real binary: a webhook answered 2xx is
// never lost and its order reaches the Graph API exactly once, whether the daemon is killed
// with SIGKILL mid-load, PostgreSQL restarts under it, or Meta is unreachable for a while.
#include "support/fake_graph_server.h"
#include "support/process.h"
#include "support/serve_process.h"
#include "support/test_daemon.h"
#include "support/test_env.h"
#include "webhooks/stripe/stripe_signature.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <istream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace capi::testing;
using namespace std::chrono_literals;
using capi::webhooks::stripe::StripeSignatureVerifier;

namespace {

const std::string kPixel = "4455667788";
const std::string kToken = "EAAreliabilitytoken";
const std::string kSecret = "whsec_reliability_secret";

struct ConfigOptions {
  std::string graph_url;
  std::string ca_file;
  int lease_seconds = 120;
  int graph_timeout_ms = 5000;
};

// Unmatched payments are sent at once (matching.wait_seconds = 0, with the order reference as
// event_id), failed sends are retried within a second or two, and a dead instance's claims
// expire after lease_seconds.
std::string reliabilityConfig(const TestDatabase& db, uint16_t port, const ConfigOptions& o) {
  return "environment = production\n"
         "[log]\nlevel = warn\n"
         "[server]\nlisten = 127.0.0.1:" + std::to_string(port) + "\nthreads = 16\n"
         "[database]\nurl = " + db.url() + "\nmigrations_dir = " + migrationsDir() + "\npool_size = 8\n"
         "[meta]\npixel_id = " + kPixel + "\naccess_token = " + kToken + "\ngraph_url = " + o.graph_url + "\n" +
         (o.ca_file.empty() ? "" : "ca_file = " + o.ca_file + "\n") +
         "connect_timeout_ms = 1000\ntimeout_ms = " + std::to_string(o.graph_timeout_ms) + "\n"
         "[stripe]\nwebhook_secret = " + kSecret + "\n"
         "[matching]\nwait_seconds = 0\nunmatched = send\n"
         "[dispatch]\nworkers = 2\npoll_interval_ms = 50\nlease_seconds = " + std::to_string(o.lease_seconds) +
         "\nbackoff_base_seconds = 1\nbackoff_cap_seconds = 2\nmax_attempts = 1000\n";
}

// Webhook `i` of a test: its own Stripe event, Checkout Session, PaymentIntent and order.
std::string orderRef(const std::string& prefix, int i) { return prefix + "-ORDER-" + std::to_string(i); }

std::string webhookBody(const std::string& prefix, int i, int64_t created) {
  StripeCheckout c;
  c.event_id = "evt_" + prefix + "_" + std::to_string(i);
  c.session_id = "cs_" + prefix + "_" + std::to_string(i);
  c.payment_intent = "pi_" + prefix + "_" + std::to_string(i);
  c.client_reference_id = orderRef(prefix, i);
  c.created = created;
  return stripeCheckoutEvent(c);
}

// One sender's connection to the daemon, kept alive from webhook to webhook as Stripe's senders
// do (a connection per webhook would run a busy machine out of ephemeral ports) and reopened
// after a failure.
class WebhookSender {
 public:
  explicit WebhookSender(uint16_t port) : session_("127.0.0.1", port) {
    session_.setKeepAlive(true);
    // Below the daemon's server.keepalive_timeout_seconds (5): never reuse a connection the
    // server may just be closing.
    session_.setKeepAliveTimeout(Poco::Timespan(2, 0));
    session_.setTimeout(Poco::Timespan(30, 0));
  }

  // Posts a signed webhook; the HTTP status, or 0 when no answer came (refused, reset, cut short).
  int post(const std::string& body) {
    try {
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/webhooks/stripe",
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      request.setContentType("application/json");
      request.set("Stripe-Signature", StripeSignatureVerifier::sign(kSecret, unixNow(), body));
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      request.setKeepAlive(true);
      session_.sendRequest(request) << body;
      Poco::Net::HTTPResponse response;
      std::istream& in = session_.receiveResponse(response);
      Poco::NullOutputStream discard;
      Poco::StreamCopier::copyStream(in, discard);
      return response.getStatus();
    } catch (const std::exception&) {
      session_.reset();
      return 0;
    }
  }

 private:
  Poco::Net::HTTPClientSession session_;
};

// The Graph API stand-in's view of what Meta received: every event_id of every request answered
// 200, with how often it arrived. Requests refused while the server is unavailable do not count.
class DeliveredEvents {
 public:
  explicit DeliveredEvents(FakeGraphServer& graph) {
    graph.setResponder([this](const RecordedRequest& request) {
      Poco::JSON::Parser parser;
      const auto body = parser.parse(request.body).extract<Poco::JSON::Object::Ptr>();
      const auto data = body->getArray("data");
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < data->size(); ++i) ++counts_[data->getObject(static_cast<unsigned>(i))->getValue<std::string>("event_id")];
      return std::make_pair(200, FakeGraphServer::successBody(static_cast<int>(data->size())));
    });
  }

  std::map<std::string, int> counts() const {
    std::lock_guard lock(mu_);
    return counts_;
  }
  size_t distinct() const {
    std::lock_guard lock(mu_);
    return counts_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
};

// event_ids that arrived more than once.
std::vector<std::string> repeated(const std::map<std::string, int>& counts) {
  std::vector<std::string> out;
  for (const auto& [id, n] : counts)
    if (n > 1) out.push_back(id + " x" + std::to_string(n));
  return out;
}

int64_t count(const TestDatabase& db, const std::string& sql) { return std::stoll(db.scalar(sql)); }

const char* const kUnfinished = "SELECT count(*) FROM outbound_events WHERE status IN ('pending', 'retrying')";

}  // namespace

TEST_CASE("after kill -9 during 5,000 webhooks and a restart, every acknowledged order reaches Meta exactly once",
          "[reliability]") {
  constexpr int kWebhooks = 5000;
  constexpr int kClients = 8;
  const std::string prefix = "kill";
  TestDatabase db;
  const int64_t created = unixNow();

  // Phase 1: Meta accepts the requests and never answers, so nothing leaves before the kill
  // and the batches the workers are sending are still leased to the dead instance when it goes.
  std::mutex hang_mu;
  std::condition_variable hang_cv;
  bool release = false;
  FakeGraphServer hanging;
  hanging.setResponder([&](const RecordedRequest&) {
    std::unique_lock lock(hang_mu);
    hang_cv.wait(lock, [&] { return release; });
    return std::make_pair(503, std::string("released"));
  });
  auto releaseHanging = [&] {
    {
      std::lock_guard lock(hang_mu);
      release = true;
    }
    hang_cv.notify_all();
  };
  struct ReleaseOnExit {
    std::function<void()> fn;
    ~ReleaseOnExit() { fn(); }
  } release_on_exit{releaseHanging};
  ConfigOptions first_options;
  first_options.graph_url = hanging.baseUrl();
  first_options.ca_file = hanging.caFile();
  first_options.graph_timeout_ms = 120000;
  first_options.lease_seconds = 2;
  auto first = std::make_unique<ServeProcess>(
      [&](uint16_t port) { return reliabilityConfig(db, port, first_options); });
  first->waitUntilReady();
  const uint16_t first_port = first->port;

  std::vector<int> status(kWebhooks, -1);   // -1 not posted; each index written by one client only
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      WebhookSender sender(first_port);
      for (int i = t; i < kWebhooks; i += kClients) {
        status[i] = sender.post(webhookBody(prefix, i, created));
        if (status[i] >= 200 && status[i] < 300) ++acknowledged;
      }
    });
  }
  // SIGKILL with about a third acknowledged and the clients still posting.
  const bool loaded = pollUntil(120s, [&] { return acknowledged.load() >= kWebhooks / 3; });
  first->child->kill();
  for (auto& c : clients) c.join();
  {
    std::map<int, int> histogram;
    for (int s : status) ++histogram[s];
    for (const auto& [s, n] : histogram) UNSCOPED_INFO(n << " webhooks answered " << s);
    INFO(first->child->output());
    REQUIRE(loaded);
    CHECK(first->child->wait(0ms) == std::optional<int>(128 + SIGKILL));
  }

  std::set<int> acked, unanswered;
  for (int i = 0; i < kWebhooks; ++i) {
    REQUIRE(status[i] != -1);
    if (status[i] >= 200 && status[i] < 300)
      acked.insert(i);
    else
      unanswered.insert(i);
  }
  INFO(acked.size() << " acknowledged, " << unanswered.size() << " not before the kill");
  REQUIRE(acked.size() >= static_cast<size_t>(kWebhooks / 3));
  REQUIRE(unanswered.size() > 0);   // the kill happened while webhooks were arriving
  // What was acknowledged is committed: its delivery row exists (matched into an outbound row,
  // or still 'received' for the next instance's matching worker).
  CHECK(count(db, "SELECT count(*) FROM webhook_deliveries") >= static_cast<int64_t>(acked.size()));
  UNSCOPED_INFO(count(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'received'")
                << " deliveries not yet matched at the kill");
  CHECK(count(db, "SELECT count(*) FROM outbound_events WHERE status = 'sent'") == 0);
  // The second instance must take these over once their lease has expired.
  CHECK(count(db, "SELECT count(*) FROM outbound_events WHERE lease_owner IS NOT NULL") > 0);
  CHECK(hanging.requestCount() > 0);
  releaseHanging();

  // Phase 2: a new instance on the same database, Meta reachable.
  FakeGraphServer graph;
  DeliveredEvents delivered(graph);
  ConfigOptions second_options;
  second_options.graph_url = graph.baseUrl();
  second_options.ca_file = graph.caFile();
  ServeProcess second([&](uint16_t port) { return reliabilityConfig(db, port, second_options); });
  second.waitUntilReady();

  // Everything stored before the kill drains: deliveries not yet matched, and the outbound rows
  // the dead instance had claimed.
  const bool drained = pollUntil(120s, [&] {
    return count(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'received'") == 0 &&
           count(db, kUnfinished) == 0 && delivered.distinct() >= acked.size();
  });
  if (!drained) FAIL("the queue did not drain after the restart; the new instance's log:\n" << second.child->output());
  {
    const auto counts = delivered.counts();
    CHECK(repeated(counts).empty());
    for (int i : acked) {
      const auto it = counts.find(orderRef(prefix, i));
      INFO("acknowledged webhook " << i);
      CHECK(it != counts.end());
    }
    for (const auto& [event_id, n] : counts) {
      INFO(event_id);
      CHECK(event_id.rfind(prefix + "-ORDER-", 0) == 0);
    }
  }

  // Stripe redelivers what it did not see acknowledged, and sometimes what it did: the
  // redeliveries are accepted (or recognized as duplicates) and still no order is sent twice.
  std::vector<int> redeliver(unanswered.begin(), unanswered.end());
  int nth = 0;
  for (int i : acked)
    if (nth++ % 50 == 0) redeliver.push_back(i);
  std::vector<int> redelivery_status(redeliver.size(), -1);
  clients.clear();
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      WebhookSender sender(second.port);
      for (size_t k = static_cast<size_t>(t); k < redeliver.size(); k += kClients)
        redelivery_status[k] = sender.post(webhookBody(prefix, redeliver[k], created));
    });
  }
  for (auto& c : clients) c.join();
  const auto refused = std::count_if(redelivery_status.begin(), redelivery_status.end(), [](int s) { return s != 200; });
  if (refused > 0)
    FAIL(refused << " of " << redeliver.size() << " redeliveries were not answered 200; the new instance "
                 << (second.child->running() ? "runs" : "exited") << ", its log:\n" << second.child->output());

  REQUIRE(pollUntil(120s, [&] { return count(db, kUnfinished) == 0 && delivered.distinct() >= kWebhooks; }));
  const auto counts = delivered.counts();
  CHECK(counts.size() == kWebhooks);
  CHECK(repeated(counts).empty());
  CHECK(count(db, "SELECT count(*) FROM webhook_deliveries") == kWebhooks);
  CHECK(count(db, "SELECT count(*) FROM outbound_events WHERE status = 'sent'") == kWebhooks);
  CHECK(second.child->running());
}

TEST_CASE("PostgreSQL restarted under load: 503 during the outage, nothing acknowledged is lost, same process recovers",
          "[reliability]") {
  const std::string control = postgresControl();
  if (control.empty()) {
    WARN("CAPI_TEST_PG_CONTROL is not set (scripts/test sets it to scripts/pg): the PostgreSQL restart test is skipped");
    SUCCEED();
    return;
  }
  constexpr int kClients = 4;
  const std::string prefix = "pgrestart";
  // Declared first, so dropped last: after the outage guard has started PostgreSQL again.
  TestDatabase db;
  FakeGraphServer graph;
  DeliveredEvents delivered(graph);
  ConfigOptions options;
  options.graph_url = graph.baseUrl();
  options.ca_file = graph.caFile();
  // A claim whose commit was cut by the outage is in doubt; its rows come back when the lease
  // runs out, and a short lease keeps that within the test.
  options.lease_seconds = 5;
  ServeProcess serve([&](uint16_t port) { return reliabilityConfig(db, port, options); });
  serve.waitUntilReady();
  const pid_t pid = serve.child->pid();
  const int64_t created = unixNow();

  // Clients post distinct webhooks without pause until told to stop; every answer is kept.
  std::mutex mu;
  std::map<int, int> answers;   // webhook -> status (0: no answer)
  std::atomic<int> next{0};
  std::atomic<int> ok_count{0}, unavailable_count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&] {
      WebhookSender sender(serve.port);
      while (!stop) {
        const int i = next++;
        const int s = sender.post(webhookBody(prefix, i, created));
        if (s == 200) ++ok_count;
        if (s == 503) ++unavailable_count;
        std::lock_guard lock(mu);
        answers[i] = s;
      }
    });
  }
  // Stops the clients on every path out of the test, so no thread outlives what it uses.
  struct Joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Joiner() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } joiner{stop, clients};

  REQUIRE(pollUntil(60s, [&] { return ok_count.load() >= 100; }));
  {
    PostgresOutage outage(control);
    const bool refused = pollUntil(30s, [&] { return unavailable_count.load() >= 20; });
    CHECK(refused);
    CHECK(statusOf(serve.port, "/healthz") == 200);
    CHECK(statusOf(serve.port, "/readyz") == 503);
    REQUIRE(outage.restart() == 0);
  }
  const int ok_at_restart = ok_count.load();
  const bool recovered = pollUntil(60s, [&] { return ok_count.load() >= ok_at_restart + 100; });
  stop = true;
  for (auto& c : clients) c.join();
  if (!recovered || !serve.child->running())
    FAIL("webhooks were not accepted again after the restart; the daemon's log:\n" << serve.child->output());
  CHECK(serve.child->pid() == pid);
  CHECK(statusOf(serve.port, "/readyz") == 200);

  std::set<std::string> acked_orders;
  int refused = 0;
  for (const auto& [i, s] : answers) {
    if (s == 200)
      acked_orders.insert(orderRef(prefix, i));
    else
      ++refused;
    // No other answer is acceptable: 200 stored, 503 retry later, or (rarely) a connection the
    // outage broke.
    INFO("webhook " << i << " answered " << s);
    CHECK((s == 200 || s == 503 || s == 0));
  }
  INFO(acked_orders.size() << " acknowledged, " << refused << " refused or unanswered");
  CHECK(refused >= 20);

  // Each acknowledged webhook has its delivery row, matched once the worker has caught up...
  const bool matched_all = pollUntil(60s, [&] {
    return count(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'received'") == 0;
  });
  if (!matched_all) FAIL("stored webhooks were not matched after the outage; the daemon's log:\n" << serve.child->output());
  const std::string stored = db.scalar(
      "SELECT string_agg(order_ref, ',') FROM webhook_deliveries WHERE status = 'accepted'");
  std::set<std::string> stored_orders;
  for (size_t start = 0; start < stored.size();) {
    const size_t comma = std::min(stored.find(',', start), stored.size());
    stored_orders.insert(stored.substr(start, comma - start));
    start = comma + 1;
  }
  for (const auto& order : acked_orders) {
    INFO(order << " was acknowledged");
    CHECK(stored_orders.count(order) == 1);
  }
  // ...exactly one outbound event...
  CHECK(count(db, "SELECT count(*) FROM outbound_events") == static_cast<int64_t>(stored_orders.size()));
  CHECK(count(db, "SELECT count(DISTINCT order_ref) FROM outbound_events") ==
        static_cast<int64_t>(stored_orders.size()));
  // ...which reaches Meta. A send whose outcome could not be recorded while PostgreSQL was down
  // is repeated after its lease (at least once; Meta deduplicates by event_id), so repeats are
  // reported, not failed.
  const bool delivered_all = pollUntil(60s, [&] {
    return count(db, kUnfinished) == 0 && delivered.distinct() >= stored_orders.size();
  });
  if (!delivered_all) FAIL("the queue did not drain after the outage; the daemon's log:\n" << serve.child->output());
  const auto counts = delivered.counts();
  for (const auto& order : acked_orders) {
    INFO(order << " was acknowledged");
    CHECK(counts.count(order) == 1);
  }
  CHECK(counts.size() == stored_orders.size());
  if (!repeated(counts).empty()) WARN(repeated(counts).size() << " event(s) were sent again after the outage");
  CHECK(count(db, "SELECT count(*) FROM outbound_events WHERE status <> 'sent'") == 0);
}

TEST_CASE("while Meta is unreachable the retry queue grows with recorded attempts, then drains, each event sent once",
          "[reliability]") {
  constexpr int kWave = 60;
  const std::string prefix = "metadown";
  TestDatabase db;
  FakeGraphServer graph;
  DeliveredEvents delivered(graph);
  graph.setUnavailable(true);
  ConfigOptions options;
  options.graph_url = graph.baseUrl();
  options.ca_file = graph.caFile();
  ServeProcess serve([&](uint16_t port) { return reliabilityConfig(db, port, options); });
  serve.waitUntilReady();
  const int64_t created = unixNow();

  WebhookSender sender(serve.port);
  auto postWave = [&](int from) {
    for (int i = from; i < from + kWave; ++i) REQUIRE(sender.post(webhookBody(prefix, i, created)) == 200);
  };
  // Each wave is matched by the worker moments after its acknowledgement.
  postWave(0);
  CHECK(pollUntil(30s, [&] { return count(db, kUnfinished) == kWave; }));
  // Every row is tried, refused with 503, and rescheduled; some are already on their second try.
  REQUIRE(pollUntil(60s, [&] {
    return count(db, "SELECT count(*) FROM outbound_events WHERE status = 'retrying' AND attempts >= 1") == kWave &&
           count(db, "SELECT coalesce(max(attempts), 0) FROM outbound_events") >= 2;
  }));
  postWave(kWave);
  CHECK(pollUntil(30s, [&] { return count(db, kUnfinished) == 2 * kWave; }));
  REQUIRE(pollUntil(60s, [&] {
    return count(db, "SELECT count(*) FROM outbound_events WHERE status = 'retrying' AND attempts >= 1") == 2 * kWave;
  }));
  CHECK(count(db, "SELECT count(*) FROM outbound_events WHERE status = 'sent'") == 0);
  CHECK(count(db, "SELECT count(*) FROM outbound_events WHERE last_http_status = 503") == 2 * kWave);
  CHECK(count(db, "SELECT count(*) FROM send_attempts WHERE http_status = 503 AND error_class = 'server'") >= 2 * kWave);
  CHECK(graph.requestCount() > 0);
  CHECK(delivered.distinct() == 0);
  const std::string metrics = httpRequest(serve.port, "GET", "/metrics").body;
  CHECK(metrics.find("capi_queue_depth{status=\"retrying\"} " + std::to_string(2 * kWave) + "\n") !=
        std::string::npos);

  graph.setUnavailable(false);
  REQUIRE(pollUntil(60s, [&] { return count(db, kUnfinished) == 0; }));
  CHECK(count(db, "SELECT count(*) FROM outbound_events WHERE status = 'sent'") == 2 * kWave);
  const auto counts = delivered.counts();
  CHECK(counts.size() == 2 * kWave);
  CHECK(repeated(counts).empty());
  for (int i = 0; i < 2 * kWave; ++i) {
    INFO("webhook " << i);
    CHECK(counts.count(orderRef(prefix, i)) == 1);
  }
  CHECK(count(db, "SELECT count(*) FROM send_attempts WHERE error_class = 'ok'") == 2 * kWave);
  const std::string drained_metrics = httpRequest(serve.port, "GET", "/metrics").body;
  CHECK(drained_metrics.find("capi_queue_depth{status=\"sent\"} " + std::to_string(2 * kWave) + "\n") !=
        std::string::npos);
  CHECK(drained_metrics.find("capi_queue_depth{status=\"retrying\"} 0\n") != std::string::npos);
}
