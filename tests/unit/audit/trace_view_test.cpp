// `events show` from an assembled trace: which differences between the browser event and the
// server payload are marked as breaking deduplication, and which are only shown.
#include "app/events_command.h"

#include <catch2/catch.hpp>

using namespace capi;
using capi::app::TraceRow;
using capi::app::TraceView;

namespace {

constexpr int64_t kFired = 1795000000;

store::ClientEventRecord browserPurchase() {
  store::ClientEventRecord b;
  b.id = 1;
  b.event_id = "browser-evt-1";
  b.event_name = "Purchase";
  b.event_time = fromUnixSeconds(kFired);
  b.order_ref = "ORDER-1";
  b.event_source_url = "https://shop.example/checkout";
  b.fbp = "fb.1.1596403881668.1116446470";
  b.fbc = "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890";
  b.client_ip_address = "203.0.113.7";
  b.client_user_agent = "Mozilla/5.0";
  b.received_at = fromUnixSeconds(kFired + 1);
  return b;
}

std::string payload(const std::string& event_name, const std::string& event_id, int64_t event_time,
                    const std::string& fbc) {
  return R"({"event_name":")" + event_name + R"(","event_id":")" + event_id + R"(","event_time":)" +
         std::to_string(event_time) +
         R"(,"action_source":"website","event_source_url":"https://shop.example/checkout","user_data":{"em":["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"],"fbp":"fb.1.1596403881668.1116446470","fbc":")" +
         fbc + R"(","client_ip_address":"203.0.113.7","client_user_agent":"Mozilla/5.0"}})";
}

store::OutboundRecord serverPurchase(const std::string& event_id, int64_t event_time, bool matched) {
  store::OutboundRecord o;
  o.id = 7;
  o.pixel_id = "111";
  o.event_name = "Purchase";
  o.event_id = event_id;
  o.event_time = fromUnixSeconds(event_time);
  o.order_ref = "ORDER-1";
  o.payment_id = 3;
  o.matched = matched;
  o.payload_json = payload("Purchase", event_id, event_time, browserPurchase().fbc);
  o.status = "sent";
  o.attempts = 1;
  o.last_http_status = 200;
  return o;
}

store::PaymentRecord payment(int64_t id, int64_t created) {
  store::PaymentRecord p;
  p.id = id;
  p.provider = "stripe";
  p.payment_key = "pi_" + std::to_string(id);
  p.order_ref = "ORDER-1";
  p.status = "matched";
  p.created_at = fromUnixSeconds(created);
  return p;
}

const TraceRow* row(const TraceView& v, const std::string& field) {
  for (const auto& r : v.rows)
    if (r.field == field) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("a server Purchase carrying the browser's name, id and time has no breaking difference", "[audit]") {
  store::EventTrace t;
  t.browser.push_back(browserPurchase());
  t.server.push_back(serverPurchase("browser-evt-1", kFired, true));
  t.payments.push_back(payment(3, kFired + 180));
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  CHECK(views[0].title == "pixel 111: Purchase browser-evt-1, order ORDER-1");
  CHECK(views[0].breaking == 0);
  for (const auto& r : views[0].rows) CHECK(r.mark != TraceRow::Mark::Breaks);
  REQUIRE(row(views[0], "event_time") != nullptr);
  CHECK(row(views[0], "event_time")->browser == row(views[0], "event_time")->server);
  CHECK(row(views[0], "event_time")->browser == "2026-11-18T11:06:40Z (1795000000)");
  REQUIRE(row(views[0], "webhook delay") != nullptr);
  CHECK(row(views[0], "webhook delay")->server == "3m 0s after the browser event");
}

TEST_CASE("the webhook delay is measured from the server event's own payment", "[audit]") {
  // An order reference can name several payments; the first one listed is not this event's.
  store::EventTrace t;
  t.browser.push_back(browserPurchase());
  t.server.push_back(serverPurchase("browser-evt-1", kFired, true));
  t.payments.push_back(payment(2, kFired + 7200));
  t.payments.push_back(payment(3, kFired + 60));
  t.deliveries.push_back({3, "stripe", "evt_1", "checkout.session.completed", "accepted", "", {}});
  t.deliveries.push_back({2, "stripe", "evt_9", "checkout.session.completed", "accepted", "", {}});
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  REQUIRE(row(views[0], "webhook delay") != nullptr);
  CHECK(row(views[0], "webhook delay")->server == "60s after the browser event");
  REQUIRE(row(views[0], "webhooks") != nullptr);
  CHECK(row(views[0], "webhooks")->server == "stripe pi_3: checkout.session.completed accepted");
}

TEST_CASE("a server event_time other than the browser's is marked as breaking", "[audit]") {
  store::EventTrace t;
  t.browser.push_back(browserPurchase());
  t.server.push_back(serverPurchase("browser-evt-1", kFired + 180, true));
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  CHECK(views[0].breaking == 1);
  REQUIRE(row(views[0], "event_time") != nullptr);
  CHECK(row(views[0], "event_time")->mark == TraceRow::Mark::Breaks);
  CHECK(row(views[0], "event_time")->note == "the server event must carry the browser's time");
}

TEST_CASE("a browser event of another name with the same event_id is marked as breaking on event_name",
          "[audit]") {
  store::EventTrace t;
  auto b = browserPurchase();
  b.event_name = "InitiateCheckout";
  t.browser.push_back(b);
  t.server.push_back(serverPurchase("browser-evt-1", kFired, true));
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  CHECK(views[0].breaking == 1);
  CHECK(row(views[0], "event_name")->mark == TraceRow::Mark::Breaks);
  CHECK(row(views[0], "event_name")->browser == "InitiateCheckout");
}

TEST_CASE("an fbc altered on the way to the server is marked, a different user agent only shown", "[audit]") {
  store::EventTrace t;
  t.browser.push_back(browserPurchase());
  auto o = serverPurchase("browser-evt-1", kFired, true);
  o.payload_json = payload("Purchase", "browser-evt-1", kFired, "fb.1.1554763741205.abcdefghijklmnopqrstuvwxyz1234567890");
  t.server.push_back(o);
  t.browser.front().client_user_agent = "Mozilla/5.0 (other)";
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  CHECK(views[0].breaking == 1);
  CHECK(row(views[0], "fbc")->mark == TraceRow::Mark::Breaks);
  CHECK(row(views[0], "client_user_agent")->mark == TraceRow::Mark::None);
  CHECK(row(views[0], "client_user_agent")->browser != row(views[0], "client_user_agent")->server);
}

TEST_CASE("an unmatched server Purchase is marked as breaking for its missing browser event", "[audit]") {
  store::EventTrace t;
  t.server.push_back(serverPurchase("ORDER-1", kFired, false));
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  CHECK(views[0].breaking == 1);
  REQUIRE(row(views[0], "browser event") != nullptr);
  CHECK(row(views[0], "browser event")->browser == "none found");
  CHECK(row(views[0], "browser event")->server == "derived event_id");
  CHECK(row(views[0], "browser event")->mark == TraceRow::Mark::Breaks);
  CHECK(row(views[0], "browser event")->note.find("eventID ORDER-1") != std::string::npos);
  CHECK(row(views[0], "event_id source")->server == "derived from the order (unmatched)");
}

TEST_CASE("a dead or sent-with-test-code server event is called out in its status rows", "[audit]") {
  store::EventTrace t;
  t.browser.push_back(browserPurchase());
  auto o = serverPurchase("browser-evt-1", kFired, true);
  o.status = "dead";
  o.last_http_status = 400;
  o.last_error = "invalid: (#100) Invalid parameter";
  o.test_event_code = true;
  t.server.push_back(o);
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  REQUIRE(row(views[0], "status") != nullptr);
  CHECK(row(views[0], "status")->server == "dead, 1 attempt(s), last HTTP 400");
  CHECK(row(views[0], "status")->mark == TraceRow::Mark::Notice);
  CHECK(row(views[0], "status")->note == o.last_error);
  REQUIRE(row(views[0], "test event code") != nullptr);
  CHECK(row(views[0], "test event code")->mark == TraceRow::Mark::Breaks);
  CHECK(views[0].breaking == 1);
}

TEST_CASE("a browser event without a server event yet gets a view that says what it waits for", "[audit]") {
  store::EventTrace t;
  t.browser.push_back(browserPurchase());
  const auto views = app::buildTraceViews(t);
  REQUIRE(views.size() == 1);
  CHECK(views[0].title == "browser event Purchase browser-evt-1 (no server event yet)");
  CHECK(row(views[0], "server event")->server == "no payment matched yet");
  CHECK(views[0].breaking == 0);
}
