// The webhook inbox: a webhook is acknowledged once its delivery row commits (group commit shares
// that transaction among concurrent requests), and the matching worker turns stored deliveries
// into payments and outbound rows in batches, marking the ones it cannot process as failed.
#include "common/metrics.h"
#include "store/delivery_inbox.h"
#include "store/ingest_store.h"
#include "store/pg_pool.h"
#include "support/fake_graph_server.h"
#include "support/process.h"
#include "support/test_daemon.h"
#include "support/test_env.h"
#include "webhooks/stripe/stripe_signature.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using namespace capi;
using namespace capi::testing;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = fromUnixSeconds(1795000000);

struct Fixture {
  TestDatabase db;
  ManualClock clock{kStart};
};

int64_t now(const ManualClock& c) { return toUnixSeconds(c.now()); }

// Posts a signed webhook without running the matching worker (TestDaemon::postStripe runs it).
HttpResult postSigned(TestDaemon& d, const ManualClock& clock, const std::string& body) {
  return d.post("/webhooks/stripe", body,
                {{"Content-Type", "application/json"},
                 {"Stripe-Signature", webhooks::stripe::StripeSignatureVerifier::sign(kStripeSecret, now(clock), body)}});
}

bool hasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

store::DeliveryRecord delivery(const std::string& id, const std::string& raw = R"({"id":"x"})") {
  store::DeliveryRecord d;
  d.provider = "stripe";
  d.delivery_id = id;
  d.event_type = "checkout.session.completed";
  d.status = "received";
  d.raw_body = raw;
  d.received_at = kStart;
  return d;
}

// Blocks the inbox's writer: a transaction holding an uncommitted delivery "evt_block" makes the
// next write that stores "evt_block" wait on the unique index until commit().
struct BlockedWriter {
  const TestDatabase& db;
  HeldTransaction held;
  explicit BlockedWriter(const TestDatabase& database)
      : db(database),
        held(database.url(),
             "INSERT INTO webhook_deliveries (provider, delivery_id, event_type, status, received_at)"
             " VALUES ('stripe', 'evt_block', 'checkout.session.completed', 'ignored', now())") {}
  bool writerWaits() const {
    return db.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                     " AND datname = current_database()") != "0";
  }
};

// An inbox whose first write ("evt_block") waits behind BlockedWriter's transaction, so that the
// requests a test posts queue behind it until release().
struct BlockedInbox {
  TestDatabase db;
  store::PgPool pool;
  store::IngestStore ingest;
  store::DeliveryInbox inbox;
  BlockedWriter blocker;
  std::atomic<int> first_result{-1};   // the blocked request: 1 stored, 0 a duplicate
  std::thread first;
  bool released = false;

  explicit BlockedInbox(std::size_t max_batch = 256)
      : pool(db.url(), 4, 0), ingest(pool), inbox(ingest, max_batch), blocker(db) {
    first = std::thread([this] { first_result = inbox.store(delivery("evt_block")) ? 1 : 0; });
    REQUIRE(pollUntil(20s, [&] { return blocker.writerWaits(); }));
  }
  // Commits the blocking transaction: the blocked write ends (its row a duplicate) and the next
  // in the queue writes.
  void release() {
    blocker.held.commit();
    released = true;
  }
  ~BlockedInbox() {
    if (!released) release();
    if (first.joinable()) first.join();
  }
};


// Stores N received webhooks (b0, b1, ...) with no matching thread running.
void storeBacklog(Fixture& f, const config::Config& cfg, int n) {
  TestDaemon store(cfg, f.clock);
  for (int i = 0; i < n; ++i)
    REQUIRE(postSigned(store, f.clock, checkoutFor(f.clock, "b" + std::to_string(i))).status == 200);
}

// Whether a session of this database waits for a lock while running a statement that starts so.
bool sessionWaits(const TestDatabase& db, const std::string& statement) {
  return db.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                   " AND datname = current_database() AND query LIKE '" + statement + "%'") != "0";
}

// Holds the matching threads' browser-event lookups (take it before the daemon starts). Declare
// a ReleaseFirst after the daemon, so however a test ends the lock goes before the daemon stops.
std::unique_ptr<HeldTransaction> holdLookups(const TestDatabase& db) {
  return std::make_unique<HeldTransaction>(db.url(), "LOCK TABLE client_events IN ACCESS EXCLUSIVE MODE");
}
struct ReleaseFirst {
  std::unique_ptr<HeldTransaction>& held;
  ~ReleaseFirst() { held.reset(); }
};

// Two webhooks awaiting their acknowledgement: "block", whose write waits on an uncommitted
// duplicate, and "follower", queued behind that write. Members end in reverse order: the blocking
// transaction rolls back (if not committed) before the requests are waited for.
struct AwaitedAcknowledgements {
  std::future<int> writer, follower;
  BlockedWriter blocked;
  AwaitedAcknowledgements(Fixture& f, TestDaemon& d) : blocked(f.db) {
    writer = std::async(std::launch::async, [&] { return postSigned(d, f.clock, checkoutFor(f.clock, "block")).status; });
    REQUIRE(pollUntil(20s, [&] { return sessionWaits(f.db, "INSERT INTO webhook_deliveries"); }));
    follower = std::async(std::launch::async, [&] { return postSigned(d, f.clock, checkoutFor(f.clock, "follower")).status; });
    REQUIRE(pollUntil(20s, [&] { return d->inbox().waiting() == 1; }));
  }
};

// A checkout made with Stripe's test keys (livemode false).
std::string testModeCheckout(const Clock& clock, const std::string& key) {
  std::string body = checkoutFor(clock, key);
  const std::string live = R"("livemode":true,"pending_webhooks")";
  body.replace(body.find(live), live.size(), R"("livemode":false,"pending_webhooks")");
  return body;
}

// A test-mode delivery stored as received, as an instance before the test-mode rule stored it.
void storeReceivedTestMode(const Fixture& f, const std::string& key) {
  f.db.exec("INSERT INTO webhook_deliveries (provider, delivery_id, event_type, status, livemode, raw_payload,"
            " received_at) VALUES ('stripe', 'evt_" + key + "', 'checkout.session.completed', 'received', false, "
            "$body$" + testModeCheckout(f.clock, key) + "$body$::jsonb, now())");
}

}  // namespace

TEST_CASE("a webhook is answered once its delivery is stored; the matching worker then makes the Purchase",
          "[intake]") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent be;
  be.event_time = now(f.clock) - 30;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout sc;
  sc.created = now(f.clock) - 10;
  auto r = postSigned(d, f.clock, stripeCheckoutEvent(sc));
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"stored\"") != std::string::npos);
  // Acknowledged: the delivery with its raw body is committed, nothing matched yet.
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries") == "received");
  CHECK(f.db.scalar("SELECT raw_payload->>'id' FROM webhook_deliveries") == "evt_1");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  f.clock.advance(5s);
  auto metrics = d.get("/metrics").body;
  CHECK(hasLine(metrics, "capi_webhooks_awaiting_match 1"));
  CHECK(hasLine(metrics, "capi_oldest_awaiting_match_age_seconds 5"));

  CHECK(d->matchReceived() == 1);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries") == "accepted");
  CHECK(f.db.scalar("SELECT count(*) FROM payments WHERE id = (SELECT payment_id FROM webhook_deliveries)") == "1");
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "browser-evt-1");
  CHECK(d->matchReceived() == 0);
  metrics = d.get("/metrics").body;
  CHECK(hasLine(metrics, "capi_webhooks_awaiting_match 0"));
  CHECK(hasLine(metrics, "capi_webhook_deliveries_matched_total{outcome=\"accepted\"} 1"));
  CHECK(hasLine(metrics, "capi_webhooks_total{provider=\"stripe\",outcome=\"stored\"} 1"));

  // A redelivery is a duplicate at once and gives the worker nothing to do.
  r = postSigned(d, f.clock, stripeCheckoutEvent(sc));
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"duplicate\"") != std::string::npos);
  CHECK(d->matchReceived() == 0);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
}

TEST_CASE("a Stripe test-mode payment is stored as ignored by a production instance, and matched by a staging one",
          "[intake]") {
  {
    Fixture f;
    auto cfg = testConfig(f.db);
    REQUIRE(cfg.production());
    TestDaemon d(cfg, f.clock);
    auto r = postSigned(d, f.clock, testModeCheckout(f.clock, "t1"));
    REQUIRE(r.status == 200);
    CHECK(r.body.find("\"ignored\"") != std::string::npos);
    CHECK(r.body.find("test-mode") != std::string::npos);
    CHECK(f.db.scalar("SELECT status || ' ' || livemode FROM webhook_deliveries") == "ignored false");
    CHECK(d->matchReceived() == 0);
    CHECK(f.db.scalar("SELECT count(*) FROM payments") == "0");
    CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");

    // Stored as received by an instance before this rule (or put back to received by hand):
    // matching, which reads the body again, ignores it too.
    storeReceivedTestMode(f, "t2");
    CHECK(d->matchReceived() == 1);
    CHECK(f.db.scalar("SELECT status FROM webhook_deliveries WHERE delivery_id = 'evt_t2'") == "ignored");
    CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  }
  {
    Fixture f;
    auto cfg = testConfig(f.db);
    cfg.environment = "staging";
    cfg.matching.wait_seconds = 0;   // no browser event here: sent unmatched at once
    TestDaemon d(cfg, f.clock);
    auto r = postSigned(d, f.clock, testModeCheckout(f.clock, "t1"));
    REQUIRE(r.status == 200);
    CHECK(r.body.find("\"stored\"") != std::string::npos);
    CHECK(d->matchReceived() == 1);
    CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  }
}

TEST_CASE("an instance without a Stripe endpoint takes a reload's environment for the deliveries it matches",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.environment = "staging";
  cfg.stripe.webhook_secrets.clear();   // this instance only matches what others stored
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  auto production = cfg;
  production.environment = "production";
  d->reload(production);

  storeReceivedTestMode(f, "r1");
  CHECK(d->matchReceived() == 1);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries") == "ignored");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
}

TEST_CASE("webhooks posted concurrently, each several times, are stored once each and acknowledged once as stored",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  constexpr int kOrders = 12;
  constexpr int kClients = 8;
  std::vector<std::string> bodies;
  for (int i = 0; i < kOrders; ++i) {
    bodies.push_back(checkoutFor(f.clock, "c" + std::to_string(i)));
  }
  std::mutex mu;
  std::map<std::string, int> stored, duplicate, other;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < kOrders; ++i) {
        const auto r = postSigned(d, f.clock, bodies[i]);
        std::lock_guard lock(mu);
        const std::string key = "evt_c" + std::to_string(i);
        if (r.status == 200 && r.body.find("\"stored\"") != std::string::npos)
          ++stored[key];
        else if (r.status == 200 && r.body.find("\"duplicate\"") != std::string::npos)
          ++duplicate[key];
        else
          ++other[key];
      }
    });
  }
  for (auto& c : clients) c.join();
  CHECK(other.empty());
  for (int i = 0; i < kOrders; ++i) {
    const std::string key = "evt_c" + std::to_string(i);
    INFO(key);
    CHECK(stored[key] == 1);
    CHECK(duplicate[key] == kClients - 1);
  }
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == std::to_string(kOrders));
  CHECK(d->matchReceived() == kOrders);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'accepted'") == std::to_string(kOrders));
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == std::to_string(kOrders));
  CHECK(f.db.scalar("SELECT count(DISTINCT event_id) FROM outbound_events") == std::to_string(kOrders));
}

TEST_CASE("requests arriving while a delivery is being written share the next transaction", "[intake]") {
  BlockedInbox b;
  auto& inbox = b.inbox;
  constexpr int kFollowers = 20;
  std::vector<std::atomic<int>> results(kFollowers);
  for (auto& r : results) r = -1;
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i)
    followers.emplace_back([&, i] { results[i] = inbox.store(delivery("evt_f" + std::to_string(i))) ? 1 : 0; });
  REQUIRE(pollUntil(20s, [&] { return inbox.waiting() == static_cast<size_t>(kFollowers); }));
  CHECK(inbox.writes() == 0);
  CHECK(inbox.unanswered() == kFollowers + 1);   // the twenty and the one being written
  b.release();
  b.first.join();
  for (auto& t : followers) t.join();
  CHECK(inbox.unanswered() == 0);
  CHECK(b.first_result == 0);   // the held transaction stored evt_block first: a duplicate
  for (int i = 0; i < kFollowers; ++i) {
    INFO("follower " << i);
    CHECK(results[i] == 1);
  }
  // One transaction for the blocked write, one for all twenty that queued behind it.
  CHECK(inbox.writes() == 2);
  CHECK(b.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'received'") == std::to_string(kFollowers));
}

TEST_CASE("a queue longer than one write's batch is written in turns, each request woken when its row is", "[intake]") {
  BlockedInbox b(4);
  auto& inbox = b.inbox;
  // Ten requests queue behind the blocked write. Once it ends, the first of them writes four,
  // wakes them and the next in line, which writes the next four, and so on: none is left waiting.
  constexpr int kFollowers = 10;
  std::vector<std::atomic<int>> results(kFollowers);
  for (auto& r : results) r = -1;
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.emplace_back([&, i] { results[i] = inbox.store(delivery("evt_t" + std::to_string(i))) ? 1 : 0; });
    // In order, so the turns are predictable.
    REQUIRE(pollUntil(20s, [&] { return inbox.waiting() == static_cast<size_t>(i + 1); }));
  }
  b.release();
  // A request nobody wakes would wait forever: fail (ending the process) instead of hanging.
  REQUIRE(pollUntil(20s, [&] {
    return std::all_of(results.begin(), results.end(), [](const auto& r) { return r != -1; });
  }));
  CHECK(inbox.unanswered() == 0);
  b.first.join();
  for (auto& t : followers) t.join();
  for (int i = 0; i < kFollowers; ++i) {
    INFO("follower " << i);
    CHECK(results[i] == 1);
  }
  CHECK(inbox.writes() == 1 + 3);   // the blocked write, then 4 + 4 + 2
  CHECK(b.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'received'") == std::to_string(kFollowers));
}

TEST_CASE("a delivery PostgreSQL refuses fails only its own request, not the batch it was written with",
          "[intake]") {
  BlockedInbox b;
  auto& inbox = b.inbox;
  // jsonb cannot hold U+0000; the endpoints refuse such bodies before they get here.
  std::atomic<bool> bad_failed{false};
  std::atomic<int> good_stored{0};
  std::vector<std::thread> followers;
  followers.emplace_back([&] {
    try {
      inbox.store(delivery("evt_bad", R"({"a":"\u0000"})"));
    } catch (const store::DatabaseUnavailable&) {
    } catch (const std::exception&) {
      bad_failed = true;
    }
  });
  for (int i = 0; i < 5; ++i)
    followers.emplace_back([&, i] {
      if (inbox.store(delivery("evt_good" + std::to_string(i)))) ++good_stored;
    });
  REQUIRE(pollUntil(20s, [&] { return inbox.waiting() == 6; }));
  b.release();
  b.first.join();
  for (auto& t : followers) t.join();
  CHECK(bad_failed);
  CHECK(good_stored == 5);
  CHECK(b.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE delivery_id LIKE 'evt_good%'") == "5");
  CHECK(b.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE delivery_id = 'evt_bad'") == "0");
}

TEST_CASE("a delivery twice in one write is stored from its first copy, which alone is told its row", "[intake]") {
  TestDatabase db;
  store::PgPool pool(db.url(), 4, 0);
  store::IngestStore ingest(pool);
  // Stripe sends one event to two endpoints (two API versions) at once: 20 deliveries, each
  // twice with different bodies, in an order the batch's sort must not change for equal keys.
  // The first copy of an odd delivery is copy 1 ({"copy":1}), of an even one copy 0.
  std::vector<store::DeliveryRecord> records;
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 19; i >= 0; --i)
      records.push_back(delivery("evt_" + std::to_string(i), R"({"copy":)" + std::to_string((pass + i) % 2) + "}"));
  std::vector<const store::DeliveryRecord*> batch;
  for (const auto& r : records) batch.push_back(&r);
  const auto rows = ingest.insertDeliveries(batch);
  REQUIRE(rows.size() == 40);
  for (std::size_t i = 0; i < 20; ++i) {
    INFO(records[i].delivery_id);
    REQUIRE(rows[i]);
    CHECK_FALSE(rows[i + 20]);
    CHECK(db.scalar("SELECT delivery_id || ' ' || (raw_payload = '" + records[i].raw_body +
                    "'::jsonb) FROM webhook_deliveries WHERE id = " + std::to_string(*rows[i])) ==
          records[i].delivery_id + " true");
  }
  CHECK(db.scalar("SELECT count(*) FROM webhook_deliveries") == "20");
  CHECK(ingest.insertDeliveries({&records[0]}) == std::vector<std::optional<int64_t>>{std::nullopt});
}

TEST_CASE("the inbox hands each request's stored row to its hook before any request of the write is answered",
          "[intake]") {
  BlockedInbox b;
  auto& inbox = b.inbox;

  std::atomic<int> answered{0};
  std::mutex mu;
  struct Call {
    std::string request;
    int64_t row;
    int answered;             // requests of the write whose store() had returned when the hook ran
    std::size_t unanswered;   // requests the inbox had not answered when the hook ran
  };
  std::vector<Call> calls;
  std::map<std::string, std::optional<int64_t>> results;
  std::vector<std::thread> followers;
  // Four new deliveries, one of them twice (one copy a duplicate), one PostgreSQL refuses (the
  // write is retried one delivery at a time), and a hook that throws.
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"a", "evt_a"}, {"b", "evt_b"}, {"b-again", "evt_b"}, {"bad", "evt_bad"}, {"c", "evt_c"}, {"throws", "evt_d"}};
  for (const auto& [name, id] : requests)
    followers.emplace_back([&, name = name, id = id] {
      const auto d = delivery(id, name == "bad" ? R"({"a":"\u0000"})" : R"({"id":"x"})");
      std::function<void(int64_t)> hook = [&, name](int64_t row) {
        {
          std::lock_guard lock(mu);
          calls.push_back({name, row, answered.load(), inbox.unanswered()});
        }
        if (name == "throws") throw std::runtime_error("hook failed");
      };
      std::optional<int64_t> row;
      try {
        row = inbox.store(d, hook);
      } catch (const std::exception&) {
        ++answered;   // refused: no row
        return;
      }
      ++answered;
      std::lock_guard lock(mu);
      results[name] = row;
    });
  REQUIRE(pollUntil(20s, [&] { return inbox.waiting() == requests.size(); }));
  b.release();
  b.first.join();
  for (auto& t : followers) t.join();

  CHECK(results.count("bad") == 0);   // refused
  REQUIRE(results["throws"]);          // the hook's failure changes nothing
  CHECK(results["b"].has_value() != results["b-again"].has_value());
  std::map<std::string, int64_t> hooked;
  for (const auto& c : calls) {
    INFO(c.request);
    CHECK(c.answered == 0);
    CHECK(c.unanswered == requests.size());   // the whole write, none of it answered yet
    CHECK(hooked.emplace(c.request, c.row).second);   // once each
  }
  std::map<std::string, int64_t> stored;
  for (const auto& [name, row] : results)
    if (row) stored.emplace(name, *row);
  auto text = [](const std::map<std::string, int64_t>& m) {
    std::string out;
    for (const auto& [name, row] : m) out += name + "=" + std::to_string(row) + " ";
    return out;
  };
  CHECK(text(hooked) == text(stored));   // every stored request, with its row; none for a duplicate or a refusal
  CHECK(stored.size() == 4);
}

TEST_CASE("a delivery the matching worker cannot process is marked failed; the others in its batch are matched",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  // A payment the database refuses (as a broken constraint or a bug would), in the middle of a batch.
  f.db.exec("CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.payment_key = 'pi_bad' THEN RAISE EXCEPTION 'refused by test trigger'; END IF;"
            " RETURN NEW; END $$");
  f.db.exec("CREATE TRIGGER refuse_bad BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION refuse_bad()");
  for (const std::string id : {"a", "bad", "b"}) {
    REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, id)).status == 200);
  }
  // Matched from what was read on arrival, in the batch and again one at a time: their stored
  // bodies no longer say it.
  f.db.exec("UPDATE webhook_deliveries SET raw_payload = '{\"id\":1}' WHERE delivery_id IN ('evt_a', 'evt_b')");
  // One a later parser cannot read any more.
  f.db.exec("INSERT INTO webhook_deliveries (provider, delivery_id, event_type, status, raw_payload, received_at)"
            " VALUES ('stripe', 'evt_unreadable', 'checkout.session.completed', 'received', '{\"id\":1}', now())");
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'received'") == "4");

  CHECK(d->matchReceived() == 4);
  CHECK(f.db.scalar("SELECT string_agg(delivery_id || '=' || status, ' ' ORDER BY delivery_id)"
                    " FROM webhook_deliveries") == "evt_a=accepted evt_b=accepted evt_bad=failed evt_unreadable=failed");
  CHECK(f.db.scalar("SELECT status_reason FROM webhook_deliveries WHERE delivery_id = 'evt_bad'")
            .find("refused by test trigger") != std::string::npos);
  CHECK(f.db.scalar("SELECT status_reason FROM webhook_deliveries WHERE delivery_id = 'evt_unreadable'")
            .find("cannot be read again") != std::string::npos);
  CHECK(f.db.scalar("SELECT string_agg(order_ref, ' ' ORDER BY order_ref) FROM outbound_events") == "ORDER-a ORDER-b");
  const auto metrics = d.get("/metrics").body;
  CHECK(hasLine(metrics, "capi_webhook_deliveries_matched_total{outcome=\"failed\"} 2"));
  CHECK(hasLine(metrics, "capi_webhook_matching_batches_split_total 1"));
  CHECK(d->matchReceived() == 0);
}

TEST_CASE("the retention purge keeps deliveries the worker has not matched yet, with their bodies", "[intake]") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(sc)).status == 200);
  store::PgPool pool(f.db.url(), 1, 0);
  store::IngestStore ingest(pool);
  const TimePoint later = f.clock.now() + std::chrono::hours(24 * 400);
  CHECK(ingest.purge(later, later).raw_bodies == 0);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE raw_payload IS NOT NULL") == "1");
  CHECK(d->matchReceived() == 1);
  const auto purged = ingest.purge(later, later);
  CHECK(purged.raw_bodies == 1);
  CHECK(purged.deliveries == 1);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "0");
}

TEST_CASE("two webhooks for one order matched in the same batch make one payment and one Purchase", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  // Stored before the worker runs, so one batch holds both; a third order rides along.
  REQUIRE(postSigned(d, f.clock, stripePaymentIntentSucceeded("evt_pi", "pi_1", 1999, "eur", now(f.clock))).status ==
          200);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(sc)).status == 200);
  StripeCheckout other;
  other.event_id = "evt_other";
  other.session_id = "cs_other";
  other.payment_intent = "pi_other";
  other.client_reference_id = "ORDER-2";
  other.created = now(f.clock);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(other)).status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'received'") == "3");

  CHECK(d->matchReceived() == 3);
  CHECK(f.db.scalar("SELECT string_agg(delivery_id || '=' || status, ' ' ORDER BY delivery_id)"
                    " FROM webhook_deliveries") == "evt_1=duplicate_order evt_other=accepted evt_pi=accepted");
  // In one transaction: the second webhook found the payment the first created in the batch.
  CHECK(d.get("/metrics").body.find("\ncapi_webhook_matching_batches_split_total ") == std::string::npos);
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "2");
  CHECK(f.db.scalar("SELECT count(DISTINCT payment_id) FROM webhook_deliveries WHERE delivery_id IN ('evt_1', 'evt_pi')") ==
        "1");
  // The checkout session's order reference and ids were merged into the payment the
  // payment_intent created.
  CHECK(f.db.scalar("SELECT order_ref || ' ' || array_to_string(object_ids, ',') FROM payments WHERE payment_key = 'pi_1'")
            .find("ORDER-1") == 0);
  CHECK(f.db.scalar("SELECT 'cs_test_1' = ANY(object_ids) FROM payments WHERE payment_key = 'pi_1'") == "t");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE payment_id = (SELECT id FROM payments WHERE"
                    " payment_key = 'pi_1')") == "1");
}

TEST_CASE("orders of one batch deriving the same event_id are written together; the later ones use their own ids",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.pixels.push_back({"second", "222", ""});
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  // Three orders of one customer (a customer id as client_reference_id) and no browser event:
  // each derives the event_id "cus_9". They are inserted in one statement, where the first takes
  // the id on both pixels and the rows of the other two are skipped.
  StripeCheckout first;
  first.client_reference_id = "cus_9";
  first.created = now(f.clock);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(first)).status == 200);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(anotherOrder(first, "2"))).status == 200);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(anotherOrder(first, "3"))).status == 200);
  CHECK(d->matchReceived() == 3);
  CHECK(d.get("/metrics").body.find("\ncapi_webhook_matching_batches_split_total ") == std::string::npos);
  CHECK(f.db.scalar("SELECT string_agg(p.payment_key || ':' || o.pixel_id || '=' || o.event_id, ' '"
                    " ORDER BY p.payment_key, o.pixel_id) FROM outbound_events o JOIN payments p ON p.id = o.payment_id") ==
        "pi_1:111=cus_9 pi_1:222=cus_9 pi_2:111=pi_2 pi_2:222=pi_2 pi_3:111=pi_3 pi_3:222=pi_3");
  CHECK(f.db.scalar("SELECT string_agg(payment_key || '=' || status, ' ' ORDER BY payment_key) FROM payments") ==
        "pi_1=unmatched pi_2=unmatched pi_3=unmatched");
  // Each delivery is linked to its own payment.
  CHECK(f.db.scalar("SELECT count(DISTINCT w.payment_id) FROM webhook_deliveries w JOIN payments p ON p.id = w.payment_id"
                    " WHERE w.status = 'accepted'") == "3");
}

TEST_CASE("a second webhook of an order new in the batch has its payment written first; later orders still find"
          " their event_id taken", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  // One batch: an order of customer cus_5 (derived event_id "cus_5"), its payment_intent webhook
  // (the merge needs the payment written), then another order of cus_5, whose lookup at the start
  // of the batch found "cus_5" free. It is written by a second insert and finds it taken there.
  StripeCheckout first;
  first.client_reference_id = "cus_5";
  first.created = now(f.clock);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(first)).status == 200);
  REQUIRE(postSigned(d, f.clock, stripePaymentIntentSucceeded("evt_pi", "pi_1", 1999, "eur", now(f.clock))).status ==
          200);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(anotherOrder(first, "2"))).status == 200);
  CHECK(d->matchReceived() == 3);
  CHECK(d.get("/metrics").body.find("\ncapi_webhook_matching_batches_split_total ") == std::string::npos);
  CHECK(f.db.scalar("SELECT string_agg(w.delivery_id || '=' || w.status || '/' || p.payment_key, ' '"
                    " ORDER BY w.delivery_id) FROM webhook_deliveries w JOIN payments p ON p.id = w.payment_id") ==
        "evt_1=accepted/pi_1 evt_2=accepted/pi_2 evt_pi=duplicate_order/pi_1");
  CHECK(f.db.scalar("SELECT string_agg(p.payment_key || '=' || o.event_id, ' ' ORDER BY p.payment_key)"
                    " FROM outbound_events o JOIN payments p ON p.id = o.payment_id") == "pi_1=cus_5 pi_2=pi_2");
}

TEST_CASE("a batch writes matched and waiting payments together, references with any characters intact",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  TestDaemon d(cfg, f.clock);
  BrowserEvent be;
  be.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout matched;   // ORDER-1: its browser Purchase is there
  matched.created = now(f.clock);
  StripeCheckout waiting = anotherOrder(matched, "2");
  waiting.client_reference_id = R"(o"r,d{e}r\ 2')";
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(matched)).status == 200);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(waiting)).status == 200);
  CHECK(d->matchReceived() == 2);
  CHECK(f.db.scalar("SELECT string_agg(payment_key || '=' || status || '/' || (client_event_id IS NOT NULL) || '/' ||"
                    " (resolved_at IS NOT NULL), ' ' ORDER BY payment_key) FROM payments") ==
        "pi_1=matched/true/true pi_2=waiting/false/false");
  CHECK(f.db.scalar("SELECT order_ref FROM payments WHERE payment_key = 'pi_2'") == waiting.client_reference_id);
  CHECK(f.db.scalar("SELECT order_ref = ANY(refs) AND 'cs_test_2' = ANY(object_ids) AND 'pi_2' = ANY(object_ids)"
                    " FROM payments WHERE payment_key = 'pi_2'") == "t");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  // Its browser Purchase arrives, naming the reference as the shop wrote it.
  BrowserEvent own;
  own.event_id = "browser-evt-2";
  own.order_ref = waiting.client_reference_id;
  own.event_time = now(f.clock);
  REQUIRE(d.post("/v1/events", browserEventJson(own)).status == 202);
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_2'") == "matched");
  CHECK(f.db.scalar("SELECT string_agg(event_id, ' ' ORDER BY event_id) FROM outbound_events") ==
        "browser-evt-1 browser-evt-2");
}

TEST_CASE("two orders naming one browser Purchase in the same batch; the first takes it, the second waits for its own",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.pixels.push_back({"second", "222", ""});
  TestDaemon d(cfg, f.clock);
  BrowserEvent be;
  be.order_ref = "cus_7";   // a customer id used as client_reference_id: shared by orders
  be.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout first;
  first.client_reference_id = "cus_7";
  first.created = now(f.clock);
  StripeCheckout second = anotherOrder(first, "2");
  // Also derived ids collide for both (same order reference) if they went unmatched.
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(first)).status == 200);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(second)).status == 200);
  CHECK(d->matchReceived() == 2);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
  CHECK(f.db.scalar("SELECT string_agg(DISTINCT o.event_id || ' ' || o.matched, ',') FROM outbound_events o"
                    " JOIN payments p ON p.id = o.payment_id WHERE p.payment_key = 'pi_1'") == "browser-evt-1 true");
  CHECK(f.db.scalar("SELECT string_agg(payment_key || '=' || status, ' ' ORDER BY payment_key) FROM payments") ==
        "pi_1=matched pi_2=waiting");
  // Its deadline passed without a browser event of its own: sent unmatched, under an id the
  // first order does not use, to both pixels.
  f.clock.advance(std::chrono::seconds(601));
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events o JOIN payments p ON p.id = o.payment_id"
                    " WHERE p.payment_key = 'pi_2' AND NOT o.matched AND o.event_id <> 'browser-evt-1'") == "2");
}

TEST_CASE("the second order of a batch naming a taken browser Purchase goes out without it when nothing waits",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  BrowserEvent be;
  be.order_ref = "cus_8";
  be.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout first;
  first.client_reference_id = "cus_8";
  first.created = now(f.clock);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(first)).status == 200);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(anotherOrder(first, "2"))).status == 200);
  CHECK(d->matchReceived() == 2);
  // The first order took the browser event; the second is sent unmatched, neither linked to
  // it nor carrying its cookies.
  CHECK(f.db.scalar("SELECT string_agg(payment_key || '=' || status || '/' || (client_event_id IS NOT NULL),"
                    " ' ' ORDER BY payment_key) FROM payments") == "pi_1=matched/true pi_2=unmatched/false");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events o JOIN payments p ON p.id = o.payment_id"
                    " WHERE p.payment_key = 'pi_2' AND NOT o.matched AND o.payload->'user_data' ? 'fbc'") == "0");
}

TEST_CASE("matching waits for the order's lock held by another transaction, then matches", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(sc)).status == 200);
  // Another instance's matching transaction working on the same order.
  HeldTransaction other(f.db.url(), "SELECT pg_advisory_xact_lock(hashtextextended('stripe:pi_1', 0))");
  auto matched = std::async(std::launch::async, [&] { return d->matchReceived(); });
  CHECK(matched.wait_for(700ms) == std::future_status::timeout);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries") == "received");
  other.commit();
  REQUIRE(matched.wait_for(20s) == std::future_status::ready);
  CHECK(matched.get() == 1);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries") == "accepted");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
}

TEST_CASE("a passing database error leaves the delivery queued; it is matched at a later round", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  // As a lock timeout would: SQLSTATE 55P03 lock_not_available.
  f.db.exec("CREATE FUNCTION busy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.payment_key = 'pi_busy' THEN RAISE EXCEPTION 'busy' USING ERRCODE = 'lock_not_available'; END IF;"
            " RETURN NEW; END $$");
  f.db.exec("CREATE TRIGGER busy BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION busy()");
  for (const std::string id : {"a", "busy"}) {
    REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, id)).status == 200);
  }
  CHECK(d->matchReceived() == 1);
  CHECK(f.db.scalar("SELECT string_agg(delivery_id || '=' || status, ' ' ORDER BY delivery_id)"
                    " FROM webhook_deliveries") == "evt_a=accepted evt_busy=received");
  f.db.exec("DROP TRIGGER busy ON payments");
  CHECK(d->matchReceived() == 1);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries WHERE delivery_id = 'evt_busy'") == "accepted");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
}

TEST_CASE("a webhook matched after waiting in the queue counts its wait for the browser event from its arrival",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 60;
  TestDaemon d(cfg, f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock) - 5;
  REQUIRE(postSigned(d, f.clock, stripeCheckoutEvent(sc)).status == 200);
  const int64_t arrived = now(f.clock);
  f.clock.advance(std::chrono::seconds(90));   // matching was behind by more than the wait
  CHECK(d->matchReceived() == 1);
  // Resolved at once, unmatched, instead of waiting another 60 s from now.
  CHECK(f.db.scalar("SELECT status || ' ' || extract(epoch from match_deadline)::bigint FROM payments") ==
        "unmatched " + std::to_string(arrived + 60));
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
}

TEST_CASE("a stored webhook wakes a matching thread at once, without waiting for its poll", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  cfg.matching.workers = 1;
  // Background threads on, and a poll so long that only the wake-up can match the webhooks.
  TestDaemon d(cfg, f.clock, true, std::chrono::hours(1));
  auto accepted = [&] { return f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'accepted'"); };
  auto post = [&](const std::string& key) { REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, key)).status == 200); };
  // The first may be taken by the thread's first round, at start; once it is matched, that
  // round is over, and only a wake-up can take the second.
  post("1");
  REQUIRE(pollUntil(20s, [&] { return accepted() == "1"; }));
  // Past the rest after that batch: a wake-up the first webhook left unused is spent by then.
  std::this_thread::sleep_for(500ms);
  post("2");
  CHECK(pollUntil(20s, [&] { return accepted() == "2"; }));
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
}

TEST_CASE("webhooks stored while a matching thread rests after a short batch are matched in one transaction",
          "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  cfg.matching.workers = 1;
  // Polls never come; a rest long enough that storing three more webhooks surely fits inside it.
  TestDaemon d(cfg, f.clock, true, std::chrono::hours(1), 3s);
  std::this_thread::sleep_for(500ms);   // the thread's first round (at start) is over
  auto post = [&](const std::string& key) { REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, key)).status == 200); };
  post("1");
  REQUIRE(pollUntil(20s, [&] { return f.db.scalar("SELECT status FROM webhook_deliveries") == "accepted"; }));
  for (const char* key : {"2", "3", "4"}) post(key);
  REQUIRE(pollUntil(20s, [&] {
    return f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'accepted'") == "4";
  }));
  // One transaction wrote the last three: their rows carry one transaction id.
  CHECK(f.db.scalar("SELECT count(DISTINCT xmin::text) FROM webhook_deliveries WHERE delivery_id <> 'evt_1'") == "1");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "4");
}

TEST_CASE("stopping does not wait for a matching thread's or dispatch worker's rest to end", "[intake]") {
  Fixture f;
  FakeGraphServer graph;
  auto cfg = testConfig(f.db);
  useGraph(cfg, graph);
  cfg.matching.wait_seconds = 0;
  auto d = std::make_unique<TestDaemon>(cfg, f.clock, true, std::chrono::hours(1), std::chrono::hours(1));
  std::this_thread::sleep_for(500ms);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(postSigned(*d, f.clock, stripeCheckoutEvent(sc)).status == 200);
  // A matching thread matched it and a dispatch worker sent it: both now rest for an hour.
  REQUIRE(graph.waitForRequests(1, 20s));
  REQUIRE(pollUntil(20s, [&] { return f.db.scalar("SELECT status FROM outbound_events") == "sent"; }));
  std::this_thread::sleep_for(300ms);   // the worker has recorded the send and started its rest
  const auto t0 = std::chrono::steady_clock::now();
  (*d)->stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);
}

TEST_CASE("while webhooks wait for their acknowledgement, a matching thread rests after a full batch", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  cfg.matching.workers = 1;
  storeBacklog(f, cfg, 150);
  auto accepted = [&] { return f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'accepted'"); };
  // The matching thread's first batch (100 of the backlog) waits for the browser-event lookups.
  auto lookups = holdLookups(f.db);
  TestDaemon d(cfg, f.clock, true, std::chrono::hours(1), std::chrono::hours(1));
  ReleaseFirst release{lookups};
  REQUIRE(pollUntil(20s, [&] { return sessionWaits(f.db, "WITH q AS"); }));
  AwaitedAcknowledgements awaited(f, d);

  lookups.reset();   // the first batch completes while an acknowledgement waits
  REQUIRE(pollUntil(20s, [&] { return accepted() == "100"; }));
  std::this_thread::sleep_for(1s);
  // The thread rests (an hour here) instead of taking the rest of the backlog.
  CHECK(accepted() == "100");
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'received'") == "50");
  awaited.blocked.held.commit();   // the blocked write finds evt_block stored: a duplicate, answered 200
  CHECK(awaited.writer.get() == 200);
  CHECK(awaited.follower.get() == 200);
  // No webhook waits any more: the hour's rest ends, and the rest of the backlog and the
  // follower are matched.
  CHECK(pollUntil(20s, [&] { return accepted() == "151"; }));
}

TEST_CASE("a rest during a burst is three times the full batch it follows, the short rest at least, 2 s at most",
          "[intake]") {
  using std::chrono::milliseconds;
  CHECK(app::burstRest(1ms, milliseconds(25)) == 25ms);
  CHECK(app::burstRest(100ms, milliseconds(25)) == 300ms);
  CHECK(app::burstRest(600ms, milliseconds(25)) == 1800ms);
  CHECK(app::burstRest(1s, milliseconds(25)) == 2s);
  CHECK(app::burstRest(10s, milliseconds(25)) == 2s);
  CHECK(app::burstRest(1s, std::chrono::hours(1)) == std::chrono::hours(1));   // a longer short rest wins
}

TEST_CASE("during a burst a matching thread rests longer after a slow full batch, and then goes on", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  cfg.matching.workers = 1;
  storeBacklog(f, cfg, 150);
  auto accepted = [&] { return f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'accepted'"); };
  // The first batch (100 of the backlog) is held up for over a second by the browser-event lookups.
  auto lookups = holdLookups(f.db);
  // A rest of 10 ms after a short batch: without the burst rule the rest of the backlog would follow at once.
  TestDaemon d(cfg, f.clock, true, std::chrono::hours(1), 10ms);
  ReleaseFirst release{lookups};
  REQUIRE(pollUntil(20s, [&] { return sessionWaits(f.db, "WITH q AS"); }));
  AwaitedAcknowledgements awaited(f, d);
  std::this_thread::sleep_for(1s);

  lookups.reset();   // the batch took over a second: the thread rests 2 s (burstRest)
  REQUIRE(pollUntil(20s, [&] { return accepted() == "100"; }));
  std::this_thread::sleep_for(200ms);
  CHECK(accepted() == "100");
  // The acknowledgement still waits, yet after the rest the thread matches the rest of the backlog.
  CHECK(d->inbox().waiting() == 1);
  CHECK(pollUntil(20s, [&] { return accepted() == "150"; }));
  CHECK(d->inbox().waiting() == 1);
  awaited.blocked.held.commit();
  CHECK(awaited.writer.get() == 200);
  CHECK(awaited.follower.get() == 200);
}

TEST_CASE("an invoice payment in API version 2025-03-31 with payment_intent.succeeded also paid raises the split gauge") {
  Fixture f;
  const auto withVersion = [](std::string body, const std::string& version) {
    const std::string anchor = R"("object":"event",)";
    REQUIRE(body.find(anchor) != std::string::npos);
    return body.replace(body.find(anchor), anchor.size(), anchor + R"("api_version":")" + version + "\",");
  };
  // An invoice as API version 2025-03-31 writes it: no payment_intent.
  const auto invoice = [&](const std::string& id) {
    const std::string t = std::to_string(now(f.clock));
    return withVersion(R"({"id":"evt_)" + id + R"(","object":"event","created":)" + t +
                           R"(,"livemode":true,"type":"invoice.paid","data":{"object":{"id":"in_)" + id +
                           R"(","object":"invoice","amount_paid":1200,"currency":"eur","created":)" + t +
                           R"(,"customer_email":"a@example.com","status":"paid","status_transitions":{"paid_at":)" +
                           t + "}}}}",
                       "2025-03-31.basil");
  };
  const auto gauge = [](TestDaemon& d) {
    const auto m = d.get("/metrics").body;
    return hasLine(m, "capi_stripe_invoice_payments_split 1") ? 1 : hasLine(m, "capi_stripe_invoice_payments_split 0") ? 0 : -1;
  };
  TestDaemon d(testConfig(f.db), f.clock);   // default paid types: payment_intent.succeeded and invoice.paid
  CHECK(gauge(d) == 0);
  // A PaymentIntent names itself: it says nothing either way, in any version.
  REQUIRE(postSigned(d, f.clock, withVersion(stripePaymentIntentSucceeded("evt_pi", "pi_1", 1200, "eur", now(f.clock)),
                                             "2025-03-31.basil")).status == 200);
  CHECK(gauge(d) == 0);
  // An invoice that does not name its PaymentIntent: that PaymentIntent's webhook could not be joined.
  const auto r = postSigned(d, f.clock, invoice("1"));
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"stored\"") != std::string::npos);   // still taken: the gauge and the log say it
  CHECK(gauge(d) == 1);
  // The list fixed and reloaded: the next such payment clears it.
  auto fixed = testConfig(f.db);
  fixed.stripe.paid_event_types = {"checkout.session.completed", "invoice.paid"};
  d->reload(fixed);
  CHECK(gauge(d) == 1);
  REQUIRE(postSigned(d, f.clock, invoice("2")).status == 200);
  CHECK(gauge(d) == 0);
}

TEST_CASE("the matching worker takes what the endpoint read on arrival; after a reload, or for a delivery it did"
          " not receive, it reads the stored body", "[intake]") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;   // no browser event here: sent unmatched at once
  TestDaemon d(cfg, f.clock);
  auto damage = [&](const std::string& delivery_id) {
    // The stored body no longer says what arrived: only the reading kept on arrival matches it.
    f.db.exec("UPDATE webhook_deliveries SET raw_payload = '{\"id\":1}' WHERE delivery_id = '" + delivery_id + "'");
  };
  auto status = [&](const std::string& delivery_id) {
    return f.db.scalar("SELECT status || ' ' || coalesce(status_reason, '') FROM webhook_deliveries"
                       " WHERE delivery_id = '" + delivery_id + "'");
  };

  REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, "held")).status == 200);
  damage("evt_held");
  CHECK(d->matchReceived() == 1);
  CHECK(status("evt_held") == "accepted ");
  CHECK(d.get("/metrics").body.find("capi_webhook_bodies_read_again_total 1") == std::string::npos);
  CHECK(f.db.scalar("SELECT order_ref FROM outbound_events") == "ORDER-held");

  // Read under settings a reload has replaced: read again under the new ones, which no longer
  // count a checkout as paid.
  REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, "reloaded")).status == 200);
  auto fewer = cfg;
  fewer.stripe.paid_event_types = {"invoice.paid"};
  d->reload(fewer);
  CHECK(d->matchReceived() == 1);
  CHECK(status("evt_reloaded").rfind("ignored ", 0) == 0);
  CHECK(hasLine(d.get("/metrics").body, "capi_webhook_bodies_read_again_total 1"));
  d->reload(cfg);

  // One batch of a delivery held and two that are not (stored by another instance): each is
  // matched from its own reading.
  REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, "mixed-held")).status == 200);
  damage("evt_mixed-held");
  for (const std::string key : {"mixed-1", "mixed-2"})
    f.db.exec("INSERT INTO webhook_deliveries (provider, delivery_id, event_type, status, raw_payload, received_at)"
              " VALUES ('stripe', 'evt_" + key + "', 'checkout.session.completed', 'received', $b$" +
              checkoutFor(f.clock, key) + "$b$, now())");
  CHECK(d->matchReceived() == 3);
  CHECK(f.db.scalar("SELECT string_agg(d.delivery_id || '=' || p.order_ref, ' ' ORDER BY d.id)"
                    " FROM webhook_deliveries d JOIN payments p ON p.id = d.payment_id"
                    " WHERE d.delivery_id LIKE 'evt_mixed%'") ==
        "evt_mixed-held=ORDER-mixed-held evt_mixed-1=ORDER-mixed-1 evt_mixed-2=ORDER-mixed-2");
  CHECK(hasLine(d.get("/metrics").body, "capi_webhook_bodies_read_again_total 3"));

  // Received by this instance, matched by another one: that one reads the stored body.
  REQUIRE(postSigned(d, f.clock, checkoutFor(f.clock, "elsewhere")).status == 200);
  damage("evt_elsewhere");
  {
    TestDaemon other(cfg, f.clock);
    CHECK(other->matchReceived() == 1);
  }
  CHECK(status("evt_elsewhere").find("failed cannot be read again") == 0);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "4");
}
