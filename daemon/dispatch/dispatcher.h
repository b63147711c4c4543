#pragma once
// The outbox worker: claim due rows under a lease, batch them per pixel, send, and record
// each outcome (SPEC §4). Error classes decide what happens next:
//   transient  -> retrying with backoff, never scheduled past event_time + 7 days (then dead)
//   invalid    -> the batch is split until the bad event is alone; only it goes dead
//   token/perm -> the pixel is paused without spending attempts and probed until it works
#include "common/clock.h"
#include "dispatch/backoff.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace capi {
class Metrics;
}
namespace capi::graph {
class GraphApi;
}
namespace capi::store {
class OutboundStore;
struct ClaimedEvent;
struct EventOutcome;
struct AttemptRecord;
}  // namespace capi::store

namespace capi::dispatch {

struct DispatchSettings {
  int workers = 2;
  std::chrono::seconds lease{120};
  std::chrono::milliseconds poll_interval{1000};
  // After a cycle that sent events but fewer than a full batch, a worker rests this long before
  // it claims again: a steady stream then goes out in batches of what arrived meanwhile instead
  // of a claim, an outcome update and a Graph request for every few events.
  std::chrono::milliseconds gather{25};
  int batch_size = 100;
  BackoffPolicy backoff;
  std::chrono::seconds pause_probe{300};
  std::map<std::string, std::string> tokens;   // pixel_id -> access token ("" = dry-run)
  std::string test_event_code;                 // sent when non-empty (staging only)
  double alert_error_ratio = 0.02;
  std::chrono::seconds alert_window{900};
};

// Wakes sleeping workers early (a commit created sendable rows, or a NOTIFY arrived).
class Wakeup {
 public:
  void notify();
  // Returns when notified or after timeout, but not before a rest of any worker has ended;
  // consumes the notification.
  void waitFor(std::chrono::milliseconds timeout);
  // Returns after timeout, or at once on shutdown; leaves a notification for the next waitFor.
  // Until then, no worker's waitFor returns (shutdown aside).
  void rest(std::chrono::milliseconds timeout);
  // Every present and future wait returns at once.
  void shutdown();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point rest_until_;
};

class Dispatcher {
 public:
  Dispatcher(store::OutboundStore& store, graph::GraphApi& api, const Clock& clock, Metrics& metrics,
             DispatchSettings settings, std::string instance_id);
  ~Dispatcher();

  void start();   // starts settings.workers threads
  void stop();    // finishes in-flight sends, joins
  void wake() { wakeup_.notify(); }

  // New tokens / test code; paused pixels are probed right away.
  void updateSettings(DispatchSettings settings);

  // One claim-send-record cycle on the calling thread. Returns the number of rows claimed.
  // Throws store::DatabaseUnavailable.
  int runOnce();

  // The send error ratio over the alert window (0 when nothing was sent).
  double errorRatio() const;

  // The settings in force (updateSettings replaces them; a snapshot stays valid).
  std::shared_ptr<const DispatchSettings> settings() const;

 private:
  struct Cycle;
  // Probes paused pixels and sends the events that waited for a token, now; false when the
  // database could not be told.
  bool retryPausedNow();
  void workerLoop();
  void sendGroup(Cycle& cycle, const std::string& pixel, std::vector<const store::ClaimedEvent*> events);
  void recordOutcomeForWindow(bool error, int count);
  void recordCompletion(Cycle& cycle);

  store::OutboundStore& store_;
  graph::GraphApi& api_;
  const Clock& clock_;
  Metrics& metrics_;
  std::string owner_;
  mutable std::mutex mu_;
  std::shared_ptr<const DispatchSettings> settings_;
  Wakeup wakeup_;
  std::atomic<bool> running_{false};
  // retryPausedNow() is owed (at start, or after it failed on a reload); a worker does it.
  std::atomic<bool> retry_paused_pending_{false};
  std::atomic<bool> retry_paused_failing_{false};   // its failure was logged
  std::atomic<uint64_t> cycles_{0};
  std::vector<std::thread> threads_;
  std::mt19937_64 rng_;
  std::mutex rng_mu_;
  // Sliding window of (time, errors, total) per send, for the error-ratio alert.
  mutable std::mutex window_mu_;
  std::deque<std::tuple<TimePoint, int, int>> window_;
  bool alerting_ = false;
};

}  // namespace capi::dispatch
