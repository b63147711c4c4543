// The admin API: bearer token required, and the operator commands as JSON.
#include "support/test_daemon.h"
#include "support/test_env.h"
#include "webhooks/stripe/stripe_signature.h"

#include <catch2/catch.hpp>

using namespace capi;
using namespace capi::testing;

namespace {
const TimePoint kStart = fromUnixSeconds(1795000000);
}

TEST_CASE("the admin API refuses requests without the right bearer token", "[admin]") {
  TestDatabase db;
  ManualClock clock(kStart);
  auto cfg = testConfig(db);
  cfg.admin.token = "adm1n-token";
  TestDaemon d(cfg, clock);
  CHECK(httpRequest(d.port(), "GET", "/admin/api/status").status == 401);
  CHECK(httpRequest(d.port(), "GET", "/admin/api/status", "", {{"Authorization", "Bearer wrong"}}).status == 401);
  CHECK(httpRequest(d.port(), "GET", "/admin/api/status", "", {{"Authorization", "adm1n-token"}}).status == 401);
  auto r = httpRequest(d.port(), "GET", "/admin/api/status", "", {{"Authorization", "Bearer adm1n-token"}});
  CHECK(r.status == 200);
  CHECK(r.body.find("\"dry_run\":true") != std::string::npos);
  CHECK(r.body.find("\"webhooks_awaiting_match\":0,\"oldest_awaiting_match_age_seconds\":null") !=
        std::string::npos);
  CHECK(r.body.find("adm1n-token") == std::string::npos);
  // A stored webhook not yet matched shows, with its age.
  StripeCheckout sc;
  sc.created = toUnixSeconds(clock.now());
  const std::string body = stripeCheckoutEvent(sc);
  REQUIRE(d.post("/webhooks/stripe", body,
                 {{"Stripe-Signature",
                   webhooks::stripe::StripeSignatureVerifier::sign(kStripeSecret, toUnixSeconds(clock.now()), body)}})
              .status == 200);
  clock.advance(std::chrono::seconds(7));
  r = httpRequest(d.port(), "GET", "/admin/api/status", "", {{"Authorization", "Bearer adm1n-token"}});
  CHECK(r.body.find("\"webhooks_awaiting_match\":1,\"oldest_awaiting_match_age_seconds\":7.") != std::string::npos);
}

TEST_CASE("without admin.token there is no admin API", "[admin]") {
  TestDatabase db;
  ManualClock clock(kStart);
  TestDaemon d(testConfig(db), clock);
  CHECK(httpRequest(d.port(), "GET", "/admin/api/status", "", {{"Authorization", "Bearer x"}}).status == 404);
}

TEST_CASE("the admin API lists, shows and requeues outbound events and shows an event trace", "[admin]") {
  TestDatabase db;
  ManualClock clock(kStart);
  auto cfg = testConfig(db);
  cfg.admin.token = "t0ken-for-admin";
  cfg.matching.wait_seconds = 0;
  TestDaemon d(cfg, clock);
  StripeCheckout sc;
  sc.created = toUnixSeconds(clock.now());
  REQUIRE(d.postStripe(stripeCheckoutEvent(sc)).status == 200);
  const std::map<std::string, std::string> auth{{"Authorization", "Bearer t0ken-for-admin"}};
  const std::string id = db.scalar("SELECT id FROM outbound_events");

  auto list = httpRequest(d.port(), "GET", "/admin/api/retries?status=dry_run&limit=10", "", auth);
  CHECK(list.status == 200);
  CHECK(list.body.front() == '[');
  CHECK(list.body.find("\"event_id\":\"ORDER-1\"") != std::string::npos);
  CHECK(httpRequest(d.port(), "GET", "/admin/api/retries?status=bogus", "", auth).status == 400);

  auto show = httpRequest(d.port(), "GET", "/admin/api/retries/" + id, "", auth);
  CHECK(show.status == 200);
  CHECK(show.body.find("\"attempt_history\":[]") != std::string::npos);
  CHECK(httpRequest(d.port(), "GET", "/admin/api/retries/999999", "", auth).status == 404);

  auto retry = httpRequest(d.port(), "POST", "/admin/api/retries/" + id + "/retry", "", auth);
  CHECK(retry.status == 200);
  CHECK(db.scalar("SELECT status FROM outbound_events") == "pending");

  auto trace = httpRequest(d.port(), "GET", "/admin/api/events/ORDER-1", "", auth);
  CHECK(trace.status == 200);
  CHECK(trace.body.find("browser event") != std::string::npos);
}
