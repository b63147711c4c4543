#pragma once
// An in-process daemon for integration tests: real PostgreSQL (a TestDatabase), real HTTP on
// a loopback port chosen by the kernel, the production Graph client pointed at a
// FakeGraphServer, and a ManualClock. Background threads are off by default so a test drives
// the dispatcher (runOnce) and the matcher sweep itself, deterministically.
#include "app/daemon.h"
#include "common/clock.h"
#include "config/config.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace capi::testing {

class TestDatabase;
class FakeGraphServer;

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

// An HTTP/1.1 request to 127.0.0.1:port; throws on connection failure.
HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});

// Defaults for tests: the database, port 0, one pixel "111" without token, Stripe secret
// whsec_test_secret, matching.wait_seconds 600.
config::Config testConfig(const TestDatabase& db);
// Points meta.* at the fake server and gives pixel 111 a token.
void useGraph(config::Config& c, const FakeGraphServer& graph, const std::string& token = "EAAtesttoken");

inline constexpr const char* kStripeSecret = "whsec_test_secret";

class TestDaemon {
 public:
  // intake_poll: how often the matching threads poll (with background); a webhook stored here
  // wakes one at once. gather: how long matching threads and dispatch workers rest after a short
  // batch (Daemon::Dependencies::gather).
  TestDaemon(config::Config config, const Clock& clock, bool background = false,
             std::chrono::milliseconds intake_poll = std::chrono::seconds(1),
             std::chrono::milliseconds gather = std::chrono::milliseconds(25));
  ~TestDaemon();
  app::Daemon& operator*() { return *daemon_; }
  app::Daemon* operator->() { return daemon_.get(); }
  uint16_t port() const { return daemon_->port(); }

  HttpResult post(const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers = {{"Content-Type", "application/json"}}) const;
  HttpResult get(const std::string& path) const;
  // Signs body as Stripe does at `timestamp` (default: the clock's now) and posts it; then runs
  // the matching worker's step, so the delivery is matched when this returns.
  HttpResult postStripe(const std::string& body, int64_t timestamp = -1, const std::string& secret = kStripeSecret) const;

 private:
  const Clock& clock_;
  std::unique_ptr<app::Daemon> daemon_;
};

// Realistic Stripe event bodies.
struct StripeCheckout {
  std::string event_id = "evt_1";
  std::string type = "checkout.session.completed";
  std::string session_id = "cs_test_1";
  std::string payment_intent = "pi_1";
  std::string client_reference_id = "ORDER-1";
  std::string payment_status = "paid";
  int64_t amount_total = 1999;
  std::string currency = "eur";
  int64_t created = 0;         // the session's creation; also the event's unless event_created is set
  int64_t event_created = 0;   // the Stripe event's creation: the moment of payment
  std::string email = "John_Smith@gmail.com";
  std::string phone = "+16505551212";
  std::string name = "John Smith";
  std::string metadata_json = "{}";
};
std::string stripeCheckoutEvent(const StripeCheckout& c);
// Another order like c (same customer, reference and time): event evt_N, session cs_test_N,
// PaymentIntent pi_N.
StripeCheckout anotherOrder(const StripeCheckout& c, const std::string& n);
// A paid checkout for order KEY, created now: event evt_KEY, session cs_KEY, PaymentIntent pi_KEY,
// client_reference_id ORDER-KEY.
std::string checkoutFor(const Clock& clock, const std::string& key);
std::string stripePaymentIntentSucceeded(const std::string& event_id, const std::string& pi, int64_t amount,
                                         const std::string& currency, int64_t created,
                                         const std::string& metadata_json = "{}");

struct BrowserEvent {
  std::string event_name = "Purchase";
  std::string event_id = "browser-evt-1";
  int64_t event_time = 0;
  std::string order_ref = "ORDER-1";
  std::string url = "https://shop.example/checkout";
  std::string fbp = "fb.1.1596403881668.1116446470";
  std::string fbc = "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890";
  std::string email = "john_smith@gmail.com";
};
std::string browserEventJson(const BrowserEvent& e);

}  // namespace capi::testing
