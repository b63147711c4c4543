#pragma once
// The HTTP endpoints, each a thin adapter from http::Request to one service call.
#include "capi/client_event.h"
#include "http/endpoint.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace capi {
class Clock;
class Metrics;
}  // namespace capi
namespace capi::store {
class DeliveryInbox;
class IngestStore;
class PgPool;
}  // namespace capi::store
namespace capi::matching {
class ArrivalReadings;
class Matcher;
}
namespace capi::webhooks::stripe {
class StripeSignatureVerifier;
}

namespace capi::app {

// Options an endpoint reads once per request; the daemon replaces them on reload (SIGHUP), and a
// request in flight keeps the set it started with.
template <typename T>
class Reloadable {
 public:
  explicit Reloadable(T value) : value_(std::make_shared<const T>(std::move(value))) {}
  std::shared_ptr<const T> get() const {
    std::lock_guard lock(mu_);
    return value_;
  }
  void set(T value) {
    auto next = std::make_shared<const T>(std::move(value));
    std::lock_guard lock(mu_);
    value_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;
};

struct EventsEndpointOptions {
  std::vector<std::string> trusted_proxies;
  std::vector<std::string> cors_origins;
  std::string ingest_key;
  EventTimePolicy time_policy;
  normalize::Options normalize;
};

// POST/OPTIONS /v1/events.
std::shared_ptr<http::Endpoint> makeEventsEndpoint(std::shared_ptr<const Reloadable<EventsEndpointOptions>> options,
                                                   store::IngestStore& store,
                                                   matching::Matcher& matcher, const Clock& clock,
                                                   Metrics& metrics);

struct StripeEndpointOptions {
  std::vector<std::string> secrets;
  int tolerance_seconds = 300;
  std::vector<std::string> paid_event_types;
  // Stripe test-mode events (livemode false) are real payments only to a staging instance; a
  // production one stores them as ignored.
  bool accept_test_mode = false;
};

// POST /webhooks/stripe: verify, read, store the delivery (200 once it is committed), then
// call stored() so the matching worker takes it.
// REQUIRES: options' secrets are never empty.
// readings: where each paid delivery's facts are kept for this instance's matching worker (null:
// nowhere; matching reads the stored body).
std::shared_ptr<http::Endpoint> makeStripeEndpoint(std::shared_ptr<const Reloadable<StripeEndpointOptions>> options,
                                                   store::DeliveryInbox& inbox, matching::ArrivalReadings* readings,
                                                   std::function<void()> stored, const Clock& clock, Metrics& metrics);

// GET /healthz: the process answers.
std::shared_ptr<http::Endpoint> makeHealthEndpoint();
// GET /readyz: the database answers and every migration file is applied.
std::shared_ptr<http::Endpoint> makeReadyEndpoint(std::function<std::string()> not_ready_reason);
// GET /metrics.
std::shared_ptr<http::Endpoint> makeMetricsEndpoint(Metrics& metrics);

}  // namespace capi::app
