#include "app/endpoints.h"

#include "common/crypto.h"
#include "common/metrics.h"
#include "matching/arrival_readings.h"
#include "matching/matcher.h"
#include "store/delivery_inbox.h"
#include "store/ingest_store.h"
#include "store/pg_pool.h"
#include "webhooks/stripe/stripe_event_parser.h"
#include "webhooks/stripe/stripe_signature.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

namespace capi::app {
namespace {

using http::jsonError;
using http::jsonQuote;
using http::Outcome;
using http::Request;
using http::Response;

std::string problemsJson(const std::vector<FieldProblem>& problems) {
  std::string out = "[";
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i) out += ',';
    out += "{\"index\":" + std::to_string(problems[i].index) + ",\"field\":" + jsonQuote(problems[i].field) +
           ",\"problem\":" + jsonQuote(problems[i].problem) + "}";
  }
  return out + "]";
}

bool acceptableJsonType(const std::string& content_type) {
  if (content_type.empty()) return true;
  std::string ct = content_type.substr(0, content_type.find(';'));
  std::transform(ct.begin(), ct.end(), ct.begin(), ::tolower);
  ct.erase(std::remove(ct.begin(), ct.end(), ' '), ct.end());
  // text/plain: navigator.sendBeacon's default, which avoids a CORS preflight.
  return ct == "application/json" || ct == "text/plain";
}

class EventsEndpoint final : public http::Endpoint {
 public:
  EventsEndpoint(std::shared_ptr<const Reloadable<EventsEndpointOptions>> o, store::IngestStore& store,
                 matching::Matcher& matcher, const Clock& clock, Metrics& metrics)
      : options_(std::move(o)), store_(store), matcher_(matcher), clock_(clock), metrics_(metrics) {
    metrics_.describe("capi_browser_events_total", "counter", "Browser events received, by outcome.");
  }

  Response handle(const Request& req) override {
    const auto options = options_->get();
    const EventsEndpointOptions& o = *options;
    const std::string origin = req.header("Origin");
    const bool origin_allowed =
        !origin.empty() && std::find(o.cors_origins.begin(), o.cors_origins.end(), origin) != o.cors_origins.end();
    Response r = handleInner(o, req, origin, origin_allowed);
    if (origin_allowed) {
      r.headers.emplace_back("Access-Control-Allow-Origin", origin);
      r.headers.emplace_back("Vary", "Origin");
    }
    return r;
  }

 private:
  Response handleInner(const EventsEndpointOptions& o, const Request& req, const std::string& origin,
                       bool origin_allowed) {
    if (req.method == "OPTIONS") {
      if (!origin_allowed) return jsonError(Outcome::Forbidden, "origin not in server.cors_origins");
      Response r;
      r.outcome = Outcome::NoContent;
      r.headers = {{"Access-Control-Allow-Methods", "POST, OPTIONS"},
                   {"Access-Control-Allow-Headers", "Content-Type, X-Ingest-Key"},
                   {"Access-Control-Max-Age", "86400"}};
      return r;
    }
    if (!origin.empty() && !o.cors_origins.empty() && !origin_allowed) {
      count("forbidden_origin");
      return jsonError(Outcome::Forbidden, "origin not in server.cors_origins");
    }
    if (!o.ingest_key.empty() && !constantTimeEquals(req.header("X-Ingest-Key"), o.ingest_key)) {
      count("unauthorized");
      return jsonError(Outcome::Unauthorized, "missing or wrong X-Ingest-Key");
    }
    if (!acceptableJsonType(req.header("Content-Type"))) {
      count("bad_request");
      return jsonError(Outcome::UnsupportedMediaType, "send the events as application/json");
    }
    const TimePoint now = clock_.now();
    RequestOrigin ro{http::resolveClientIp(req.peer_ip, req.header("X-Forwarded-For"), o.trusted_proxies),
                     req.header("User-Agent")};
    auto batch = parseClientEvents(req.body, ro, now, o.time_policy, o.normalize);
    if (!batch.problems.empty()) {
      count("bad_request");
      Response r;
      r.outcome = Outcome::BadRequest;
      r.body = "{\"error\":\"invalid events; nothing was stored\",\"problems\":" + problemsJson(batch.problems) + "}";
      return r;
    }
    std::vector<bool> inserted;
    try {
      inserted = store_.insertClientEvents(batch.events);
    } catch (const store::DatabaseUnavailable& e) {
      spdlog::error("POST /v1/events: {}", e.what());
      count("unavailable");
      return jsonError(Outcome::ServiceUnavailable, "database unavailable; retry later");
    }
    const auto stored = static_cast<int>(std::count(inserted.begin(), inserted.end(), true));
    const int duplicates = static_cast<int>(inserted.size()) - stored;
    count("stored", stored);
    count("duplicate", duplicates);
    try {
      matcher_.onBrowserEvents(batch.events);
    } catch (const std::exception& e) {
      // The events are stored; the periodic sweep will match them.
      spdlog::warn("matching after browser events deferred: {}", e.what());
    }
    Response r;
    r.outcome = Outcome::Accepted;
    r.body = "{\"stored\":" + std::to_string(stored) + ",\"duplicates\":" + std::to_string(duplicates) +
             ",\"warnings\":" + problemsJson(batch.warnings) + "}";
    return r;
  }

  void count(const std::string& outcome, int n = 1) {
    if (n > 0) metrics_.increment("capi_browser_events_total", {{"outcome", outcome}}, n);
  }

  std::shared_ptr<const Reloadable<EventsEndpointOptions>> options_;
  store::IngestStore& store_;
  matching::Matcher& matcher_;
  const Clock& clock_;
  Metrics& metrics_;
};

class StripeEndpoint final : public http::Endpoint {
 public:
  StripeEndpoint(std::shared_ptr<const Reloadable<StripeEndpointOptions>> o, store::DeliveryInbox& inbox,
                 matching::ArrivalReadings* readings, std::function<void()> stored, const Clock& clock,
                 Metrics& metrics)
      : options_(std::move(o)), inbox_(inbox), readings_(readings), stored_(std::move(stored)), clock_(clock),
        metrics_(metrics) {
    metrics_.describe("capi_webhooks_total", "counter", "Webhook deliveries, by provider and outcome.");
    metrics_.describe("capi_stripe_invoice_payments_split", "gauge",
                      "1 when Stripe's API version no longer joins an invoice to its PaymentIntent and "
                      "PaymentIntent or charge payments are paid types: such payments become two Purchases.");
    metrics_.set("capi_stripe_invoice_payments_split", {}, 0);
  }

  Response handle(const Request& req) override {
    using webhooks::stripe::SignatureOutcome;
    const auto options = options_->get();
    const webhooks::stripe::StripeSignatureVerifier verifier(options->secrets, options->tolerance_seconds);
    const auto sig = verifier.verify(req.header("Stripe-Signature"), req.body, clock_.now());
    if (sig != SignatureOutcome::Valid) {
      count("bad_signature");
      spdlog::warn("stripe webhook refused from {}: {}", req.peer_ip, webhooks::stripe::describe(sig));
      return jsonError(Outcome::BadRequest, webhooks::stripe::describe(sig));
    }
    // Read now, so a body matching cannot use is refused while Stripe still listens; what is
    // read is kept for this instance's matching worker (it reads the stored body otherwise).
    auto parsed = webhooks::stripe::parseStripeEvent(req.body, options->paid_event_types);
    if (parsed.status != webhooks::ParseStatus::Ok) {
      count("malformed");
      spdlog::warn("stripe webhook malformed: {}", parsed.error);
      return jsonError(Outcome::BadRequest, "malformed event: " + parsed.error);
    }
    // Shared, so that what was read is kept for this instance's matching worker without a copy;
    // read only (here and by matching) once the delivery is handed to the inbox.
    const auto facts = std::make_shared<webhooks::PaymentFacts>(std::move(parsed.facts));
    auto& f = *facts;
    webhooks::stripe::ignoreTestModeUnlessAccepted(f, options->accept_test_mode);
    if (f.paid) noteInvoiceSplit(f, options->paid_event_types);
    store::DeliveryRecord d;
    d.provider = f.provider;
    d.delivery_id = f.delivery_id;
    d.event_type = f.event_type;
    d.order_ref = f.order_ref;
    d.status = f.paid ? "received" : "ignored";
    d.status_reason = f.ignore_reason;
    d.livemode = f.livemode;
    d.raw_body = req.body;
    d.received_at = clock_.now();
    // Kept for the matching worker as soon as the row is committed.
    std::function<void(int64_t)> keep;
    if (f.paid && readings_)
      keep = [this, &options, &facts](int64_t row) { readings_->remember(row, options, facts); };
    std::optional<int64_t> row;
    try {
      row = inbox_.store(d, keep);
    } catch (const store::DatabaseUnavailable& e) {
      count("unavailable");
      spdlog::error("stripe webhook {} not stored, answering 503 so Stripe retries: {}", f.delivery_id, e.what());
      return jsonError(Outcome::ServiceUnavailable, "database unavailable; retry later");
    }
    std::string status;
    std::string detail;
    if (!row) {
      status = "duplicate";
      detail = "delivery " + f.delivery_id + " was already received";
    } else if (!f.paid) {
      status = "ignored";
      detail = f.ignore_reason;
    } else {
      status = "stored";
      detail = "delivery " + f.delivery_id + " stored; matching follows";
    }
    count(status);
    spdlog::info("stripe {} {}: {}", f.event_type, f.delivery_id, status);
    Response r;
    r.body = "{\"status\":" + jsonQuote(status) + ",\"detail\":" + jsonQuote(detail) + "}";
    if (row && f.paid && stored_) stored_();
    return r;
  }

 private:
  void count(const std::string& outcome) {
    metrics_.increment("capi_webhooks_total", {{"provider", "stripe"}, {"outcome", outcome}});
  }

  // A payment known by its invoice alone, in an API version that no longer joins an invoice to
  // its PaymentIntent, while PaymentIntent or charge payments are paid types too: said once in
  // the log and kept in a gauge, until such a payment arrives under paid types without them
  // (after a reload). A request still on the settings before a reload may set it once more.
  void noteInvoiceSplit(const webhooks::PaymentFacts& f, const std::vector<std::string>& paid_types) {
    // Only such a payment says anything either way.
    if (!webhooks::stripe::knownOnlyByInvoice(f)) return;
    const bool split = webhooks::stripe::splitsInvoicePayments(f, paid_types);
    metrics_.set("capi_stripe_invoice_payments_split", {}, split ? 1 : 0);
    if (split && !split_said_.exchange(true))
      spdlog::warn("stripe {} {} is written in API version {}, in which a PaymentIntent or charge no longer names "
                   "its invoice: with payment_intent.succeeded or charge.succeeded in stripe.paid_event_types, this "
                   "payment and its PaymentIntent's become two Purchases. Take them out: checkout.session.completed "
                   "and invoice.paid cover Checkout, subscriptions and invoices",
                   f.event_type, f.delivery_id, f.api_version);
    if (!split) split_said_ = false;
  }

  std::atomic<bool> split_said_{false};

  std::shared_ptr<const Reloadable<StripeEndpointOptions>> options_;
  store::DeliveryInbox& inbox_;
  matching::ArrivalReadings* readings_;
  std::function<void()> stored_;
  const Clock& clock_;
  Metrics& metrics_;
};

class FunctionEndpoint final : public http::Endpoint {
 public:
  explicit FunctionEndpoint(std::function<Response(const Request&)> fn) : fn_(std::move(fn)) {}
  Response handle(const Request& req) override { return fn_(req); }

 private:
  std::function<Response(const Request&)> fn_;
};

}  // namespace

std::shared_ptr<http::Endpoint> makeEventsEndpoint(std::shared_ptr<const Reloadable<EventsEndpointOptions>> options,
                                                   store::IngestStore& store,
                                                   matching::Matcher& matcher, const Clock& clock,
                                                   Metrics& metrics) {
  return std::make_shared<EventsEndpoint>(std::move(options), store, matcher, clock, metrics);
}

std::shared_ptr<http::Endpoint> makeStripeEndpoint(std::shared_ptr<const Reloadable<StripeEndpointOptions>> options,
                                                   store::DeliveryInbox& inbox, matching::ArrivalReadings* readings,
                                                   std::function<void()> stored, const Clock& clock, Metrics& metrics) {
  return std::make_shared<StripeEndpoint>(std::move(options), inbox, readings, std::move(stored), clock, metrics);
}

std::shared_ptr<http::Endpoint> makeHealthEndpoint() {
  return std::make_shared<FunctionEndpoint>([](const Request&) {
    Response r;
    r.body = "{\"status\":\"ok\"}";
    return r;
  });
}

std::shared_ptr<http::Endpoint> makeReadyEndpoint(std::function<std::string()> not_ready_reason) {
  return std::make_shared<FunctionEndpoint>([fn = std::move(not_ready_reason)](const Request&) {
    const std::string reason = fn();
    if (!reason.empty()) return jsonError(Outcome::ServiceUnavailable, reason);
    Response r;
    r.body = "{\"status\":\"ready\"}";
    return r;
  });
}

std::shared_ptr<http::Endpoint> makeMetricsEndpoint(Metrics& metrics) {
  return std::make_shared<FunctionEndpoint>([&metrics](const Request&) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics.render();
    return r;
  });
}

}  // namespace capi::app
