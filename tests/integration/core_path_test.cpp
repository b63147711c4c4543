// The core path against real PostgreSQL and real HTTP: browser events in, Stripe webhooks
// verified and matched, exactly one deduplicable Purchase per order and pixel.
#include "dispatch/dispatcher.h"
#include "matching/matcher.h"
#include "store/ingest_store.h"
#include "store/pg_pool.h"
#include "support/process.h"
#include "support/test_daemon.h"
#include "support/test_env.h"
#include "webhooks/stripe/stripe_signature.h"

#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace capi;
using namespace capi::testing;

namespace {

const TimePoint kStart = fromUnixSeconds(1795000000);

struct Fixture {
  TestDatabase db;
  ManualClock clock{kStart};
};

int64_t now(const ManualClock& c) { return toUnixSeconds(c.now()); }

// The payment keys the sweep would claim at the fixture's time (rolled back, nothing changes).
std::vector<std::string> sweepClaims(const Fixture& f) {
  store::PgPool pool(f.db.url(), 1, 0);
  store::IngestStore ingest(pool);
  std::vector<std::string> claimed;
  ingest.inTransaction([&](store::MatchTx& tx) {
    for (const auto& p : tx.claimWaiting(10, f.clock.now())) claimed.push_back(p.payment_key);
  });
  return claimed;
}

// "event_id matched" of the Purchases queued for a payment, comma-separated.
std::string purchasesOf(const Fixture& f, const std::string& payment_key) {
  return f.db.scalar("SELECT string_agg(o.event_id || ' ' || o.matched, ',') FROM outbound_events o"
                     " JOIN payments p ON p.id = o.payment_id WHERE p.payment_key = '" + payment_key + "'");
}

}  // namespace

TEST_CASE("a browser event followed by its webhook yields one Purchase carrying the browser event_id and time") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent be;
  be.event_time = now(f.clock) - 5;
  auto r = d.post("/v1/events", browserEventJson(be));
  REQUIRE(r.status == 202);
  f.clock.advance(std::chrono::minutes(3));
  StripeCheckout sc;
  sc.created = now(f.clock) - 2;
  r = d.postStripe(stripeCheckoutEvent(sc));
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"stored\"") != std::string::npos);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries") == "accepted");

  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "browser-evt-1");
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint FROM outbound_events") ==
        std::to_string(be.event_time));
  CHECK(f.db.scalar("SELECT matched FROM outbound_events") == "t");
  CHECK(f.db.scalar("SELECT status FROM outbound_events") == "dry_run");
  CHECK(f.db.scalar("SELECT payload->>'event_time' FROM outbound_events") == std::to_string(be.event_time));
  CHECK(f.db.scalar("SELECT payload->'user_data'->>'fbc' FROM outbound_events") == be.fbc);
  CHECK(f.db.scalar("SELECT payload->'user_data'->>'em' FROM outbound_events") ==
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f");
  CHECK(f.db.scalar("SELECT payload->'custom_data'->>'value' FROM outbound_events") == "19.99");
  CHECK(f.db.scalar("SELECT payload->'custom_data'->>'currency' FROM outbound_events") == "EUR");
  CHECK(f.db.scalar("SELECT payload->>'action_source' FROM outbound_events") == "website");
}

TEST_CASE("a webhook that arrives 30 s before its browser event still carries the browser event_id and time") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  auto r = d.postStripe(stripeCheckoutEvent(sc));
  REQUIRE(r.status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  CHECK(f.db.scalar("SELECT status FROM payments") == "waiting");

  f.clock.advance(std::chrono::seconds(30));
  BrowserEvent be;
  be.event_time = now(f.clock) - 40;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "browser-evt-1");
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint FROM outbound_events") ==
        std::to_string(be.event_time));
  CHECK(f.db.scalar("SELECT status FROM payments") == "matched");
}

TEST_CASE("a payment with no browser event within the wait is sent once, unmatched, with the derived event_id") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 600;
  TestDaemon d(cfg, f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock) - 20;
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  f.clock.advance(std::chrono::seconds(599));
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  f.clock.advance(std::chrono::seconds(2));
  d->maintenance();
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "ORDER-1");
  CHECK(f.db.scalar("SELECT matched FROM outbound_events") == "f");
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint FROM outbound_events") ==
        std::to_string(sc.created));
  CHECK(f.db.scalar("SELECT status FROM payments") == "unmatched");
}

TEST_CASE("matching.unmatched = drop records the payment and queues nothing") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 10;
  cfg.matching.unmatched = config::UnmatchedPolicy::Drop;
  TestDaemon d(cfg, f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  f.clock.advance(std::chrono::seconds(11));
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  CHECK(f.db.scalar("SELECT status FROM payments") == "dropped");
}

TEST_CASE("ten redeliveries plus payment_intent.succeeded for the same payment yield one row per pixel") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.pixels.push_back({"second", "222", ""});
  TestDaemon d(cfg, f.clock);
  BrowserEvent be;
  be.event_time = now(f.clock);
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout sc;
  sc.created = now(f.clock);
  const auto body = stripeCheckoutEvent(sc);
  for (int i = 0; i < 10; ++i) {
    auto r = d.postStripe(body);
    REQUIRE(r.status == 200);
    if (i > 0) CHECK(r.body.find("\"duplicate\"") != std::string::npos);
  }
  auto r = d.postStripe(stripePaymentIntentSucceeded("evt_2", "pi_1", 1999, "eur", now(f.clock)));
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"stored\"") != std::string::npos);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries WHERE delivery_id = 'evt_2'") == "duplicate_order");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
  CHECK(f.db.scalar("SELECT count(DISTINCT pixel_id) FROM outbound_events") == "2");
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "2");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "1");
}

TEST_CASE("payment_intent.succeeded before checkout.session.completed still yields one row, with the order reference") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  REQUIRE(d.postStripe(stripePaymentIntentSucceeded("evt_pi", "pi_1", 1999, "eur", now(f.clock))).status == 200);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  BrowserEvent be;
  be.event_time = now(f.clock);
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "browser-evt-1");
}

TEST_CASE("an unpaid checkout session and an unknown event type are recorded as ignored and answered 200") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  StripeCheckout sc;
  sc.payment_status = "unpaid";
  sc.created = now(f.clock);
  auto r = d.postStripe(stripeCheckoutEvent(sc));
  CHECK(r.status == 200);
  CHECK(r.body.find("ignored") != std::string::npos);
  StripeCheckout other = sc;
  other.event_id = "evt_other";
  other.type = "customer.created";
  CHECK(d.postStripe(stripeCheckoutEvent(other)).status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'ignored'") == "2");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
}

TEST_CASE("rejected Stripe deliveries get 400 and leave nothing stored") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  const std::string body = stripeCheckoutEvent(sc);
  const int64_t t = now(f.clock);
  const std::string good = webhooks::stripe::StripeSignatureVerifier::sign(kStripeSecret, t, body);
  auto post = [&](const std::string& b, const std::string& header) {
    std::map<std::string, std::string> h{{"Content-Type", "application/json"}};
    if (!header.empty()) h["Stripe-Signature"] = header;
    return d.post("/webhooks/stripe", b, h);
  };

  SECTION("tampered body") { CHECK(post(body + " ", good).status == 400); }
  SECTION("wrong secret") {
    CHECK(post(body, webhooks::stripe::StripeSignatureVerifier::sign("whsec_other", t, body)).status == 400);
  }
  SECTION("stale timestamp") {
    CHECK(post(body, webhooks::stripe::StripeSignatureVerifier::sign(kStripeSecret, t - 301, body)).status == 400);
  }
  SECTION("future timestamp") {
    CHECK(post(body, webhooks::stripe::StripeSignatureVerifier::sign(kStripeSecret, t + 301, body)).status == 400);
  }
  SECTION("missing header") { CHECK(post(body, "").status == 400); }
  SECTION("garbage header") { CHECK(post(body, "garbage,,=").status == 400); }
  SECTION("valid signature over a non-JSON body") {
    const std::string junk = "this is not json";
    CHECK(post(junk, webhooks::stripe::StripeSignatureVerifier::sign(kStripeSecret, t, junk)).status == 400);
  }
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
}

TEST_CASE("two v1 entries where only the second is valid are accepted") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  const std::string body = stripeCheckoutEvent(sc);
  const int64_t t = now(f.clock);
  const std::string good = webhooks::stripe::StripeSignatureVerifier::sign(kStripeSecret, t, body);
  const std::string v1 = good.substr(good.find("v1="));
  const std::string header = "t=" + std::to_string(t) + ",v1=" + std::string(64, '0') + "," + v1;
  auto r = d.post("/webhooks/stripe", body, {{"Stripe-Signature", header}});
  CHECK(r.status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "1");
}

TEST_CASE("a browser event older than Meta's 7 days lends no event_id: the payment goes out at its own moment") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.max_past_skew_seconds = 30 * 86400;
  TestDaemon d(cfg, f.clock);
  BrowserEvent be;
  be.event_time = now(f.clock) - 8 * 86400;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  // Meta would refuse the browser's time; the payment waits as for any non-Purchase event...
  CHECK(f.db.scalar("SELECT status FROM payments") == "waiting");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  // ...and at its deadline is sent unmatched with the moment of payment, under the derived id.
  d->maintenance();
  CHECK(f.db.scalar("SELECT status FROM payments") == "waiting");
  f.clock.advance(std::chrono::seconds(601));
  d->maintenance();
  CHECK(f.db.scalar("SELECT status || ' ' || matched || ' ' || event_id FROM outbound_events") == "dry_run false ORDER-1");
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint FROM outbound_events") == std::to_string(sc.created));
  CHECK(f.db.scalar("SELECT (client_event_id IS NULL)::text FROM payments") == "true");
}

TEST_CASE("a payment made more than 7 days ago (an old webhook replayed) is recorded dead with a reason, never queued") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock) - 8 * 86400;
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  CHECK(f.db.scalar("SELECT status FROM outbound_events") == "dead");
  CHECK(f.db.scalar("SELECT last_error FROM outbound_events").rfind("expired", 0) == 0);
}

TEST_CASE("a browser time in the future is replaced by the arrival time and flagged") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent be;
  be.event_time = now(f.clock) + 3600;
  auto r = d.post("/v1/events", browserEventJson(be));
  REQUIRE(r.status == 202);
  CHECK(r.body.find("future") != std::string::npos);
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint FROM client_events") == std::to_string(now(f.clock)));
  CHECK(f.db.scalar("SELECT time_adjusted FROM client_events") == "future");
  CHECK(f.db.scalar("SELECT extract(epoch from reported_event_time)::bigint FROM client_events") ==
        std::to_string(be.event_time));
}

TEST_CASE("POST /v1/events names each offending field, stores nothing, and rejects oversized bodies") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.server.max_body_bytes = 4096;
  TestDaemon d(cfg, f.clock);
  auto r = d.post("/v1/events", R"({"data":[{"event_name":"Purchase","event_time":"soon"}]})");
  CHECK(r.status == 400);
  CHECK(r.body.find("event_id") != std::string::npos);
  CHECK(r.body.find("event_time") != std::string::npos);
  CHECK(d.post("/v1/events", "{not json").status == 400);
  CHECK(d.post("/v1/events", "[]").status == 400);
  CHECK(d.post("/v1/events", std::string(5000, ' ')).status == 413);
  CHECK(f.db.scalar("SELECT count(*) FROM client_events") == "0");
}

TEST_CASE("a duplicate browser event is stored once and reported as a duplicate") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent be;
  be.event_time = now(f.clock);
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  auto r = d.post("/v1/events", browserEventJson(be));
  CHECK(r.status == 202);
  CHECK(r.body.find("\"duplicates\":1") != std::string::npos);
  CHECK(f.db.scalar("SELECT count(*) FROM client_events") == "1");
}

TEST_CASE("personal data in browser events is stored hashed, never raw") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  auto r = d.post("/v1/events", R"({"event_name":"Purchase","event_id":"e1","event_time":)" +
                                    std::to_string(now(f.clock)) +
                                    R"(,"user_data":{"em":"Jane.Doe@Example.com","ph":"not a phone","fn":"Jane"}})");
  REQUIRE(r.status == 202);
  CHECK(r.body.find("user_data.ph") != std::string::npos);
  const std::string stored = f.db.scalar("SELECT user_data::text || hash_anomalies::text FROM client_events");
  CHECK(stored.find("Jane") == std::string::npos);
  CHECK(stored.find("jane") == std::string::npos);
  CHECK(stored.find("Example") == std::string::npos);
  CHECK(f.db.scalar("SELECT hash_anomalies->0->>'field' FROM client_events") == "ph");
}

TEST_CASE("client IP and user agent come from the request, X-Forwarded-For only from trusted proxies") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.server.trusted_proxies = {"127.0.0.1"};
  TestDaemon d(cfg, f.clock);
  const std::string ev = R"({"event_name":"Purchase","event_id":"e1","event_time":)" + std::to_string(now(f.clock)) + "}";
  REQUIRE(d.post("/v1/events", ev,
                 {{"Content-Type", "application/json"}, {"X-Forwarded-For", "198.51.100.9, 127.0.0.1"},
                  {"User-Agent", "UA/1.0"}})
              .status == 202);
  CHECK(f.db.scalar("SELECT client_ip_address FROM client_events") == "198.51.100.9");
  CHECK(f.db.scalar("SELECT client_user_agent FROM client_events") == "UA/1.0");
}

TEST_CASE("X-Forwarded-For from an untrusted peer is ignored") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  const std::string ev = R"({"event_name":"Purchase","event_id":"e1","event_time":)" + std::to_string(now(f.clock)) + "}";
  REQUIRE(d.post("/v1/events", ev, {{"Content-Type", "application/json"}, {"X-Forwarded-For", "198.51.100.9"}}).status == 202);
  CHECK(f.db.scalar("SELECT client_ip_address FROM client_events") == "127.0.0.1");
}

TEST_CASE("CORS: an allowed origin gets preflight and response headers, another origin is refused") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.server.cors_origins = {"https://shop.example"};
  TestDaemon d(cfg, f.clock);
  auto pre = httpRequest(d.port(), "OPTIONS", "/v1/events", "", {{"Origin", "https://shop.example"}});
  CHECK(pre.status == 204);
  CHECK(pre.headers["Access-Control-Allow-Origin"] == "https://shop.example");
  auto bad = httpRequest(d.port(), "OPTIONS", "/v1/events", "", {{"Origin", "https://evil.example"}});
  CHECK(bad.status == 403);
  const std::string ev = R"({"event_name":"Purchase","event_id":"e1","event_time":)" + std::to_string(now(f.clock)) + "}";
  CHECK(d.post("/v1/events", ev, {{"Origin", "https://evil.example"}}).status == 403);
  CHECK(f.db.scalar("SELECT count(*) FROM client_events") == "0");
}

TEST_CASE("an ingest key, when configured, is required") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.server.ingest_key = "k3y";
  TestDaemon d(cfg, f.clock);
  const std::string ev = R"({"event_name":"Purchase","event_id":"e1","event_time":)" + std::to_string(now(f.clock)) + "}";
  CHECK(d.post("/v1/events", ev).status == 401);
  CHECK(d.post("/v1/events", ev, {{"X-Ingest-Key", "k3y"}}).status == 202);
}

TEST_CASE("webhooks and browser events get 503 while the database is unreachable, and work again after") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  const std::string body = stripeCheckoutEvent(sc);
  f.db.setAvailable(false);
  CHECK(d.postStripe(body).status == 503);
  BrowserEvent be;
  be.event_time = now(f.clock);
  CHECK(d.post("/v1/events", browserEventJson(be)).status == 503);
  CHECK(d.get("/readyz").status == 503);
  f.db.setAvailable(true);
  CHECK(d.get("/readyz").status == 200);
  CHECK(d.postStripe(body).status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "1");
}

TEST_CASE("raw webhook bodies are purged after retention.raw_payload_days, finished rows after retention.days") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  cfg.retention.raw_payload_days = 7;
  cfg.retention.days = 30;
  TestDaemon d(cfg, f.clock);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE raw_payload IS NOT NULL") == "1");

  f.clock.advance(std::chrono::hours(24 * 7 - 2));
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE raw_payload IS NOT NULL") == "1");

  f.clock.advance(std::chrono::hours(3));
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE raw_payload IS NOT NULL") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "1");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");

  f.clock.advance(std::chrono::hours(24 * 30));
  d->maintenance();
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "0");
}

TEST_CASE("retention purges in batches and removes everything past the cutoff, however many rows") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  for (int i = 1; i <= 5; ++i) REQUIRE(d.postStripe(checkoutFor(f.clock, "p" + std::to_string(i))).status == 200);
  BrowserEvent unmatched;   // no payment refers to it
  unmatched.order_ref = "ORDER-NONE";
  unmatched.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(unmatched)).status == 202);
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events") == "5");

  store::PgPool pool(f.db.url(), 1, 0);
  store::IngestStore ingest(pool);
  const auto later = f.clock.now() + std::chrono::hours(1);
  const auto bodies = ingest.purge(later, f.clock.now() - std::chrono::hours(1), 2);   // raw bodies only
  CHECK(bodies.raw_bodies == 5);
  CHECK(bodies.outbound_events + bodies.stray_attempts + bodies.deliveries + bodies.payments +
            bodies.browser_events == 0);
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE raw_payload IS NOT NULL") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "5");
  const auto rows = ingest.purge(later, later, 2);
  CHECK(rows.raw_bodies == 0);
  CHECK(rows.outbound_events == 5);
  CHECK(rows.deliveries == 5);
  CHECK(rows.payments == 5);
  CHECK(rows.browser_events == 1);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "0");
  CHECK(f.db.scalar("SELECT count(*) FROM client_events") == "0");
}

TEST_CASE("the purge walks events and deliveries in id order, past those still in use, and stops at the cutoff") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  for (int i = 1; i <= 3; ++i) REQUIRE(d.postStripe(checkoutFor(f.clock, "w" + std::to_string(i))).status == 200);
  f.clock.advance(std::chrono::hours(2));
  for (int i = 4; i <= 5; ++i) REQUIRE(d.postStripe(checkoutFor(f.clock, "w" + std::to_string(i))).status == 200);
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events WHERE status IN ('sent', 'dry_run')") == "5");
  // In each table one of the first two rows is still in use (an event being retried, a delivery
  // waiting for matching) and the other carries a time out of order (a clock stepped forward).
  // The first batch of two deletes nothing and holds a row younger than the cutoff: each walk
  // must go on to the third row, and stop only at the rows younger than the cutoff.
  f.db.exec("UPDATE outbound_events SET status = 'retrying' WHERE order_ref = 'ORDER-w1'");
  f.db.exec("UPDATE outbound_events SET created_at = created_at + interval '10 days' WHERE order_ref = 'ORDER-w2'");
  f.db.exec("UPDATE webhook_deliveries SET received_at = received_at + interval '10 days' WHERE delivery_id = 'evt_w1'");
  f.db.exec("UPDATE webhook_deliveries SET status = 'received' WHERE delivery_id = 'evt_w2'");

  store::PgPool pool(f.db.url(), 1, 0);
  store::IngestStore ingest(pool);
  const auto n = ingest.purge(f.clock.now() + std::chrono::hours(1), f.clock.now() - std::chrono::hours(1), 2);
  CHECK(n.outbound_events == 1);
  CHECK(n.deliveries == 1);
  CHECK(f.db.scalar("SELECT string_agg(order_ref, ',' ORDER BY id) FROM outbound_events") ==
        "ORDER-w1,ORDER-w2,ORDER-w4,ORDER-w5");
  CHECK(f.db.scalar("SELECT string_agg(delivery_id, ',' ORDER BY id) FROM webhook_deliveries") ==
        "evt_w1,evt_w2,evt_w4,evt_w5");
}

TEST_CASE("a purge told to stop ends between two batches, and the next one goes on from there") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  for (int i = 1; i <= 3; ++i) REQUIRE(d.postStripe(checkoutFor(f.clock, "s" + std::to_string(i))).status == 200);
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events") == "3");

  store::PgPool pool(f.db.url(), 1, 0);
  store::IngestStore ingest(pool);
  const auto later = f.clock.now() + std::chrono::hours(1);
  int asked = 0;
  const auto first = ingest.purge(later, later, 1, [&] { return ++asked > 1; });
  CHECK(first.interrupted);
  CHECK(first.raw_bodies == 1);   // one batch of one, then the stop
  CHECK(first.outbound_events == 0);
  CHECK(asked == 2);   // not asked again once stopped
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "3");
  CHECK(f.db.scalar("SELECT count(*) FROM webhook_deliveries WHERE raw_payload IS NULL") == "1");

  const auto rest = ingest.purge(later, later, 1);
  CHECK_FALSE(rest.interrupted);
  CHECK(rest.raw_bodies == 2);
  CHECK(rest.outbound_events == 3);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");
}

TEST_CASE("the purge deletes an event's attempts with it, and attempts of events older than every one kept") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  for (int i = 1; i <= 3; ++i) REQUIRE(d.postStripe(checkoutFor(f.clock, "a" + std::to_string(i))).status == 200);
  REQUIRE(f.db.scalar("SELECT count(*) FROM outbound_events") == "3");
  const std::string at = "to_timestamp(" + std::to_string(now(f.clock)) + ")";
  // Two attempts per event (send_attempts has no foreign key: nothing cascades).
  f.db.exec("INSERT INTO send_attempts (outbound_event_id, attempted_at, error_class)"
            " SELECT id, " + at + ", 'ok' FROM outbound_events, generate_series(1, 2)");
  // An attempt of an event purged earlier without its attempts (by a version before 0008, say).
  f.db.exec("INSERT INTO send_attempts (outbound_event_id, attempted_at, error_class)"
            " SELECT min(id) - 1, " + at + ", 'ok' FROM outbound_events");
  // The oldest event is still being retried: it stays, with its attempts, and the attempts of the
  // two purged after it are above its id, out of the sweep's reach: they must go with their events.
  const std::string kept = f.db.scalar("SELECT min(id) FROM outbound_events");
  f.db.exec("UPDATE outbound_events SET status = 'retrying' WHERE id = " + kept);

  store::PgPool pool(f.db.url(), 1, 0);
  store::IngestStore ingest(pool);
  const auto later = f.clock.now() + std::chrono::hours(1);
  const auto n = ingest.purge(later, later, 2);
  CHECK(n.outbound_events == 2);
  CHECK(n.stray_attempts == 1);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  CHECK(f.db.scalar("SELECT string_agg(DISTINCT outbound_event_id::text, ',') || ' x ' || count(*)"
                    " FROM send_attempts") == kept + " x 2");
}

TEST_CASE("amounts are converted by each currency's own exponent") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"eur", "19.99", "EUR"}, {"jpy", "1999", "JPY"}, {"kwd", "1.999", "KWD"}};
  int n = 0;
  for (const auto& [currency, value, upper] : cases) {
    StripeCheckout sc;
    sc.event_id = "evt_amount_" + std::to_string(n);
    sc.session_id = "cs_amount_" + std::to_string(n);
    sc.payment_intent = "pi_amount_" + std::to_string(n);
    sc.client_reference_id = "ORDER-AMOUNT-" + std::to_string(n);
    sc.currency = currency;
    sc.amount_total = 1999;
    sc.created = now(f.clock);
    REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
    CHECK(f.db.scalar("SELECT payload->'custom_data'->>'value' FROM outbound_events WHERE order_ref = '" +
                      sc.client_reference_id + "'") == value);
    CHECK(f.db.scalar("SELECT payload->'custom_data'->>'currency' FROM outbound_events WHERE order_ref = '" +
                      sc.client_reference_id + "'") == upper);
    ++n;
  }
}

TEST_CASE("a browser InitiateCheckout does not lend its event_id: the Purchase waits for the browser Purchase") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent checkout;
  checkout.event_name = "InitiateCheckout";
  checkout.event_id = "ic-1";
  checkout.event_time = now(f.clock) - 60;
  REQUIRE(d.post("/v1/events", browserEventJson(checkout)).status == 202);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "0");

  f.clock.advance(std::chrono::seconds(20));
  BrowserEvent purchase;
  purchase.event_id = "purchase-1";
  purchase.event_time = now(f.clock);
  REQUIRE(d.post("/v1/events", browserEventJson(purchase)).status == 202);
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "purchase-1");
  CHECK(f.db.scalar("SELECT matched FROM outbound_events") == "t");
}

TEST_CASE("with only a non-Purchase browser event, the deadline sends the derived id with the browser's identifiers") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent checkout;
  checkout.event_name = "InitiateCheckout";
  checkout.event_id = "ic-1";
  checkout.event_time = now(f.clock) - 60;
  REQUIRE(d.post("/v1/events", browserEventJson(checkout)).status == 202);
  StripeCheckout sc;
  sc.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  f.clock.advance(std::chrono::seconds(601));
  d->maintenance();
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "ORDER-1");
  CHECK(f.db.scalar("SELECT matched FROM outbound_events") == "f");
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint FROM outbound_events") == std::to_string(sc.created));
  CHECK(f.db.scalar("SELECT payload->'user_data'->>'fbc' FROM outbound_events") == checkout.fbc);
  CHECK(f.db.scalar("SELECT payload->>'event_source_url' FROM outbound_events") == checkout.url);
}

TEST_CASE("an unmatched payment is sent at the moment of payment, not at the session's creation") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  // A SEPA debit: the session was opened six days ago, the payment succeeded now.
  StripeCheckout sc;
  sc.type = "checkout.session.async_payment_succeeded";
  sc.created = now(f.clock) - 6 * 86400;
  sc.event_created = now(f.clock) - 30;
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  CHECK(f.db.scalar("SELECT extract(epoch from paid_at)::bigint FROM payments") == std::to_string(sc.event_created));
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint || ' ' || matched FROM outbound_events") ==
        std::to_string(sc.event_created) + " false");
  CHECK(f.db.scalar("SELECT status FROM outbound_events") == "dry_run");
}

TEST_CASE("a subscription checkout and the payment_intent.succeeded of its invoice are one order") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  const std::string t = std::to_string(now(f.clock));
  const std::string session =
      R"({"id":"evt_sub_1","object":"event","created":)" + t +
      R"(,"livemode":true,"type":"checkout.session.completed","data":{"object":{"id":"cs_sub","object":"checkout.session","amount_total":990,"currency":"eur","client_reference_id":"ORDER-SUB","created":)" +
      t + R"(,"invoice":"in_sub","mode":"subscription","payment_intent":null,"payment_status":"paid","metadata":{}}}})";
  const std::string pi =
      R"({"id":"evt_sub_2","object":"event","created":)" + t +
      R"(,"livemode":true,"type":"payment_intent.succeeded","data":{"object":{"id":"pi_sub","object":"payment_intent","amount":990,"amount_received":990,"currency":"eur","created":)" +
      t + R"(,"invoice":"in_sub","metadata":{},"status":"succeeded"}}})";
  REQUIRE(d.postStripe(session).status == 200);
  auto r = d.postStripe(pi);
  REQUIRE(r.status == 200);
  CHECK(f.db.scalar("SELECT status FROM webhook_deliveries WHERE delivery_id = 'evt_sub_2'") == "duplicate_order");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "1");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
}

TEST_CASE("two payments sharing a client_reference_id (a customer id) are two orders") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  StripeCheckout first;
  first.client_reference_id = "cus_42";
  first.created = now(f.clock);
  StripeCheckout second = anotherOrder(first, "2");
  REQUIRE(d.postStripe(stripeCheckoutEvent(first)).status == 200);
  REQUIRE(d.postStripe(stripeCheckoutEvent(second)).status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "2");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
}

TEST_CASE("a customer's next order waits for its own browser Purchase instead of taking the previous order's") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent be;
  be.order_ref = "cus_7";   // a customer id used as client_reference_id: shared by the customer's orders
  be.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout first;
  first.client_reference_id = "cus_7";
  first.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(first)).status == 200);
  CHECK(purchasesOf(f, "pi_1") == "browser-evt-1 true");

  // A day later the customer orders again; the webhook comes before the browser's Purchase.
  f.clock.advance(std::chrono::hours(24));
  StripeCheckout second = anotherOrder(first, "2");
  second.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(second)).status == 200);
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_2'") == "waiting");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  d->maintenance();   // the sweep finds nothing for it either
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_2'") == "waiting");

  BrowserEvent own = be;
  own.event_id = "browser-evt-2";
  own.event_time = now(f.clock) - 2;
  REQUIRE(d.post("/v1/events", browserEventJson(own)).status == 202);
  CHECK(purchasesOf(f, "pi_2") == "browser-evt-2 true");
  CHECK(f.db.scalar("SELECT extract(epoch from event_time)::bigint FROM outbound_events o JOIN payments p"
                    " ON p.id = o.payment_id WHERE p.payment_key = 'pi_2'") == std::to_string(own.event_time));
  CHECK(purchasesOf(f, "pi_1") == "browser-evt-1 true");

  // A third order whose browser event never comes is sent unmatched at its deadline, under an
  // id neither earlier order uses.
  StripeCheckout third = anotherOrder(first, "3");
  third.created = now(f.clock);
  REQUIRE(d.postStripe(stripeCheckoutEvent(third)).status == 200);
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_3'") == "waiting");
  f.clock.advance(std::chrono::seconds(601));
  d->maintenance();
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_3'") == "unmatched");
  CHECK(f.db.scalar("SELECT count(DISTINCT event_id) FROM outbound_events") == "3");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events WHERE event_id LIKE 'browser-evt-%'") == "2");
}

TEST_CASE("a customer's two orders whose webhooks come in the wrong order each get their own browser Purchase") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  BrowserEvent one;
  one.event_id = "thanks-order-1";
  one.order_ref = "cus_5";
  one.event_time = now(f.clock) - 120;
  BrowserEvent two = one;
  two.event_id = "thanks-order-2";
  two.event_time = now(f.clock) - 60;
  REQUIRE(d.post("/v1/events", browserEventJson(one)).status == 202);
  REQUIRE(d.post("/v1/events", browserEventJson(two)).status == 202);
  StripeCheckout first;
  first.client_reference_id = "cus_5";
  first.created = now(f.clock) - 130;
  StripeCheckout second = anotherOrder(first, "2");
  second.created = now(f.clock) - 70;
  // Stripe does not keep order: the second order's webhook comes first and takes the latest.
  REQUIRE(d.postStripe(stripeCheckoutEvent(second)).status == 200);
  REQUIRE(d.postStripe(stripeCheckoutEvent(first)).status == 200);
  CHECK(purchasesOf(f, "pi_2") == "thanks-order-2 true");
  CHECK(purchasesOf(f, "pi_1") == "thanks-order-1 true");
}

TEST_CASE("a customer's next order does not take an earlier order's leftover Purchase; one it names it does") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  // Customer cus_11's first order takes its browser Purchase; a reloaded thank-you page then sends
  // a second one with a new eventID, which no payment takes.
  BrowserEvent first_purchase;
  first_purchase.order_ref = "cus_11";
  first_purchase.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(first_purchase)).status == 202);
  StripeCheckout first;
  first.client_reference_id = "cus_11";
  first.created = now(f.clock) - 60;
  REQUIRE(d.postStripe(stripeCheckoutEvent(first)).status == 200);
  REQUIRE(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_1'") == "matched");
  f.clock.advance(std::chrono::seconds(60));
  BrowserEvent reload = first_purchase;
  reload.event_id = "browser-evt-reload";
  reload.event_time = now(f.clock);
  REQUIRE(d.post("/v1/events", browserEventJson(reload)).status == 202);

  // Two hours later the customer checks out again, and the webhook comes before the browser's
  // Purchase: the leftover one was received long before this checkout started.
  f.clock.advance(std::chrono::hours(2));
  StripeCheckout next = anotherOrder(first, "2");
  next.created = now(f.clock) - 60;
  REQUIRE(d.postStripe(stripeCheckoutEvent(next)).status == 200);
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_2'") == "waiting");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "1");
  // The sweep does not claim it for the leftover Purchase either.
  CHECK(sweepClaims(f).empty());

  BrowserEvent own = first_purchase;
  own.event_id = "browser-evt-own";
  own.event_time = now(f.clock) - 2;
  REQUIRE(d.post("/v1/events", browserEventJson(own)).status == 202);
  CHECK(purchasesOf(f, "pi_2") == "browser-evt-own true");

  // An order that names its browser event (metadata.capi_event_id) gets it, however early it came.
  f.clock.advance(std::chrono::hours(2));
  StripeCheckout naming = anotherOrder(first, "3");
  naming.created = now(f.clock);
  naming.metadata_json = R"({"capi_event_id":"browser-evt-reload"})";
  REQUIRE(d.postStripe(stripeCheckoutEvent(naming)).status == 200);
  CHECK(purchasesOf(f, "pi_3") == "browser-evt-reload true");
}

TEST_CASE("an order's own Purchase sent before its payment started still matches: a payment link paid days later") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  // The shop sends the Purchase when the order is placed, and the customer pays a payment link
  // three days later: no other payment has the order number, so the Purchase is the order's.
  BrowserEvent placed;
  placed.order_ref = "ORDER-77";
  placed.event_time = now(f.clock);
  REQUIRE(d.post("/v1/events", browserEventJson(placed)).status == 202);
  f.clock.advance(std::chrono::hours(72));
  StripeCheckout paid;
  paid.client_reference_id = "ORDER-77";
  paid.created = now(f.clock) - 30;
  REQUIRE(d.postStripe(stripeCheckoutEvent(paid)).status == 200);
  CHECK(f.db.scalar("SELECT string_agg(event_id || ' ' || matched, ',') FROM outbound_events") == "browser-evt-1 true");
}

TEST_CASE("a payment's start is its earliest object's creation, whichever webhook came first") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  const int64_t t = now(f.clock);
  // The PaymentIntent is created when the customer confirms, five minutes after the session.
  REQUIRE(d.postStripe(stripePaymentIntentSucceeded("evt_pi", "pi_1", 1999, "eur", t - 10)).status == 200);
  CHECK(f.db.scalar("SELECT extract(epoch from started_at)::bigint FROM payments") == std::to_string(t - 10));
  StripeCheckout sc;
  sc.created = t - 300;
  sc.event_created = t - 5;
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  CHECK(f.db.scalar("SELECT extract(epoch from started_at)::bigint FROM payments") == std::to_string(t - 300));
}

TEST_CASE("the sweep does not claim a waiting payment for a browser Purchase another payment took or Meta would refuse") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.max_past_skew_seconds = 30 * 86400;
  TestDaemon d(cfg, f.clock);
  BrowserEvent be;
  be.order_ref = "cus_9";
  be.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  StripeCheckout first;
  first.client_reference_id = "cus_9";
  first.created = now(f.clock);
  StripeCheckout second = anotherOrder(first, "2");
  REQUIRE(d.postStripe(stripeCheckoutEvent(first)).status == 200);
  REQUIRE(d.postStripe(stripeCheckoutEvent(second)).status == 200);
  REQUIRE(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_1'") == "matched");
  REQUIRE(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_2'") == "waiting");
  // A third order whose only browser Purchase is eight days old.
  BrowserEvent old = be;
  old.event_id = "browser-evt-old";
  old.order_ref = "ORDER-OLD";
  old.event_time = now(f.clock) - 8 * 86400;
  REQUIRE(d.post("/v1/events", browserEventJson(old)).status == 202);
  StripeCheckout third = anotherOrder(first, "3");
  third.client_reference_id = "ORDER-OLD";
  REQUIRE(d.postStripe(stripeCheckoutEvent(third)).status == 200);
  REQUIRE(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_3'") == "waiting");

  // Claimed, such a payment would only be put back, and at the head of the deadline order it
  // would fill every sweep's batch ahead of payments that can be resolved.
  CHECK(sweepClaims(f).empty());
  f.clock.advance(std::chrono::seconds(601));
  CHECK(sweepClaims(f) == std::vector<std::string>{"pi_2", "pi_3"});   // their deadlines still bring them
}

TEST_CASE("a payment whose event_id another payment takes while it is being matched keeps its own id and is not lost") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, f.clock);
  // Another writer, under other locks, holds an uncommitted Purchase with the event_id this
  // payment is about to derive from its order reference: the daemon's check cannot see it, its
  // insert waits for it, and finds it taken once it commits.
  HeldTransaction other(f.db.url(),
                        "INSERT INTO outbound_events (pixel_id, event_name, event_id, event_time, matched, payload,"
                        " status, next_attempt_at, created_at) SELECT pixel_id, 'Purchase', 'ORDER-RACE', now(), false,"
                        " '{}', 'dry_run', now(), now() FROM (VALUES ('" + cfg.pixels.at(0).pixel_id + "')) AS v(pixel_id)");
  StripeCheckout sc;
  sc.client_reference_id = "ORDER-RACE";
  sc.created = now(f.clock);
  auto response = std::async(std::launch::async, [&] { return d.postStripe(stripeCheckoutEvent(sc)); });
  REQUIRE(pollUntil(std::chrono::seconds(20), [&] {
    return f.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO outbound_events%'") == "1";
  }));
  other.commit();
  REQUIRE(response.get().status == 200);
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
  CHECK(f.db.scalar("SELECT event_id || ' ' || matched FROM outbound_events WHERE payment_id IS NOT NULL") ==
        "pi_1 false");
  CHECK(f.db.scalar("SELECT status FROM payments") == "unmatched");
}

TEST_CASE("an order whose browser Purchase another order takes while it is being matched waits for its own") {
  Fixture f;
  auto cfg = testConfig(f.db);
  TestDaemon d(cfg, f.clock);
  BrowserEvent be;
  be.order_ref = "cus_3";
  be.event_time = now(f.clock) - 5;
  REQUIRE(d.post("/v1/events", browserEventJson(be)).status == 202);
  // Another instance matching the same customer's other order holds an uncommitted Purchase with
  // that browser event's id: this transaction cannot see it, and its insert waits for it.
  HeldTransaction other(f.db.url(),
                        "WITH p AS (INSERT INTO payments (provider, payment_key, order_ref, refs, paid_at, status,"
                        " match_deadline, client_event_id, created_at, resolved_at) SELECT 'stripe', 'pi_other',"
                        " 'cus_3', '{cus_3}', now(), 'matched', now(), id, now(), now() FROM client_events"
                        " WHERE event_id = 'browser-evt-1' RETURNING id)"
                        " INSERT INTO outbound_events (pixel_id, event_name, event_id, event_time, payment_id, matched,"
                        " payload, status, next_attempt_at, created_at) SELECT '" + cfg.pixels.at(0).pixel_id +
                            "', 'Purchase', 'browser-evt-1', now(), p.id, true, '{}', 'dry_run', now(), now() FROM p");
  StripeCheckout sc;
  sc.client_reference_id = "cus_3";
  sc.created = now(f.clock);
  auto response = std::async(std::launch::async, [&] { return d.postStripe(stripeCheckoutEvent(sc)); });
  REQUIRE(pollUntil(std::chrono::seconds(20), [&] {
    return f.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO outbound_events%'") == "1";
  }));
  other.commit();
  REQUIRE(response.get().status == 200);
  const std::string mine = "SELECT status || ' ' || (client_event_id IS NULL) FROM payments WHERE payment_key = 'pi_1'";
  CHECK(f.db.scalar(mine) == "waiting true");
  const std::string queued = "SELECT count(*) FROM outbound_events o JOIN payments p ON p.id = o.payment_id"
                             " WHERE p.payment_key = 'pi_1'";
  CHECK(f.db.scalar(queued) == "0");
  d->maintenance();   // the sweep does not hand it the taken event either
  CHECK(f.db.scalar(mine) == "waiting true");
  // Its own browser Purchase matches it.
  BrowserEvent own = be;
  own.event_id = "browser-evt-2";
  own.event_time = now(f.clock) - 1;
  REQUIRE(d.post("/v1/events", browserEventJson(own)).status == 202);
  CHECK(f.db.scalar("SELECT o.event_id || ' ' || o.matched FROM outbound_events o JOIN payments p"
                    " ON p.id = o.payment_id WHERE p.payment_key = 'pi_1'") == "browser-evt-2 true");
}

TEST_CASE("the sweep resolves a waiting payment whose browser Purchase was stored alongside it, and only that one") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  StripeCheckout a;
  a.created = now(f.clock);
  StripeCheckout b = anotherOrder(a, "2");
  b.client_reference_id = "ORDER-2";
  REQUIRE(d.postStripe(stripeCheckoutEvent(a)).status == 200);
  REQUIRE(d.postStripe(stripeCheckoutEvent(b)).status == 200);
  // Committed while each webhook's transaction could not see it, as when both arrive at once:
  // nothing resolved the payments on the way in. ORDER-2 only has a non-Purchase event.
  f.db.exec("INSERT INTO client_events (event_id, event_name, event_time, order_ref, received_at) VALUES"
            " ('race-purchase', 'Purchase', now() - interval '5 seconds', 'ORDER-1', now()),"
            " ('race-checkout', 'InitiateCheckout', now() - interval '5 seconds', 'ORDER-2', now())");
  REQUIRE(f.db.scalar("SELECT count(*) FROM payments WHERE status = 'waiting'") == "2");
  f.clock.advance(std::chrono::seconds(1));
  d->maintenance();
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_1'") == "matched");
  CHECK(f.db.scalar("SELECT event_id FROM outbound_events") == "race-purchase");
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_2'") == "waiting");
  f.clock.advance(std::chrono::seconds(600));
  d->maintenance();
  CHECK(f.db.scalar("SELECT status FROM payments WHERE payment_key = 'pi_2'") == "unmatched");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "2");
}

TEST_CASE("a browser event body with a NUL character is refused and nothing is stored") {
  Fixture f;
  TestDaemon d(testConfig(f.db), f.clock);
  auto r = d.post("/v1/events", R"({"event_name":"Purchase","event_id":"e\u00001","event_time":)" +
                                    std::to_string(now(f.clock)) + "}");
  CHECK(r.status == 400);
  CHECK(r.body.find("NUL") != std::string::npos);
  CHECK(d.post("/v1/events", R"({"event_name":"Purchase","event_id":"e1","event_time":1e300})").status == 400);
  CHECK(f.db.scalar("SELECT count(*) FROM client_events") == "0");
}

TEST_CASE("a reload rotates the Stripe webhook secret and the ingest key without a restart") {
  Fixture f;
  auto cfg = testConfig(f.db);
  cfg.server.ingest_key = "old-ingest-key";
  TestDaemon d(cfg, f.clock);
  auto next = cfg;
  next.stripe.webhook_secrets = {"whsec_rotated_secret"};
  next.server.ingest_key = "new-ingest-key";
  d->reload(next);

  StripeCheckout sc;
  sc.created = now(f.clock);
  const std::string body = stripeCheckoutEvent(sc);
  CHECK(d.postStripe(body).status == 400);
  CHECK(d.postStripe(body, -1, "whsec_rotated_secret").status == 200);

  const std::string ev = R"({"event_name":"Purchase","event_id":"e1","event_time":)" + std::to_string(now(f.clock)) + "}";
  CHECK(d.post("/v1/events", ev, {{"X-Ingest-Key", "old-ingest-key"}}).status == 401);
  CHECK(d.post("/v1/events", ev, {{"X-Ingest-Key", "new-ingest-key"}}).status == 202);
}

namespace {

// A new payment with one pending Purchase row under pixel "1" and the given event_id.
store::MatchTx::NewPayment paymentWithRow(store::MatchTx& tx, const std::string& key, const std::string& event_id,
                                          TimePoint now) {
  store::MatchTx::NewPayment n;
  n.payment.id = tx.reservePaymentIds(1).at(0);
  n.payment.provider = "stripe";
  n.payment.payment_key = key;
  n.payment.status = "unmatched";
  n.payment.paid_at = n.payment.created_at = n.payment.match_deadline = now;
  store::OutboundRecord o;
  o.pixel_id = "1";
  o.event_name = "Purchase";
  o.event_id = event_id;
  o.event_time = o.next_attempt_at = now;
  o.payment_id = n.payment.id;
  o.payload_json = "{}";
  o.status = "pending";
  n.rows.push_back(o);
  return n;
}

}  // namespace

TEST_CASE("two batches inserting the same event_ids in opposite orders wait for each other, no deadlock") {
  Fixture f;
  const TimePoint t = f.clock.now();
  store::PgPool pool(f.db.url(), 2, 0);
  store::IngestStore first(pool), second(pool);
  std::promise<void> a_held, second_blocked;
  // The first batch holds evt-a (uncommitted) until the second batch, writing evt-b then evt-a,
  // waits; then it writes evt-b. In the order given, the second batch would hold evt-b and wait
  // for evt-a while the first waits for evt-b: a deadlock PostgreSQL breaks by failing one.
  auto one = std::async(std::launch::async, [&] {
    first.inTransaction([&](store::MatchTx& tx) {
      tx.insertPayments({paymentWithRow(tx, "pi_1", "evt-a", t)}, t);
      a_held.set_value();
      second_blocked.get_future().wait();
      tx.insertPayments({paymentWithRow(tx, "pi_4", "evt-b", t)}, t);
    });
  });
  a_held.get_future().wait();
  auto two = std::async(std::launch::async, [&] {
    second.inTransaction([&](store::MatchTx& tx) {
      tx.insertPayments({paymentWithRow(tx, "pi_2", "evt-b", t), paymentWithRow(tx, "pi_3", "evt-a", t)}, t);
    });
  });
  bool waited = false;
  for (int i = 0; i < 200 && !waited; ++i) {
    waited = f.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND wait_event_type = 'Lock'") != "0";
    if (!waited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(waited);
  second_blocked.set_value();
  CHECK_NOTHROW(one.get());
  CHECK_NOTHROW(two.get());
  CHECK(f.db.scalar("SELECT string_agg(p.payment_key || ' ' || o.event_id, ',' ORDER BY o.event_id)"
                    " FROM outbound_events o JOIN payments p ON p.id = o.payment_id") == "pi_1 evt-a,pi_4 evt-b");
  CHECK(f.db.scalar("SELECT count(*) FROM payments") == "4");
}

TEST_CASE("of two new payments in one batch queuing the same event_id, the earlier one's row is inserted") {
  Fixture f;
  const TimePoint t = f.clock.now();
  store::PgPool pool(f.db.url(), 1, 0);
  store::IngestStore ingest(pool);
  // 30 payments, then 30 more with the same event_ids in reverse: more rows than a small-array
  // sort keeps in order by chance.
  std::vector<store::MatchTx::Queued> queued;
  ingest.inTransaction([&](store::MatchTx& tx) {
    std::vector<store::MatchTx::NewPayment> batch;
    for (int i = 0; i < 30; ++i) batch.push_back(paymentWithRow(tx, "first_" + std::to_string(i), "evt-" + std::to_string(i), t));
    for (int i = 29; i >= 0; --i) batch.push_back(paymentWithRow(tx, "later_" + std::to_string(i), "evt-" + std::to_string(i), t));
    queued = tx.insertPayments(batch, t);
  });
  REQUIRE(queued.size() == 60);
  for (int i = 0; i < 60; ++i) {
    INFO(i);
    CHECK(queued[i].created == (i < 30 ? 1 : 0));
  }
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events o JOIN payments p ON p.id = o.payment_id"
                    " WHERE p.payment_key LIKE 'first_%'") == "30");
  CHECK(f.db.scalar("SELECT count(*) FROM outbound_events") == "30");
}
