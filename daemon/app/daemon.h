#pragma once
// The serve command's object graph: the one place concrete classes are wired together.
#include "capi/graph/graph_client.h"
#include "config/config.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace capi {
class Clock;
class Metrics;
}  // namespace capi
namespace capi::matching {
class Matcher;
}
namespace capi::dispatch {
class Dispatcher;
}
namespace capi::store {
class PgPool;
class OutboundStore;
class DeliveryInbox;
}  // namespace capi::store

namespace capi::app {

class Daemon {
 public:
  struct Dependencies {
    const Clock* clock = nullptr;                  // default: the system clock
    std::unique_ptr<graph::GraphApi> graph;        // default: the HTTPS client from meta.*
    std::string instance_id;                       // default: host:pid:random
    bool background = true;                        // dispatcher, sweeper, matching and LISTEN threads
    // How often matching threads look for stored deliveries they were not woken for (another
    // instance's, a crash's leftovers).
    std::chrono::milliseconds intake_poll = std::chrono::seconds(1);
    // After a round that found work but less than a full batch, a matching thread or dispatch
    // worker rests this long before taking more: a steady stream is then matched and sent in
    // batches of what arrived meanwhile, not a transaction (and a Graph request) for every few
    // webhooks. Stopping does not wait for a rest to end.
    std::chrono::milliseconds gather = std::chrono::milliseconds(25);
  };

  // Throws std::runtime_error when the listen address cannot be bound.
  Daemon(config::Config config, Dependencies deps);
  ~Daemon();

  // Applies migrations when database.auto_migrate, starts HTTP and the background threads.
  void start();
  // Stops accepting, lets in-flight requests finish, stops the workers.
  void stop();
  // New tokens, test event code, matching and alert settings, log level (SIGHUP).
  // Listen address, pool size and database URL need a restart.
  void reload(const config::Config& config);

  uint16_t port() const;
  // Empty when ready; otherwise why /readyz answers 503.
  std::string notReadyReason();
  // One sweep of waiting payments and (hourly) retention purge; run by the background thread.
  void maintenance();
  // Matches every stored webhook delivery not yet matched (status received), in batches; run
  // by the background intake thread whenever a webhook is stored, and every second. Returns the
  // number of deliveries processed; failures are logged and left for the next round.
  int matchReceived();

  matching::Matcher& matcher();
  dispatch::Dispatcher& dispatcher();
  store::DeliveryInbox& inbox();
  store::OutboundStore& outbound();
  Metrics& metrics();

 private:
  void wakeIntake();

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `serve`: load the configuration (exit 78 on problems), run until SIGTERM/SIGINT, reload on
// SIGHUP, notify systemd. REQUIRES: SIGTERM, SIGINT, SIGHUP blocked in every thread (runCli does).
int runServe(const std::string& config_path);

// `migrate`.
int runMigrate(const std::string& config_path);

// How long a matching thread rests after a full batch that took batch_took while webhooks wait
// for the inbox's write (a burst): three times as long, gather at least, 2 s at most.
std::chrono::nanoseconds burstRest(std::chrono::nanoseconds batch_took, std::chrono::milliseconds gather);

}  // namespace capi::app
