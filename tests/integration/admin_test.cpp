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

TEST_CASE("the debug console page holds no data, and the audit is one more admin resource", "[admin]") {
  TestDatabase db;
  ManualClock clock(kStart);
  auto cfg = testConfig(db);
  cfg.admin.token = "c0nsole-token";
  cfg.matching.wait_seconds = 0;   // the order below is sent unmatched at once: a WARN in the audit
  TestDaemon d(cfg, clock);

  // The page: no token needed to load it, and nothing in it but the form and the script that
  // reads the API with the token typed in.
  for (const std::string path : {"/admin", "/admin/"}) {
    auto page = httpRequest(d.port(), "GET", path);
    INFO(path);
    REQUIRE(page.status == 200);
    CHECK(page.headers["Content-Type"].rfind("text/html", 0) == 0);
    CHECK(page.headers["Content-Security-Policy"].find("default-src 'none'") != std::string::npos);
    CHECK(page.headers["Cache-Control"] == "no-store");
    CHECK(page.body.find("/admin/api/audit") != std::string::npos);
    CHECK(page.body.find("/admin/api/retries?status=") != std::string::npos);   // by status: indexed reads
    CHECK(page.body.find("\"queue\"") == std::string::npos);   // no status document in it
    CHECK(page.body.find("c0nsole-token") == std::string::npos);
    CHECK(page.body.find("innerHTML") == std::string::npos);   // values are written as text only
  }

  const std::map<std::string, std::string> auth{{"Authorization", "Bearer c0nsole-token"}};
  CHECK(httpRequest(d.port(), "GET", "/admin/api/audit").status == 401);
  auto audit = httpRequest(d.port(), "GET", "/admin/api/audit?since=24h", "", auth);
  REQUIRE(audit.status == 200);
  CHECK(audit.body.find("\"since\":\"24h\"") != std::string::npos);
  CHECK(audit.body.find("\"ok\":true") != std::string::npos);

  // A WARN is still a report: 200, with the verdict in it.
  REQUIRE(d.postStripe(checkoutFor(clock, "c1")).status == 200);   // stored and matched
  REQUIRE(db.scalar("SELECT count(*) FROM outbound_events") == "1");
  audit = httpRequest(d.port(), "GET", "/admin/api/audit", "", auth);
  REQUIRE(audit.status == 200);
  CHECK(audit.body.find("\"ok\":false") != std::string::npos);
  CHECK(audit.body.find("\"verdict\":\"WARN\"") != std::string::npos);

  auto bad = httpRequest(d.port(), "GET", "/admin/api/audit?since=forever", "", auth);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("--since takes a duration") != std::string::npos);
}
