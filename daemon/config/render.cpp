#include "config/loader.h"
#include "config/redact.h"

#include <sstream>

namespace capi::config {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string hidden(const std::string& secret) { return secret.empty() ? "" : kRedacted; }

// One marker per secret, so an operator can see that two webhook secrets are active during a rotation.
std::string hidden(const std::vector<std::string>& secrets) {
  std::string out;
  for (size_t i = 0; i < secrets.size(); ++i) out += (i == 0 ? "" : ", ") + std::string(kRedacted);
  return out;
}

std::string listenAddress(const ServerConfig& server) {
  bool ipv6 = server.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + server.host + "]" : server.host) + ":" + std::to_string(server.port);
}

class IniWriter {
 public:
  void comment(const std::string& text) { out_ << "# " << text << "\n"; }
  void section(const std::string& name) { out_ << "\n[" << name << "]\n"; }
  template <typename T>
  void key(const std::string& name, const T& value) {
    std::ostringstream v;
    v << value;
    out_ << name << " =" << (v.str().empty() ? "" : " ") << v.str() << "\n";
  }
  void key(const std::string& name, bool value) { key(name, std::string(value ? "true" : "false")); }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

}  // namespace

std::string renderRedacted(const Config& c) {
  IniWriter w;
  w.comment("effective configuration; secrets are shown as <redacted>");

  std::vector<std::string> dry;
  for (const PixelConfig& p : c.pixels) {
    if (p.access_token.empty()) dry.push_back(p.name);
  }
  if (c.pixels.empty()) {
    w.comment("dry-run: no pixel is configured; outbound events end in status dry_run");
  } else if (c.dryRun()) {
    w.comment("dry-run: no pixel has an access token; outbound events end in status dry_run");
  } else if (!dry.empty()) {
    w.comment("dry-run pixels (no access token): " + joined(dry));
  } else {
    w.comment("dry-run: no, every pixel has an access token");
  }
  if (c.stripe.webhook_secrets.empty())
    w.comment("stripe: no webhook secret, so POST /webhooks/stripe is not served (404)");
  if (c.matching.wait_seconds > kLongestUsefulWaitSeconds)
    w.comment(kLongWaitWarning);
  w.comment(c.meta.test_event_code.empty()
                ? "test event code: not set"
                : "test event code: set by CAPI_RECONCILER_META_TEST_EVENT_CODE; Meta files these events under Test Events");

  w.key("environment", c.environment);

  w.section("log");
  w.key("level", c.log_level);

  w.section("server");
  w.key("listen", listenAddress(c.server));
  w.key("max_body_bytes", c.server.max_body_bytes);
  w.key("threads", c.server.threads);
  w.key("max_queued", c.server.max_queued);
  w.key("timeout_seconds", c.server.timeout_seconds);
  w.key("keepalive_timeout_seconds", c.server.keepalive_timeout_seconds);
  w.key("trusted_proxies", joined(c.server.trusted_proxies));
  w.key("cors_origins", joined(c.server.cors_origins));
  w.key("ingest_key", hidden(c.server.ingest_key));

  w.section("database");
  w.key("url", redactDatabaseUrl(c.database.url));
  w.key("pool_size", c.database.pool_size);
  w.key("auto_migrate", c.database.auto_migrate);
  w.key("statement_timeout_ms", c.database.statement_timeout_ms);
  w.key("migrations_dir", c.database.migrations_dir);

  const PixelConfig* main_pixel = !c.pixels.empty() && c.pixels.front().name == "default" ? &c.pixels.front() : nullptr;
  w.section("meta");
  w.key("pixel_id", main_pixel ? main_pixel->pixel_id : "");
  w.key("access_token", main_pixel ? hidden(main_pixel->access_token) : "");
  w.key("graph_url", c.meta.graph_url);
  w.key("api_version", c.meta.api_version);
  w.key("batch_size", c.meta.batch_size);
  w.key("ca_file", c.meta.ca_file);
  w.key("connect_timeout_ms", c.meta.connect_timeout_ms);
  w.key("timeout_ms", c.meta.timeout_ms);
  w.key("event_source_url", c.meta.event_source_url);

  for (const PixelConfig& p : c.pixels) {
    if (&p == main_pixel) continue;
    w.section("pixel." + p.name);
    w.key("pixel_id", p.pixel_id);
    w.key("access_token", hidden(p.access_token));
  }

  w.section("stripe");
  w.key("webhook_secret", hidden(c.stripe.webhook_secrets));
  w.key("tolerance_seconds", c.stripe.tolerance_seconds);
  w.key("paid_event_types", joined(c.stripe.paid_event_types));

  w.section("matching");
  w.key("wait_seconds", c.matching.wait_seconds);
  w.key("unmatched", std::string(c.matching.unmatched == UnmatchedPolicy::Send ? "send" : "drop"));
  w.key("max_future_skew_seconds", c.matching.max_future_skew_seconds);
  w.key("max_past_skew_seconds", c.matching.max_past_skew_seconds);
  w.key("workers", c.matching.workers);

  w.section("phone");
  w.key("default_region", c.phone_default_region);

  w.section("dispatch");
  w.key("workers", c.dispatch.workers);
  w.key("lease_seconds", c.dispatch.lease_seconds);
  w.key("poll_interval_ms", c.dispatch.poll_interval_ms);
  w.key("backoff_base_seconds", c.dispatch.backoff_base_seconds);
  w.key("backoff_cap_seconds", c.dispatch.backoff_cap_seconds);
  w.key("max_attempts", c.dispatch.max_attempts);
  w.key("pause_probe_seconds", c.dispatch.pause_probe_seconds);

  w.section("retention");
  w.key("raw_payload_days", c.retention.raw_payload_days);
  w.key("days", c.retention.days);

  w.section("alerts");
  w.key("error_ratio", c.alerts.error_ratio);
  w.key("window_seconds", c.alerts.window_seconds);

  w.section("admin");
  w.key("token", hidden(c.admin.token));
  return w.str();
}

}  // namespace capi::config
