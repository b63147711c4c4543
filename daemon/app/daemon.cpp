#include "app/daemon.h"

#include "app/admin_endpoint.h"
#include "app/audit_command.h"
#include "app/endpoints.h"
#include "build_info.h"
#include "capi/graph/graph_client.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/systemd.h"
#include "config/loader.h"
#include "dispatch/dispatcher.h"
#include "http/server.h"
#include "matching/arrival_readings.h"
#include "matching/matcher.h"
#include "webhooks/stripe/stripe_event_parser.h"
#include "store/delivery_inbox.h"
#include "store/ingest_store.h"
#include "store/migrator.h"
#include "store/outbound_store.h"
#include "store/outbox_listener.h"
#include "store/pg_pool.h"

#include <Poco/Net/SSLManager.h>
#include <Poco/Util/ServerApplication.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>
#include <unistd.h>

namespace capi::app {
namespace {

std::string migrationsDir(const config::Config& c) {
  return c.database.migrations_dir.empty() ? CAPI_DEFAULT_MIGRATIONS_DIR : c.database.migrations_dir;
}

matching::MatchingSettings matchingSettings(const config::Config& c) {
  matching::MatchingSettings s;
  s.wait_seconds = c.matching.wait_seconds;
  s.drop_unmatched = c.matching.unmatched == config::UnmatchedPolicy::Drop;
  for (const auto& p : c.pixels) s.pixels.push_back({p.pixel_id, !p.access_token.empty()});
  s.fallback_event_source_url = c.meta.event_source_url;
  s.normalize.default_region = c.phone_default_region;
  return s;
}

dispatch::DispatchSettings dispatchSettings(const config::Config& c, std::chrono::milliseconds gather) {
  dispatch::DispatchSettings s;
  s.gather = gather;
  s.workers = c.dispatch.workers;
  s.lease = std::chrono::seconds(c.dispatch.lease_seconds);
  s.poll_interval = std::chrono::milliseconds(c.dispatch.poll_interval_ms);
  s.batch_size = c.meta.batch_size;
  s.backoff.base = std::chrono::seconds(c.dispatch.backoff_base_seconds);
  s.backoff.cap = std::chrono::seconds(c.dispatch.backoff_cap_seconds);
  s.backoff.max_attempts = c.dispatch.max_attempts;
  s.pause_probe = std::chrono::seconds(c.dispatch.pause_probe_seconds);
  for (const auto& p : c.pixels) s.tokens[p.pixel_id] = p.access_token;
  s.test_event_code = c.meta.test_event_code;
  s.alert_error_ratio = c.alerts.error_ratio;
  s.alert_window = std::chrono::seconds(c.alerts.window_seconds);
  return s;
}

EventsEndpointOptions eventsOptions(const config::Config& c) {
  EventsEndpointOptions o;
  o.trusted_proxies = c.server.trusted_proxies;
  o.cors_origins = c.server.cors_origins;
  o.ingest_key = c.server.ingest_key;
  o.time_policy = {c.matching.max_future_skew_seconds, c.matching.max_past_skew_seconds};
  o.normalize.default_region = c.phone_default_region;
  return o;
}

StripeEndpointOptions stripeOptions(const config::Config& c) {
  return {c.stripe.webhook_secrets, c.stripe.tolerance_seconds, c.stripe.paid_event_types, !c.production()};
}

std::string defaultInstanceId() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + randomHex(4);
}

void announce(const config::Config& c) {
  for (const auto& p : c.pixels) {
    if (p.access_token.empty())
      spdlog::warn("pixel {} ({}) has no access token: DRY-RUN, events are stored with status dry_run and "
                   "nothing is sent to Meta", p.pixel_id, p.name);
  }
  if (c.pixels.empty()) spdlog::warn("no pixel configured (meta.pixel_id): payments are recorded, nothing is queued");
  if (c.matching.wait_seconds > config::kLongestUsefulWaitSeconds)
    spdlog::warn("{} (it is {})", config::kLongWaitWarning, c.matching.wait_seconds);
  if (c.stripe.webhook_secrets.empty())
    spdlog::warn("no Stripe webhook secret (stripe.webhook_secret): POST /webhooks/stripe is not served (404); "
                 "an empty CAPI_RECONCILER_STRIPE_WEBHOOK_SECRET overrides the file and credentials too");
  if (!c.meta.test_event_code.empty())
    spdlog::warn("TEST EVENT CODE ACTIVE (environment = {}): every event is filed under Test Events in Events "
                 "Manager and never reaches attribution. Never use this in production.", c.environment);
}

}  // namespace

struct Daemon::Impl {
  config::Config config;
  const Clock* clock;
  std::string instance_id;
  bool background;
  std::chrono::milliseconds intake_poll;
  std::chrono::milliseconds gather;
  Metrics metrics;
  store::PgPool pool;
  store::IngestStore ingest;
  store::DeliveryInbox inbox;
  // What the Stripe endpoint read from the deliveries it stored, for the matching worker: about
  // 1.5 kB each, so 3 MiB at most (4,096 took the benchmark's peak RSS from 50 to 56 MiB).
  // During a burst every delivery matched frees room for one arriving, so a larger bound would
  // only add its own size to the deliveries read from the database.
  matching::ArrivalReadings readings;
  store::OutboundStore outbound;
  std::unique_ptr<graph::GraphApi> graph;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
  std::unique_ptr<matching::Matcher> matcher;
  std::unique_ptr<store::OutboxListener> listener;
  std::unique_ptr<store::OutboxAnnouncer> announcer;
  std::shared_ptr<Reloadable<EventsEndpointOptions>> events_options;
  std::shared_ptr<Reloadable<StripeEndpointOptions>> stripe_options;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  std::set<int> expected_migrations;

  std::mutex maint_mu;
  std::condition_variable maint_cv;
  bool stopping = false;
  std::thread maint_thread;
  std::condition_variable intake_cv;   // with maint_mu
  bool intake_wake = false;
  std::vector<std::thread> intake_threads;
  TimePoint last_intake_warning{};
  TimePoint last_purge{};
  TimePoint last_maintenance_warning{};

  Impl(config::Config c, Dependencies d)
      : config(std::move(c)), clock(d.clock ? d.clock : &systemClock()),
        instance_id(d.instance_id.empty() ? defaultInstanceId() : d.instance_id), background(d.background),
        intake_poll(d.intake_poll),
        gather(d.gather),
        pool(config.database.url, config.database.pool_size, config.database.statement_timeout_ms),
        ingest(pool), inbox(ingest), readings(2048, *clock, std::chrono::seconds(60)), outbound(pool), graph(std::move(d.graph)) {}
};

Daemon::Daemon(config::Config config, Dependencies deps) : impl_(std::make_unique<Impl>(std::move(config), std::move(deps))) {
  auto& i = *impl_;
  const auto& c = i.config;
  for (const auto& f : store::listMigrations(migrationsDir(c))) i.expected_migrations.insert(f.version);
  if (!i.graph) {
    graph::GraphClientOptions g;
    g.graph_url = c.meta.graph_url;
    g.api_version = c.meta.api_version;
    g.ca_file = c.meta.ca_file;
    g.connect_timeout = std::chrono::milliseconds(c.meta.connect_timeout_ms);
    g.timeout = std::chrono::milliseconds(c.meta.timeout_ms);
    i.graph = graph::makePocoGraphClient(g);
  }
  i.dispatcher = std::make_unique<dispatch::Dispatcher>(i.outbound, *i.graph, *i.clock, i.metrics,
                                                        dispatchSettings(c, i.gather), i.instance_id);
  i.announcer = std::make_unique<store::OutboxAnnouncer>(c.database.url);
  i.events_options = std::make_shared<Reloadable<EventsEndpointOptions>>(eventsOptions(c));
  i.stripe_options = std::make_shared<Reloadable<StripeEndpointOptions>>(stripeOptions(c));
  // The matching worker takes what the endpoint read on arrival while the settings are those it
  // was read with; else it reads the stored body again, with the settings of the moment.
  matching::DeliveryReader reader;
  reader.read = [o = i.stripe_options](const std::string& provider, const std::string& raw) {
    if (provider == "stripe") {
      const auto options = o->get();
      auto parsed = webhooks::stripe::parseStripeEvent(raw, options->paid_event_types);
      webhooks::stripe::ignoreTestModeUnlessAccepted(parsed.facts, options->accept_test_mode);
      return parsed;
    }
    webhooks::ParseResult unknown;
    unknown.error = "no parser for provider " + provider;
    return unknown;
  };
  reader.recall = [o = i.stripe_options, r = &i.readings](const store::ReceivedDelivery& d) {
    return d.provider == "stripe" ? r->recall(d.id, d.provider, d.delivery_id, o->get().get()) : nullptr;
  };
  reader.settled = [r = &i.readings](const std::vector<int64_t>& rows) { r->settled(rows); };
  i.matcher = std::make_unique<matching::Matcher>(i.ingest, *i.clock, matchingSettings(c), std::move(reader),
                                                  [d = i.dispatcher.get(), a = i.announcer.get()] {
                                                    d->wake();
                                                    a->announce();
                                                  });

  i.metrics.describe("capi_webhook_deliveries_matched_total", "counter",
                     "Webhook deliveries the matching worker processed, by outcome.");
  i.metrics.describe("capi_webhook_bodies_read_again_total", "counter",
                     "Webhook deliveries matched from their stored body, fetched and read again: those this "
                     "instance did not keep from their arrival (stored by another instance or before a restart, "
                     "beyond the bound, or read before a reload).");
  i.metrics.describe("capi_webhook_matching_batches_split_total", "counter",
                     "Matching batches that failed and were matched again one delivery at a time.");
  i.metrics.describe("capi_webhooks_awaiting_match", "gauge",
                     "Webhook deliveries acknowledged and not yet matched (status received).");
  i.metrics.describe("capi_oldest_awaiting_match_age_seconds", "gauge",
                     "Age of the oldest webhook delivery not yet matched.");

  i.metrics.describe("capi_queue_depth", "gauge", "Outbound events by status.");
  i.metrics.describe("capi_oldest_pending_event_age_seconds", "gauge", "Age of the oldest unsent event.");
  i.metrics.describe("capi_dry_run", "gauge", "1 when no pixel has an access token (nothing is sent).");
  i.metrics.set("capi_dry_run", {}, c.dryRun() ? 1 : 0);
  i.metrics.addCollector([&i](Metrics& m) {
    auto s = i.outbound.stats(i.clock->now());
    for (const char* st : {"pending", "retrying", "sent", "dead", "dry_run"}) {
      auto it = s.by_status.find(st);
      m.set("capi_queue_depth", {{"status", st}}, it == s.by_status.end() ? 0 : static_cast<double>(it->second));
    }
    m.set("capi_oldest_pending_event_age_seconds", {}, s.oldest_pending_age_seconds.value_or(0));
    const auto backlog = i.ingest.receivedBacklog(i.clock->now());
    m.set("capi_webhooks_awaiting_match", {}, static_cast<double>(backlog.received));
    m.set("capi_oldest_awaiting_match_age_seconds", {}, backlog.oldest_age_seconds.value_or(0));
    // The database is the truth: another instance may have paused or resumed a pixel.
    std::set<std::string> paused;
    for (const auto& p : i.outbound.pausedPixels()) paused.insert(p.pixel_id);
    for (const auto& p : i.config.pixels) m.set("capi_pixel_paused", {{"pixel", p.pixel_id}}, paused.count(p.pixel_id));
    for (const auto& p : paused) m.set("capi_pixel_paused", {{"pixel", p}}, 1);
  });

  auto events = makeEventsEndpoint(i.events_options, i.ingest, *i.matcher, *i.clock, i.metrics);
  i.router.add("POST", "/v1/events", events);
  i.router.add("OPTIONS", "/v1/events", events);
  if (!c.stripe.webhook_secrets.empty()) {
    i.router.add("POST", "/webhooks/stripe",
                 makeStripeEndpoint(i.stripe_options, i.inbox, &i.readings, [this] { wakeIntake(); }, *i.clock, i.metrics));
  }
  i.router.add("GET", "/healthz", makeHealthEndpoint());
  i.router.add("GET", "/readyz", makeReadyEndpoint([this] { return notReadyReason(); }));
  i.router.add("GET", "/metrics", makeMetricsEndpoint(i.metrics));
  if (!c.admin.token.empty()) {
    auto admin = makeAdminEndpoint(c.admin.token, c.database.url, [&i] {
      auto s = i.outbound.stats(i.clock->now());
      std::string out = "{\"instance\":" + http::jsonQuote(i.instance_id) + ",\"queue\":{";
      bool first = true;
      for (const auto& [status, n] : s.by_status) {
        out += (first ? "" : ",") + http::jsonQuote(status) + ":" + std::to_string(n);
        first = false;
      }
      out += "},\"oldest_pending_age_seconds\":" +
             (s.oldest_pending_age_seconds ? std::to_string(*s.oldest_pending_age_seconds) : std::string("null"));
      const auto backlog = i.ingest.receivedBacklog(i.clock->now());
      out += ",\"webhooks_awaiting_match\":" + std::to_string(backlog.received) +
             ",\"oldest_awaiting_match_age_seconds\":" +
             (backlog.oldest_age_seconds ? std::to_string(*backlog.oldest_age_seconds) : std::string("null"));
      out += ",\"paused_pixels\":[";
      first = true;
      for (const auto& p : i.outbound.pausedPixels()) {
        out += (first ? "" : ",") + std::string("{\"pixel_id\":") + http::jsonQuote(p.pixel_id) +
               ",\"reason\":" + http::jsonQuote(p.reason) + "}";
        first = false;
      }
      out += "],\"dry_run\":" + std::string(i.metrics.value("capi_dry_run") > 0 ? "true" : "false") +
             ",\"test_event_code_active\":" +
             std::string(i.metrics.value("capi_test_event_code_active") > 0 ? "true" : "false") +
             ",\"send_error_ratio\":" + std::to_string(i.metrics.value("capi_send_error_ratio")) + "}";
      return out;
    }, [&i](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
      // The settings of the moment (a reload may have changed the alert threshold).
      const auto s = i.dispatcher->settings();
      return runAudit(args, AuditSource{i.config.database.url, s->alert_error_ratio, !s->test_event_code.empty()},
                      *i.clock, out, err);
    });
    i.router.add("GET", "/admin", admin);
    i.router.add("GET", "/admin/*", admin);
    i.router.add("POST", "/admin/*", admin);
  }

  http::ServerOptions so;
  so.host = c.server.host;
  so.port = c.server.port;
  so.max_body_bytes = c.server.max_body_bytes;
  so.threads = c.server.threads;
  so.max_queued = c.server.max_queued;
  so.timeout_seconds = c.server.timeout_seconds;
  so.keepalive_timeout_seconds = c.server.keepalive_timeout_seconds;
  i.server = std::make_unique<http::HttpServer>(so, i.router, i.metrics);
}

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  auto& i = *impl_;
  announce(i.config);
  if (i.config.database.auto_migrate) {
    try {
      auto applied = store::Migrator(i.config.database.url, migrationsDir(i.config)).migrate();
      if (!applied.empty()) spdlog::info("database.auto_migrate applied {} migration(s)", applied.size());
    } catch (const std::exception& e) {
      // Not fatal: /readyz stays 503 and says why; the operator can run `migrate`.
      spdlog::error("automatic migration failed: {}", e.what());
    }
  }
  i.server->start();
  spdlog::info("capi-reconciler {} listening on {}:{} (instance {})", CAPI_VERSION, i.config.server.host, port(),
               i.instance_id);
  if (!i.background) return;
  i.dispatcher->start();
  i.listener = std::make_unique<store::OutboxListener>(i.config.database.url, [d = i.dispatcher.get()] { d->wake(); });
  i.listener->start();
  i.announcer->start();
  for (int n = 0; n < i.config.matching.workers; ++n) {
    i.intake_threads.emplace_back([this] {
      auto& i = *impl_;
      std::unique_lock lock(i.maint_mu);
      while (!i.stopping) {
        lock.unlock();
        const int matched = matchReceived();
        lock.lock();
        // matchReceived returns after a batch short of full; when it found any, rest first.
        if (matched > 0)
          i.intake_cv.wait_for(lock, i.gather, [&] { return i.stopping; });
        // Deliveries stored by this instance wake a worker; a poll (1 s) takes those of other
        // instances and those left by a crash.
        i.intake_cv.wait_for(lock, i.intake_poll, [&] { return i.stopping || i.intake_wake; });
        i.intake_wake = false;
      }
    });
  }
  i.maint_thread = std::thread([this] {
    auto& i = *impl_;
    std::unique_lock lock(i.maint_mu);
    while (!i.stopping) {
      lock.unlock();
      maintenance();
      lock.lock();
      i.maint_cv.wait_for(lock, std::chrono::seconds(1), [&] { return i.stopping; });
    }
  });
}

void Daemon::stop() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.maint_mu);
    if (i.stopping) return;
    i.stopping = true;
  }
  i.maint_cv.notify_all();
  i.intake_cv.notify_all();
  i.server->stop();
  if (i.maint_thread.joinable()) i.maint_thread.join();
  for (auto& t : i.intake_threads) t.join();
  if (i.listener) i.listener->stop();
  i.announcer->stop();
  i.dispatcher->stop();
}

void Daemon::wakeIntake() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.maint_mu);
    i.intake_wake = true;
  }
  // Every thread: one may be resting after a batch (it goes back to its rest), another idle.
  i.intake_cv.notify_all();
}

std::chrono::nanoseconds burstRest(std::chrono::nanoseconds batch_took, std::chrono::milliseconds gather) {
  // Three times the batch: matching then has a quarter of its threads' time while
  // acknowledgements wait. A batch slowed by a lock (a migration, a long audit) must not make
  // the rest outlast the burst: 2 s at most, unless gather itself is longer.
  constexpr int kRestPerBatch = 3;
  constexpr std::chrono::nanoseconds kMax = std::chrono::seconds(2);
  const std::chrono::nanoseconds floor = gather;
  return std::clamp(batch_took * kRestPerBatch, floor, std::max(floor, kMax));
}

int Daemon::matchReceived() {
  auto& i = *impl_;
  // A batch locks about three keys per delivery: 100 keeps several instances' workers well
  // inside PostgreSQL's shared lock table (max_locks_per_transaction 64 x max_connections).
  constexpr int kBatch = 100;
  // While resting during a burst, a thread looks this often whether webhooks still wait.
  constexpr auto kBurstCheck = std::chrono::milliseconds(25);
  int total = 0;
  try {
    for (;;) {
      {
        std::lock_guard lock(i.maint_mu);   // a large backlog must not hold up a shutdown
        if (i.stopping) break;
      }
      const auto started = std::chrono::steady_clock::now();
      const auto c = i.matcher->matchReceived(kBatch);
      const auto took = std::chrono::steady_clock::now() - started;
      auto count = [&](const char* outcome, int n) {
        if (n > 0) i.metrics.increment("capi_webhook_deliveries_matched_total", {{"outcome", outcome}}, n);
      };
      count("accepted", c.accepted);
      count("duplicate_order", c.duplicate_order);
      count("ignored", c.ignored);
      count("failed", c.failed);
      if (c.split_batches > 0) i.metrics.increment("capi_webhook_matching_batches_split_total", {}, c.split_batches);
      if (c.read_again > 0) i.metrics.increment("capi_webhook_bodies_read_again_total", {}, c.read_again);
      total += c.total();
      if (c.total() < kBatch) break;
      // Webhooks wait behind the inbox's write for their acknowledgement (a burst): give them
      // the cores first (burstRest). Matching trails the burst, never stops (one full batch per
      // rest), and the rest ends once every webhook has been answered. Measured with bench's
      // 64-connection phase (bench/RESULTS.md, round 4): about 27 % more webhooks acknowledged
      // than with a rest of gather alone; matched per second, counting the catch-up, 7 % fewer
      // on average, within the runs' spread.
      if (i.inbox.waiting() > 0) {
        const auto until = std::chrono::steady_clock::now() + burstRest(took, i.gather);
        for (;;) {
          {
            std::unique_lock lock(i.maint_mu);
            const auto slice_end = std::min(until, std::chrono::steady_clock::now() + kBurstCheck);
            if (i.intake_cv.wait_until(lock, slice_end, [&] { return i.stopping; })) break;
          }
          if (std::chrono::steady_clock::now() >= until || i.inbox.unanswered() == 0) break;
        }
      }
    }
  } catch (const std::exception& e) {
    // The deliveries stay 'received' and are taken at the next round; say so once a minute.
    const TimePoint now = i.clock->now();
    std::lock_guard lock(i.maint_mu);
    if (now - i.last_intake_warning >= std::chrono::minutes(1)) {
      spdlog::warn("matching stored webhooks failed, retrying: {}", e.what());
      i.last_intake_warning = now;
    }
  }
  return total;
}

void Daemon::maintenance() {
  auto& i = *impl_;
  try {
    i.matcher->sweep();
    const TimePoint now = i.clock->now();
    if (now - i.last_purge >= std::chrono::hours(1)) {
      // A first purge after months runs many batches: a shutdown stops it between two.
      const auto n = i.ingest.purge(now - std::chrono::hours(24) * i.config.retention.raw_payload_days,
                                    now - std::chrono::hours(24) * i.config.retention.days, 5000, [&i] {
                                      std::lock_guard lock(i.maint_mu);
                                      return i.stopping;
                                    });
      if (n.raw_bodies + n.outbound_events + n.stray_attempts + n.deliveries + n.payments + n.browser_events > 0)
        spdlog::info(
            "retention: cleared {} raw webhook bodies; deleted {} outbound events with their attempts, {} attempts "
            "of events already gone, {} webhook deliveries, {} payments, {} browser events",
            n.raw_bodies, n.outbound_events, n.stray_attempts, n.deliveries, n.payments, n.browser_events);
      i.last_purge = now;
    }
  } catch (const std::exception& e) {
    // Waiting payments and retention depend on this loop: say so, but once a minute at most.
    const TimePoint now = i.clock->now();
    if (now - i.last_maintenance_warning >= std::chrono::minutes(1)) {
      spdlog::warn("matching sweep / retention purge failed, retrying: {}", e.what());
      i.last_maintenance_warning = now;
    }
  }
}

void Daemon::reload(const config::Config& c) {
  auto& i = *impl_;
  setupLogging(c.log_level);
  i.matcher->updateSettings(matchingSettings(c));
  i.dispatcher->updateSettings(dispatchSettings(c, i.gather));
  i.events_options->set(eventsOptions(c));
  // The Stripe route exists only when it started with a secret; rotating secrets is a reload.
  // The other options (paid types, test mode) serve matching too: they are taken either way.
  {
    auto o = stripeOptions(c);
    if (o.secrets.empty()) o.secrets = i.stripe_options->get()->secrets;
    i.stripe_options->set(std::move(o));
  }
  if (c.stripe.webhook_secrets.empty() != i.config.stripe.webhook_secrets.empty())
    spdlog::warn("reload: adding or removing the Stripe endpoint (stripe.webhook_secret) takes effect after a restart");
  i.metrics.set("capi_dry_run", {}, c.dryRun() ? 1 : 0);
  if (c.server.host != i.config.server.host || c.server.port != i.config.server.port ||
      c.server.threads != i.config.server.threads || c.server.max_body_bytes != i.config.server.max_body_bytes ||
      c.database.url != i.config.database.url || c.database.pool_size != i.config.database.pool_size ||
      c.admin.token != i.config.admin.token || c.retention.days != i.config.retention.days ||
      c.matching.workers != i.config.matching.workers ||
      c.retention.raw_payload_days != i.config.retention.raw_payload_days)
    spdlog::warn("reload: server.*, database.*, matching.workers, admin.token and retention.* changes take effect "
                 "after a restart");
  const auto& m = c.meta;
  const auto& was = i.config.meta;
  if (m.graph_url != was.graph_url || m.api_version != was.api_version || m.ca_file != was.ca_file ||
      m.connect_timeout_ms != was.connect_timeout_ms || m.timeout_ms != was.timeout_ms)
    spdlog::warn("reload: meta.api_version, meta.graph_url, meta.ca_file and the meta timeouts take effect after a "
                 "restart");
  announce(c);
  spdlog::info("configuration reloaded");
}

uint16_t Daemon::port() const { return impl_->server->port(); }

std::string Daemon::notReadyReason() {
  auto& i = *impl_;
  if (!i.pool.ping()) return "database unreachable";
  try {
    auto applied = store::appliedVersions(i.pool);
    int missing = 0;
    for (int v : i.expected_migrations)
      if (!applied.count(v)) ++missing;
    if (missing > 0) return std::to_string(missing) + " migration(s) pending: run `capi-reconciler migrate`";
    return "";
  } catch (const std::exception& e) {
    return std::string("database unreachable: ") + e.what();
  }
}

matching::Matcher& Daemon::matcher() { return *impl_->matcher; }
store::DeliveryInbox& Daemon::inbox() { return impl_->inbox; }
dispatch::Dispatcher& Daemon::dispatcher() { return *impl_->dispatcher; }
store::OutboundStore& Daemon::outbound() { return impl_->outbound; }
Metrics& Daemon::metrics() { return impl_->metrics; }

namespace {

constexpr int kExitConfig = 78;

// Poco's ServerApplication gives the process its lifecycle (initialize, main, uninitialize).
// Waiting is ours: sigwait on the signals runCli blocked, so SIGHUP reloads and no thread
// is ever killed by a stray SIGTERM (Poco issue #2978).
class ServeApplication final : public Poco::Util::ServerApplication {
 public:
  explicit ServeApplication(std::string config_path) : path_(std::move(config_path)) {}
  int result() const { return result_; }

 protected:
  int main(const std::vector<std::string>&) override {
    result_ = serve();
    return result_;
  }

 private:
  int serve() {
    config::Config cfg;
    try {
      cfg = config::load({path_, false, true, config::processEnvironment()});
    } catch (const config::ConfigError& e) {
      std::cerr << e.what() << "\n";
      return kExitConfig;
    }
    setupLogging(cfg.log_level);
    Poco::Net::initializeSSL();
    std::unique_ptr<Daemon> daemon;
    try {
      daemon = std::make_unique<Daemon>(cfg, Daemon::Dependencies{});
      daemon->start();
    } catch (const std::invalid_argument& e) {
      spdlog::critical("cannot start: {}", e.what());
      return kExitConfig;
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: {}", e.what());
      return 1;
    }
    systemd::notifyReady();
    const auto ping = systemd::watchdogPingInterval();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
      timespec timeout{};
      const auto wait = ping.count() > 0 ? ping : std::chrono::microseconds(std::chrono::seconds(3600));
      timeout.tv_sec = static_cast<time_t>(wait.count() / 1000000);
      timeout.tv_nsec = static_cast<long>((wait.count() % 1000000) * 1000);
      const int sig = sigtimedwait(&set, nullptr, &timeout);
      if (sig < 0) {
        if (ping.count() > 0) systemd::notifyWatchdog();
        continue;
      }
      if (sig == SIGHUP) {
        systemd::notifyReloading();
        try {
          const auto environment = config::processEnvironment();
          daemon->reload(config::load({path_, false, true, environment}));
          // systemd copies credentials once, when the service starts: a reload reads the same ones.
          if (auto dir = environment.find("CREDENTIALS_DIRECTORY"); dir != environment.end() && !dir->second.empty())
            spdlog::info("reload: secrets from systemd credentials ({}) are the ones copied at start; a secret "
                         "changed in a credential file takes effect at the next restart",
                         dir->second);
        } catch (const config::ConfigError& e) {
          spdlog::error("reload refused, keeping the running configuration: {}", e.what());
        }
        systemd::notifyReady();
        continue;
      }
      spdlog::info("received {}, shutting down: finishing in-flight requests and sends", strsignal(sig));
      systemd::notifyStopping();
      daemon->stop();
      daemon.reset();
      Poco::Net::uninitializeSSL();
      spdlog::info("stopped");
      return 0;
    }
  }

  std::string path_;
  int result_ = 1;
};

}  // namespace

int runServe(const std::string& config_path) {
  ServeApplication app(config_path);
  app.run(std::vector<std::string>{"capi-reconciler"});
  return app.result();
}

int runMigrate(const std::string& config_path) {
  config::Config cfg;
  try {
    cfg = config::load({config_path, false, true, config::processEnvironment()});
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return kExitConfig;
  }
  setupLogging(cfg.log_level);
  try {
    auto applied = store::Migrator(cfg.database.url, migrationsDir(cfg)).migrate();
    if (applied.empty())
      std::cout << "database schema is up to date\n";
    else
      for (const auto& f : applied) std::cout << "applied " << f << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "migrate failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace capi::app
