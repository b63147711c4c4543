#include "dispatch/dispatcher.h"

#include "capi/graph/graph_client.h"
#include "common/meta_limits.h"
#include "common/metrics.h"
#include "store/outbound_store.h"
#include "store/pg_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace capi::dispatch {
namespace {
// The last retry is due this long before Meta's 7 days (less the expiry margin) run out.
constexpr std::chrono::seconds kLastRetryLead = std::chrono::minutes(1);
// last_error of an event that waits because this instance has no access token for its pixel.
constexpr const char* kNoTokenError = "no access token for this pixel on this instance: not sent, waiting";

// Gives claimed events back untouched (status ""): due again as they were, no attempt spent.
void giveBack(std::vector<store::EventOutcome>& outcomes, const std::vector<const store::ClaimedEvent*>& events,
              TimePoint now) {
  for (const auto* e : events) outcomes.push_back({e->id, "", false, now, "", {}, "", false});
}
}  // namespace

void Wakeup::shutdown() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

void Wakeup::notify() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_all();
}

void Wakeup::waitFor(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  const auto deadline = Clock::now() + timeout;
  while (!stopped_) {
    // Another worker's rest holds this one too: what arrives meanwhile is one batch, for the
    // one worker that takes the wake-up after the rest (not every held worker at once).
    if (const auto until = rest_until_; until > Clock::now()) {
      cv_.wait_until(lock, until, [&] { return stopped_; });
      continue;
    }
    if (pending_ || Clock::now() >= deadline) break;
    cv_.wait_until(lock, deadline, [&] { return stopped_ || pending_ || rest_until_ > Clock::now(); });
  }
  pending_ = false;
}

void Wakeup::rest(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + timeout;
  rest_until_ = std::max(rest_until_, until);
  cv_.wait_until(lock, until, [&] { return stopped_; });
}

struct Dispatcher::Cycle {
  std::shared_ptr<const DispatchSettings> settings;
  std::string token;
  std::vector<int64_t> claimed_ids;
  TimePoint leased_at{};        // when the lease was taken or last renewed
  std::set<int64_t> taken_over;   // claimed, but another cycle holds them now: not sent here
  std::set<std::string> paused;
  std::vector<store::EventOutcome> outcomes;
  std::vector<store::AttemptRecord> attempts;
};

Dispatcher::Dispatcher(store::OutboundStore& store, graph::GraphApi& api, const Clock& clock, Metrics& metrics,
                       DispatchSettings settings, std::string instance_id)
    : store_(store), api_(api), clock_(clock), metrics_(metrics), owner_(std::move(instance_id)),
      settings_(std::make_shared<const DispatchSettings>(std::move(settings))), rng_(std::random_device{}()) {
  metrics_.describe("capi_events_sent_total", "counter", "Events Meta accepted, by pixel.");
  metrics_.describe("capi_events_retried_total", "counter", "Events scheduled for another attempt, by pixel and reason.");
  metrics_.describe("capi_events_dead_total", "counter", "Events that ended dead, by pixel and reason.");
  metrics_.describe("capi_send_error_ratio", "gauge", "Failed share of event sends over alerts.window_seconds.");
  metrics_.describe("capi_pixel_paused", "gauge",
                    "1 while a pixel is paused for a token or permission error or a refused request.");
  metrics_.describe("capi_test_event_code_active", "gauge", "1 when events are sent with a test event code.");
  metrics_.set("capi_test_event_code_active", {}, settings_->test_event_code.empty() ? 0 : 1);
}

Dispatcher::~Dispatcher() { stop(); }

std::shared_ptr<const DispatchSettings> Dispatcher::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

void Dispatcher::updateSettings(DispatchSettings settings) {
  {
    std::lock_guard lock(mu_);
    settings_ = std::make_shared<const DispatchSettings>(std::move(settings));
  }
  metrics_.set("capi_test_event_code_active", {}, settings_->test_event_code.empty() ? 0 : 1);
  if (!retryPausedNow()) retry_paused_pending_ = true;   // a worker repeats it
  wake();
}

bool Dispatcher::retryPausedNow() {
  try {
    store_.probePausedNow(clock_.now());
    // Events that waited for a token are sent at once when the configuration brings one.
    std::vector<std::string> with_token;
    const auto current = this->settings();
    for (const auto& [pixel, token] : current->tokens)
      if (!token.empty()) with_token.push_back(pixel);
    store_.makeDueNow(with_token, kNoTokenError, clock_.now());
    if (retry_paused_failing_.exchange(false)) spdlog::info("probes of paused pixels scheduled");
    return true;
  } catch (const std::exception& e) {
    if (!retry_paused_failing_.exchange(true))
      spdlog::warn("could not schedule probes of paused pixels and events waiting for a token, retrying: {}",
                   e.what());
    return false;
  }
}

void Dispatcher::start() {
  if (running_.exchange(true)) return;
  // A restart is how a token from a systemd credential or a new meta.api_version arrives: paused
  // pixels are probed at once rather than at their next probe time. A worker does it (until the
  // database answers), so a database that is down does not hold up the start.
  retry_paused_pending_ = true;
  const int n = std::max(1, settings()->workers);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { workerLoop(); });
}

void Dispatcher::stop() {
  if (!running_.exchange(false)) return;
  wakeup_.shutdown();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Dispatcher::workerLoop() {
  bool db_down = false;
  while (running_) {
    int claimed = 0;
    if (retry_paused_pending_.exchange(false) && !retryPausedNow()) retry_paused_pending_ = true;
    try {
      claimed = runOnce();
      if (db_down) spdlog::info("dispatcher: database reachable again, sending resumes");
      db_down = false;
    } catch (const store::DatabaseUnavailable& e) {
      if (!db_down) spdlog::error("dispatcher paused: {}", e.what());
      db_down = true;
    } catch (const std::exception& e) {
      spdlog::error("dispatcher cycle failed: {}", e.what());
    }
    // A claim that came back short of a full batch found every due row: wait for the next
    // wake-up (new rows notify) or the poll. Claiming again at once came back empty almost
    // every time: at 300 webhooks/s that made 2.5 claims per event sent.
    // A short claim that found rows rests first (settings.gather), so that the next claim
    // takes what arrived meanwhile as one batch.
    if (claimed < std::clamp(settings()->batch_size, 1, 1000) && running_) {
      if (claimed > 0) wakeup_.rest(settings()->gather);
      wakeup_.waitFor(settings()->poll_interval);
    }
  }
}

int Dispatcher::runOnce() {
  Cycle cycle;
  cycle.settings = settings();
  // Each cycle's claim is its own lease token, so a cycle whose lease ran out cannot overwrite
  // the rows another cycle (of this or another instance) has claimed since.
  cycle.token = owner_ + "#" + std::to_string(cycles_.fetch_add(1));
  const auto& s = *cycle.settings;
  const TimePoint now = clock_.now();
  // Meta takes at most 1,000 events per request; a size below 1 would never advance the batching.
  const size_t batch_size = static_cast<size_t>(std::clamp(s.batch_size, 1, 1000));
  auto claimed = store_.claim(cycle.token, now, s.lease, static_cast<int>(batch_size));
  if (claimed.empty()) return 0;
  cycle.leased_at = now;
  for (const auto& e : claimed) cycle.claimed_ids.push_back(e.id);

  for (const auto& p : store_.pausedPixels()) cycle.paused.insert(p.pixel_id);

  std::map<std::string, std::vector<const store::ClaimedEvent*>> groups;
  for (const auto& e : claimed) {
    if (tooOldForMeta(e.event_time, now)) {
      store::EventOutcome o;
      o.id = e.id;
      o.status = "dead";
      o.count_attempt = false;
      o.next_attempt_at = now;
      o.last_error = "expired: event_time is more than 7 days old, Meta would reject it; not sent";
      cycle.outcomes.push_back(o);
      metrics_.increment("capi_events_dead_total", {{"pixel", e.pixel_id}, {"reason", "expired"}});
      continue;
    }
    groups[e.pixel_id].push_back(&e);
  }

  for (auto& [pixel, events] : groups) {
    auto tok = s.tokens.find(pixel);
    if (tok == s.tokens.end() || tok->second.empty()) {
      // A reload may have brought the token since this cycle began: give the events back, due
      // now, for the next cycle to send with it.
      const auto current = settings();
      if (auto t = current->tokens.find(pixel); t != current->tokens.end() && !t->second.empty()) {
        giveBack(cycle.outcomes, events, now);
        continue;
      }
      // The pixel lost its token here (removed by a reload while a new one is awaited, or this
      // instance's configuration lags another's): nothing may leave the machine, and nothing is
      // lost either. The events wait, spending no attempt, and are looked at again after
      // pause_probe_seconds (or go dead as expired after Meta's 7 days).
      for (const auto* e : events) {
        store::EventOutcome o;
        o.id = e->id;
        o.status = e->attempts > 0 ? "retrying" : "pending";
        o.count_attempt = false;
        o.next_attempt_at = now + s.pause_probe;
        o.last_error = kNoTokenError;
        cycle.outcomes.push_back(o);
      }
      spdlog::warn("pixel {}: {} event(s) wait: this instance has no access token for the pixel; looked at again "
                   "in {} s",
                   pixel, events.size(), s.pause_probe.count());
      continue;
    }
    if (cycle.paused.count(pixel)) {
      // A paused pixel's probe: one event tells whether the token works again.
      giveBack(cycle.outcomes, {events.begin() + 1, events.end()}, now);
      events.resize(1);
    }
    for (size_t i = 0; i < events.size(); i += batch_size) {
      std::vector<const store::ClaimedEvent*> batch(events.begin() + static_cast<long>(i),
                                                    events.begin() + static_cast<long>(std::min(events.size(), i + batch_size)));
      sendGroup(cycle, pixel, std::move(batch));
    }
  }
  recordCompletion(cycle);
  // Events given back untouched (a paused pixel's, beyond its probe) are due again now: if the
  // probe found the token working, a worker must claim them without waiting for the poll.
  if (std::any_of(cycle.outcomes.begin(), cycle.outcomes.end(), [](const auto& o) { return o.status.empty(); }))
    wake();
  return static_cast<int>(claimed.size());
}

void Dispatcher::sendGroup(Cycle& cycle, const std::string& pixel, std::vector<const store::ClaimedEvent*> events) {
  const auto& s = *cycle.settings;
  // A cycle can outlast its lease: a batch split down to single events is up to 2n - 1 requests.
  // Past half the lease, it is renewed before the next request, so no other worker takes these
  // events over meanwhile. Events taken over already (the lease ran out first) are left to the
  // cycle that holds them now: sending them here too would send them twice.
  if (const TimePoint before = clock_.now(); before - cycle.leased_at >= s.lease / 2) {
    try {
      const auto held = store_.renewLease(cycle.token, cycle.claimed_ids, before + s.lease);
      cycle.leased_at = before;
      const std::set<int64_t> still(held.begin(), held.end());
      const size_t known = cycle.taken_over.size();
      for (const auto id : cycle.claimed_ids)
        if (!still.count(id)) cycle.taken_over.insert(id);
      if (cycle.taken_over.size() > known)
        spdlog::warn("dispatch: {} of {} claimed event(s) were taken over by another worker after their lease ran "
                     "out; this cycle leaves them to it",
                     cycle.taken_over.size(), cycle.claimed_ids.size());
    } catch (const std::exception& e) {
      spdlog::warn("dispatch: could not renew a lease, sending on: {}", e.what());
    }
  }
  if (!cycle.taken_over.empty()) {
    std::erase_if(events, [&](const store::ClaimedEvent* e) { return cycle.taken_over.count(e->id) > 0; });
    if (events.empty()) return;
  }
  // A pixel paused earlier in this cycle: release the rest untouched.
  if (cycle.paused.count(pixel) && events.size() > 1) {
    giveBack(cycle.outcomes, events, clock_.now());
    return;
  }
  graph::GraphRequest req;
  req.pixel_id = pixel;
  req.access_token = s.tokens.at(pixel);
  req.test_event_code = s.test_event_code;
  req.data_json = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) req.data_json += ',';
    req.data_json += events[i]->payload_json;
  }
  req.data_json += ']';

  const auto resp = api_.sendEvents(req);
  const TimePoint now = clock_.now();
  const auto cls = graph::classify(resp);
  const std::string description = graph::describe(resp);
  const std::optional<int> http = resp.http_status ? std::optional<int>(resp.http_status) : std::nullopt;
  const std::string trace = resp.kind == graph::GraphResponse::Kind::Success ? resp.fbtrace_id : resp.error.fbtrace_id;
  // Why a transient failure happened; send_attempts.error_class and the retry metric use it.
  const std::string reason = resp.kind == graph::GraphResponse::Kind::Transport ? "network"
                             : resp.http_status >= 500                          ? "server"
                                                                                : "throttled";

  for (const auto* e : events) {
    store::AttemptRecord a;
    a.outbound_event_id = e->id;
    a.attempted_at = now;
    a.http_status = http;
    a.graph_code = resp.error.code;
    a.graph_subcode = resp.error.subcode;
    a.error_class = cls == graph::ErrorClass::Transient ? reason : graph::toString(cls);
    a.message = cls == graph::ErrorClass::Ok ? "" : description;
    a.fbtrace_id = trace;
    a.latency_ms = static_cast<int>(resp.latency.count());
    a.batch_size = static_cast<int>(events.size());
    cycle.attempts.push_back(std::move(a));
  }

  switch (cls) {
    case graph::ErrorClass::Ok: {
      if (cycle.paused.erase(pixel)) {
        try {
          store_.resumePixel(pixel);
        } catch (const std::exception& e) {
          spdlog::warn("pixel {}: could not record the resume ({}); the next probe will", pixel, e.what());
        }
        metrics_.set("capi_pixel_paused", {{"pixel", pixel}}, 0);
        spdlog::info("pixel {}: Meta takes its events again, sending resumes", pixel);
        wake();
      }
      for (const auto* e : events) {
        cycle.outcomes.push_back({e->id, "sent", true, now, "", http, trace, !s.test_event_code.empty()});
        metrics_.increment("capi_events_sent_total", {{"pixel", pixel}});
      }
      recordOutcomeForWindow(false, static_cast<int>(events.size()));
      return;
    }
    case graph::ErrorClass::Transient: {
      recordOutcomeForWindow(true, static_cast<int>(events.size()));
      if (cycle.paused.count(pixel)) {
        // A paused pixel's probe failed for another reason: the next probe is still a probe
        // interval away, not the next cycle.
        try {
          store_.pausePixel(pixel, "paused; the last probe failed: " + description, now, now + s.pause_probe);
        } catch (const std::exception& e) {
          spdlog::warn("pixel {}: could not reschedule the probe: {}", pixel, e.what());
        }
      }
      for (const auto* e : events) {
        const int attempts = e->attempts + 1;
        double unit;
        {
          std::lock_guard lock(rng_mu_);
          unit = std::uniform_real_distribution<double>(0, 1)(rng_);
        }
        // A retry drawn past Meta's 7 days is brought forward to the last minute before them
        // (the margin kept): the last chance is taken, not thrown away.
        const TimePoint last_chance = e->event_time + kMetaMaxEventAge - kExpiryMargin - kLastRetryLead;
        const TimePoint next = std::min(now + s.backoff.delay(attempts, unit), last_chance);
        store::EventOutcome o{e->id, "retrying", true, next, description, http, trace, !s.test_event_code.empty()};
        if (next <= now) {
          o.status = "dead";
          o.last_error = "expired: no time is left for another retry before event_time + 7 days; last error: " +
                         description;
          metrics_.increment("capi_events_dead_total", {{"pixel", pixel}, {"reason", "expired"}});
        } else if (s.backoff.max_attempts > 0 && attempts >= s.backoff.max_attempts) {
          o.status = "dead";
          o.last_error = "gave up after " + std::to_string(attempts) + " attempts; last error: " + description;
          metrics_.increment("capi_events_dead_total", {{"pixel", pixel}, {"reason", "max_attempts"}});
        } else {
          metrics_.increment("capi_events_retried_total", {{"pixel", pixel}, {"reason", reason}});
        }
        cycle.outcomes.push_back(std::move(o));
      }
      spdlog::warn("pixel {}: {} event(s) not delivered, will retry: {}", pixel, events.size(), description);
      return;
    }
    case graph::ErrorClass::Token:
    case graph::ErrorClass::Permission:
    case graph::ErrorClass::Request: {
      recordOutcomeForWindow(true, static_cast<int>(events.size()));
      const char* what = cls == graph::ErrorClass::Token        ? "access token rejected"
                         : cls == graph::ErrorClass::Permission ? "permission denied"
                                                                : "request refused (a retired meta.api_version? see Meta's message)";
      try {
        store_.pausePixel(pixel, std::string(what) + ": " + description, now, now + s.pause_probe);
      } catch (const std::exception& e) {
        spdlog::warn("pixel {}: could not record the pause: {}", pixel, e.what());
      }
      cycle.paused.insert(pixel);
      metrics_.set("capi_pixel_paused", {{"pixel", pixel}}, 1);
      spdlog::error("pixel {} paused, {}: {}. {}; queued events are kept and sent once a probe succeeds.", pixel,
                    what, description,
                    cls == graph::ErrorClass::Request
                        ? "Fix what Meta names (meta.api_version needs a restart)"
                        : "Fix meta.access_token (or the pixel's) and reload (SIGHUP), or restart if the token comes "
                          "from a systemd credential");
      for (const auto* e : events) {
        store::EventOutcome o{e->id, "", false, now, "", http, trace, false};
        cycle.outcomes.push_back(o);
      }
      return;
    }
    case graph::ErrorClass::Invalid: {
      if (events.size() > 1) {
        // Meta rejects a whole batch for one invalid event: split until it stands alone.
        const size_t half = events.size() / 2;
        sendGroup(cycle, pixel, {events.begin(), events.begin() + static_cast<long>(half)});
        sendGroup(cycle, pixel, {events.begin() + static_cast<long>(half), events.end()});
        return;
      }
      recordOutcomeForWindow(true, 1);
      const auto* e = events.front();
      cycle.outcomes.push_back({e->id, "dead", true, now, "invalid: " + description, http, trace,
                                !s.test_event_code.empty()});
      metrics_.increment("capi_events_dead_total", {{"pixel", pixel}, {"reason", "invalid"}});
      spdlog::error("pixel {}: event {} rejected by Meta, marked dead: {}", pixel, e->event_id, description);
      return;
    }
  }
}

void Dispatcher::recordCompletion(Cycle& cycle) {
  // Events Meta accepted must not be sent again because a bookkeeping write failed: keep the
  // outcomes and retry until the database answers or the lease is about to run out (half the
  // lease at most, and never past what is left of it since it was taken or renewed).
  const auto lease_left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      cycle.leased_at + cycle.settings->lease - clock_.now() - std::chrono::seconds(5));
  const auto give_up = std::chrono::steady_clock::now() +
                       std::clamp(lease_left, std::chrono::steady_clock::duration::zero(),
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(cycle.settings->lease / 2));
  auto pause = std::chrono::milliseconds(200);
  for (;;) {
    try {
      store_.complete(cycle.token, cycle.outcomes, cycle.attempts, clock_.now());
      return;
    } catch (const store::DatabaseUnavailable& e) {
      if (std::chrono::steady_clock::now() + pause >= give_up || !running_.load()) {
        spdlog::error("could not record the outcome of {} event(s); they will be sent again after their lease: {}",
                      cycle.outcomes.size(), e.what());
        throw;
      }
      spdlog::warn("recording send outcomes failed, retrying: {}", e.what());
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(5000));
    }
  }
}

void Dispatcher::recordOutcomeForWindow(bool error, int count) {
  const auto s = settings();
  const TimePoint now = clock_.now();
  double ratio = 0;
  bool crossed = false, cleared = false;
  {
    std::lock_guard lock(window_mu_);
    window_.emplace_back(now, error ? count : 0, count);
    while (!window_.empty() && std::get<0>(window_.front()) < now - s->alert_window) window_.pop_front();
    long errors = 0, total = 0;
    for (const auto& [t, e, n] : window_) {
      errors += e;
      total += n;
    }
    ratio = total ? static_cast<double>(errors) / static_cast<double>(total) : 0;
    if (ratio > s->alert_error_ratio && !alerting_) crossed = alerting_ = true;
    if (ratio <= s->alert_error_ratio && alerting_) {
      alerting_ = false;
      cleared = true;
    }
  }
  metrics_.set("capi_send_error_ratio", {}, ratio);
  if (crossed)
    spdlog::error("send error ratio {:.1f}% over the last {} s is above alerts.error_ratio {:.1f}%: "
                  "conversions are not reaching Meta (see `capi-reconciler retries list`)",
                  ratio * 100, s->alert_window.count(), s->alert_error_ratio * 100);
  if (cleared) spdlog::info("send error ratio back to {:.1f}%", ratio * 100);
}

double Dispatcher::errorRatio() const { return metrics_.value("capi_send_error_ratio"); }

}  // namespace capi::dispatch
