// The audit's verdicts from its figures alone: each of the five checks at and just past its
// threshold, and the --since durations an operator may type.
#include "app/audit_command.h"

#include <catch2/catch.hpp>

#include <set>

using namespace capi;
using capi::app::AuditLine;
using capi::app::AuditThresholds;
using capi::app::evaluateAudit;
using capi::app::parseDuration;

namespace {

// A healthy shop's week: every Purchase matched and sent, no replaced times, no bad values.
store::AuditFigures healthy() {
  store::AuditFigures f;
  f.purchases = 100;
  f.matched = 100;
  f.browser_events = 100;
  f.payments = 100;
  f.delay_p50 = 120;
  f.delay_p95 = 300;
  f.delay_max = 900;
  f.attempts = 100;
  return f;
}

std::set<int> warned(const std::vector<AuditLine>& lines) {
  std::set<int> out;
  for (const auto& l : lines)
    if (l.warn) out.insert(l.number);
  return out;
}

const AuditLine& check(const std::vector<AuditLine>& lines, int number) {
  for (const auto& l : lines)
    if (l.number == number) return l;
  FAIL("no audit line " << number);
  return lines.front();
}

}  // namespace

TEST_CASE("healthy figures pass all five checks, numbered 1 to 5 in the order of SPEC section 1", "[audit]") {
  const auto lines = evaluateAudit(healthy(), {}, false);
  REQUIRE(lines.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(lines[static_cast<size_t>(i)].number == i + 1);
  CHECK(warned(lines).empty());
  for (const auto& l : lines) {
    CHECK(l.cause.empty());
    CHECK(l.fix.empty());
  }
}

TEST_CASE("exactly 10% unmatched Purchases is tolerated and 11% is flagged", "[audit]") {
  auto f = healthy();
  f.unmatched = 10;
  f.matched = 90;
  auto lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines).empty());
  CHECK(check(lines, 1).figure.find("90.0% of 100 Purchases carry the browser event_id; 10 unmatched") !=
        std::string::npos);

  f.unmatched = 11;
  f.matched = 89;
  lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines) == std::set<int>{1});
  CHECK_FALSE(check(lines, 1).cause.empty());
  CHECK(check(lines, 1).fix.find("order_ref") != std::string::npos);
}

TEST_CASE("Purchases matched to a browser event of another name count against the event_id check", "[audit]") {
  // The server Purchase then carries, say, an InitiateCheckout's event_id, which no pixel
  // Purchase has: it cannot deduplicate any more than an unmatched one.
  auto f = healthy();
  f.unmatched = 5;
  f.matched = 95;
  f.matched_other_name = 5;
  auto lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines).empty());
  CHECK(check(lines, 1).figure.find("5 matched a browser event not named Purchase") != std::string::npos);
  f.matched_other_name = 6;
  lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines) == std::set<int>{1});
}

TEST_CASE("a window without Purchases has nothing to flag for event_id origin", "[audit]") {
  store::AuditFigures f;
  const auto lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines).empty());
  CHECK(check(lines, 1).figure == "no Purchases in the window");
}

TEST_CASE("replaced browser times are tolerated up to 1% of browser events", "[audit]") {
  auto f = healthy();
  f.time_replaced = {{"milliseconds", 1}};
  auto lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines).empty());
  CHECK(check(lines, 2).figure.find("1 of 100 browser times replaced (milliseconds 1)") != std::string::npos);

  f.time_replaced = {{"milliseconds", 1}, {"future", 1}};
  lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines) == std::set<int>{2});
  CHECK(check(lines, 2).figure.find("2 of 100 browser times replaced (future 1, milliseconds 1)") != std::string::npos);
  CHECK(check(lines, 2).figure.find("p50 2m, p95 5m, max 15m") != std::string::npos);
}

TEST_CASE("a test event code is flagged when active now or when any event of the window carried one", "[audit]") {
  auto f = healthy();
  CHECK(warned(evaluateAudit(f, {}, false)).empty());

  auto lines = evaluateAudit(f, {}, true);
  CHECK(warned(lines) == std::set<int>{3});
  CHECK(check(lines, 3).figure.find("ACTIVE now") != std::string::npos);

  f.test_code_events = 1;
  lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines) == std::set<int>{3});
  CHECK(check(lines, 3).figure.find("not set; 1 events in the window were sent with one") != std::string::npos);
}

TEST_CASE("unusable values are tolerated up to 2% of events and payments, and pre-hashed values never count",
          "[audit]") {
  auto f = healthy();   // 200 events and payments
  f.anomalies = {{"ph:no_country_code", 3}, {"ph:invalid", 1}, {"em:prehashed", 150}};
  auto lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines).empty());
  CHECK(check(lines, 4).figure ==
        "4 unusable values (ph:invalid 1, ph:no_country_code 3), 150 arrived already hashed, over 200 events and "
        "payments");

  f.anomalies["ph:invalid"] = 2;
  lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines) == std::set<int>{4});
  CHECK(check(lines, 4).fix.find("phone.default_region") != std::string::npos);
}

TEST_CASE("the send error ratio is judged against the configured alerts.error_ratio", "[audit]") {
  auto f = healthy();
  f.failed_attempts = 2;
  f.failures_by_class = {{"server", 2}};
  CHECK(warned(evaluateAudit(f, {}, false)).empty());

  f.failed_attempts = 3;
  f.failures_by_class = {{"server", 3}};
  auto lines = evaluateAudit(f, {}, false);
  CHECK(warned(lines) == std::set<int>{5});
  CHECK(check(lines, 5).figure.find("error ratio 3.0% of 100 attempts (server 3)") != std::string::npos);
  CHECK(check(lines, 5).cause == "send error ratio above 2.0%");

  AuditThresholds lenient;
  lenient.error_ratio = 0.05;
  CHECK(warned(evaluateAudit(f, lenient, false)).empty());
}

TEST_CASE("dead events, an event pending over an hour and a paused pixel each flag the sending check",
          "[audit]") {
  auto f = healthy();
  SECTION("dead") {
    f.dead_by_reason = {{"invalid", 1}};
    const auto lines = evaluateAudit(f, {}, false);
    CHECK(warned(lines) == std::set<int>{5});
    CHECK(check(lines, 5).cause == "1 dead event(s) will never reach Meta");
    CHECK(check(lines, 5).figure.find("1 dead (invalid 1)") != std::string::npos);
  }
  SECTION("pending for exactly an hour is tolerated, a second more is not") {
    f.oldest_pending_age = 3600;
    CHECK(warned(evaluateAudit(f, {}, false)).empty());
    f.oldest_pending_age = 3601;
    const auto lines = evaluateAudit(f, {}, false);
    CHECK(warned(lines) == std::set<int>{5});
    CHECK(check(lines, 5).cause == "events are waiting too long");
  }
  SECTION("paused pixel") {
    f.paused_pixels = 1;
    const auto lines = evaluateAudit(f, {}, false);
    CHECK(warned(lines) == std::set<int>{5});
    CHECK(check(lines, 5).cause ==
          "a pixel is paused on a token or permission error or a refused request (pixel_pauses.reason)");
    CHECK(check(lines, 5).figure.find("1 pixel(s) paused") != std::string::npos);
  }
}

TEST_CASE("--since durations are read in seconds, minutes, hours, days and weeks", "[audit]") {
  long long s = 0;
  CHECK((parseDuration("90s", s) && s == 90));
  CHECK((parseDuration("15m", s) && s == 900));
  CHECK((parseDuration("24h", s) && s == 86400));
  CHECK((parseDuration("7d", s) && s == 7 * 86400));
  CHECK((parseDuration("2w", s) && s == 14 * 86400));
  CHECK((parseDuration("3650d", s) && s == capi::app::kMaxAuditWindowSeconds));
}

TEST_CASE("malformed, zero and absurdly long --since durations are refused without touching the result",
          "[audit]") {
  for (const char* bad : {"", "7", "d", "0d", "-1d", "1.5h", "7x", "7D", " 7d", "10y", "3651d", "999999999w",
                          "1000000000s"}) {
    long long s = 42;
    CHECK_FALSE(parseDuration(bad, s));
    CHECK(s == 42);
  }
}
