#include "support/test_daemon.h"

#include "common/crypto.h"
#include "common/json_text.h"
#include "common/log.h"
#include "support/fake_graph_server.h"
#include "support/test_certs.h"
#include "support/test_env.h"
#include "webhooks/stripe/stripe_signature.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <sstream>

namespace capi::testing {

HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
  Poco::Net::HTTPClientSession s("127.0.0.1", port);
  s.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST") req.setContentLength64(static_cast<Poco::Int64>(body.size()));
  s.sendRequest(req) << body;
  Poco::Net::HTTPResponse res;
  std::istream& in = s.receiveResponse(res);
  HttpResult out;
  out.status = res.getStatus();
  Poco::StreamCopier::copyToString(in, out.body);
  for (const auto& [k, v] : res) out.headers[k] = v;
  return out;
}

config::Config testConfig(const TestDatabase& db) {
  config::Config c;
  c.log_level = "warn";
  c.server.port = 0;
  c.server.threads = 16;
  c.database.url = db.url();
  c.database.pool_size = 8;
  c.database.migrations_dir = migrationsDir();
  c.pixels.push_back({"default", "111", ""});
  c.stripe.webhook_secrets = {kStripeSecret};
  c.meta.graph_url = "https://127.0.0.1:9";   // unused until useGraph()
  c.dispatch.poll_interval_ms = 50;
  return c;
}

void useGraph(config::Config& c, const FakeGraphServer& graph, const std::string& token) {
  c.meta.graph_url = graph.baseUrl();
  c.meta.ca_file = graph.caFile();
  c.meta.timeout_ms = 5000;
  for (auto& p : c.pixels) p.access_token = token;
}

TestDaemon::TestDaemon(config::Config config, const Clock& clock, bool background,
                       std::chrono::milliseconds intake_poll, std::chrono::milliseconds gather)
    : clock_(clock) {
  ensureSslInitialized();
  setupLogging(config.log_level);
  app::Daemon::Dependencies deps;
  deps.clock = &clock;
  deps.background = background;
  deps.intake_poll = intake_poll;
  deps.gather = gather;
  daemon_ = std::make_unique<app::Daemon>(std::move(config), std::move(deps));
  daemon_->start();
}

TestDaemon::~TestDaemon() { daemon_->stop(); }

HttpResult TestDaemon::post(const std::string& path, const std::string& body,
                            const std::map<std::string, std::string>& headers) const {
  return httpRequest(port(), "POST", path, body, headers);
}

HttpResult TestDaemon::get(const std::string& path) const { return httpRequest(port(), "GET", path); }

HttpResult TestDaemon::postStripe(const std::string& body, int64_t timestamp, const std::string& secret) const {
  const int64_t t = timestamp >= 0 ? timestamp : toUnixSeconds(clock_.now());
  auto r = post("/webhooks/stripe", body,
                {{"Content-Type", "application/json"},
                 {"Stripe-Signature", webhooks::stripe::StripeSignatureVerifier::sign(secret, t, body)}});
  daemon_->matchReceived();
  return r;
}

std::string checkoutFor(const Clock& clock, const std::string& key) {
  StripeCheckout sc;
  sc.event_id = "evt_" + key;
  sc.session_id = "cs_" + key;
  sc.payment_intent = "pi_" + key;
  sc.client_reference_id = "ORDER-" + key;
  sc.created = toUnixSeconds(clock.now());
  return stripeCheckoutEvent(sc);
}

StripeCheckout anotherOrder(const StripeCheckout& c, const std::string& n) {
  StripeCheckout o = c;
  o.event_id = "evt_" + n;
  o.session_id = "cs_test_" + n;
  o.payment_intent = "pi_" + n;
  return o;
}

std::string stripeCheckoutEvent(const StripeCheckout& c) {
  std::ostringstream s;
  s << R"({"id":")" << c.event_id << R"(","object":"event","api_version":"2024-06-20","created":)"
    << (c.event_created != 0 ? c.event_created : c.created)
    << R"(,"livemode":true,"pending_webhooks":1,"type":")" << c.type << R"(","data":{"object":{"id":")"
    << c.session_id << R"(","object":"checkout.session","amount_subtotal":)" << c.amount_total
    << R"(,"amount_total":)" << c.amount_total << R"(,"client_reference_id":)"
    << (c.client_reference_id.empty() ? "null" : jsonQuote(c.client_reference_id))
    << R"(,"created":)" << c.created << R"(,"currency":")" << c.currency
    << R"(","customer_details":{"address":{"city":"Menlo Park","country":"US","line1":"1 Hacker Way","postal_code":"94025","state":"CA"},"email":")"
    << c.email << R"(","name":")" << c.name << R"(","phone":")" << c.phone
    << R"("},"livemode":true,"metadata":)" << c.metadata_json << R"(,"mode":"payment","payment_intent":)"
    << (c.payment_intent.empty() ? "null" : "\"" + c.payment_intent + "\"") << R"(,"payment_status":")"
    << c.payment_status << R"(","status":"complete"}}})";
  return s.str();
}

std::string stripePaymentIntentSucceeded(const std::string& event_id, const std::string& pi, int64_t amount,
                                         const std::string& currency, int64_t created, const std::string& metadata_json) {
  std::ostringstream s;
  s << R"({"id":")" << event_id << R"(","object":"event","created":)" << created
    << R"(,"livemode":true,"type":"payment_intent.succeeded","data":{"object":{"id":")" << pi
    << R"(","object":"payment_intent","amount":)" << amount << R"(,"amount_received":)" << amount
    << R"(,"currency":")" << currency << R"(","created":)" << created << R"(,"metadata":)" << metadata_json
    << R"(,"receipt_email":"john_smith@gmail.com","status":"succeeded"}}})";
  return s.str();
}

std::string browserEventJson(const BrowserEvent& e) {
  std::ostringstream s;
  s << R"({"event_name":")" << e.event_name << R"(","event_id":")" << e.event_id << R"(","event_time":)"
    << e.event_time;
  if (!e.order_ref.empty()) s << R"(,"order_ref":)" << jsonQuote(e.order_ref);
  s << R"(,"event_source_url":")" << e.url << R"(","user_data":{"em":")" << e.email << R"(","fbp":")" << e.fbp
    << R"(","fbc":")" << e.fbc << R"J(","client_ip_address":"203.0.113.7","client_user_agent":"Mozilla/5.0 (X11; Linux x86_64)"})J";
  s << "}";
  return s.str();
}

}  // namespace capi::testing
