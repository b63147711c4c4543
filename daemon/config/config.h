#pragma once
// The daemon's configuration as plain values. Produced only by ConfigLoader (loader.h), which
// validates every key; code that receives a Config may assume every field is in range.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace capi::config {

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  size_t max_body_bytes = 1024 * 1024;   // 413 above this
  int threads = 32;                      // HTTP worker threads
  int max_queued = 256;                  // accepted connections waiting for a thread
  int timeout_seconds = 15;              // per-request socket timeout
  int keepalive_timeout_seconds = 5;
  std::vector<std::string> trusted_proxies;  // IPs whose X-Forwarded-For is honoured
  std::vector<std::string> cors_origins;     // allowed Origin values for POST /v1/events
  std::string ingest_key;                    // optional secret for POST /v1/events
};

struct DatabaseConfig {
  std::string url;                 // libpq connection string or URI
  int pool_size = 16;
  bool auto_migrate = false;
  int statement_timeout_ms = 10000;
  std::string migrations_dir;      // empty: the installed default
};

struct PixelConfig {
  std::string name;                // "default" for [meta], NAME for [pixel.NAME]
  std::string pixel_id;
  std::string access_token;        // empty: this pixel runs in dry-run
};

struct MetaConfig {
  std::string graph_url = "https://graph.facebook.com";
  std::string api_version = "v26.0";
  int batch_size = 100;            // 1..1000
  std::string test_event_code;     // environment only
  std::string ca_file;             // extra CA bundle (PEM) trusted besides the system store
  int connect_timeout_ms = 3000;
  int timeout_ms = 10000;
  std::string event_source_url;    // fallback when no browser event supplies one
};

struct StripeConfig {
  std::vector<std::string> webhook_secrets;   // whsec_..., several during rotation
  int tolerance_seconds = 300;
  std::vector<std::string> paid_event_types = {
      "checkout.session.completed", "checkout.session.async_payment_succeeded",
      "payment_intent.succeeded", "invoice.paid"};
};

enum class UnmatchedPolicy { Send, Drop };

// Past this a payment's wait buys nothing: Meta deduplicates against the pixel for 48 hours.
inline constexpr int kLongestUsefulWaitSeconds = 2 * 86400;
inline constexpr const char* kLongWaitWarning =
    "matching.wait_seconds is over two days: Meta deduplicates against the pixel for 48 hours only, and an "
    "unmatched Purchase, timed at the payment, has only what is left of Meta's 7 days for its retries (none at 7 "
    "days: it is never sent)";

struct MatchingConfig {
  int wait_seconds = 600;
  UnmatchedPolicy unmatched = UnmatchedPolicy::Send;
  int max_future_skew_seconds = 300;     // browser time further ahead of arrival: replaced
  int max_past_skew_seconds = 86400;     // browser time further behind arrival: replaced
  int workers = 2;                       // matching worker threads per instance
};

struct DispatchConfig {
  int workers = 2;                     // sender threads per instance
  int lease_seconds = 120;             // a claim older than this is taken over
  int poll_interval_ms = 1000;         // fallback polling when no wake-up arrives
  int backoff_base_seconds = 10;
  int backoff_cap_seconds = 6 * 3600;
  int max_attempts = 0;                // 0: retry until event_time + 7 days
  int pause_probe_seconds = 300;       // how often a paused pixel is retried
};

struct RetentionConfig {
  int raw_payload_days = 7;
  int days = 90;
};

struct AlertsConfig {
  double error_ratio = 0.02;
  int window_seconds = 900;
};

struct AdminConfig {
  std::string token;   // bearer token for /admin; empty disables /admin
};

struct Config {
  std::string environment = "production";   // production | staging
  std::string log_level = "info";
  ServerConfig server;
  DatabaseConfig database;
  MetaConfig meta;
  std::vector<PixelConfig> pixels;          // [meta] pixel first, then [pixel.NAME] sorted
  StripeConfig stripe;
  MatchingConfig matching;
  std::string phone_default_region;         // ISO 3166 alpha-2, upper case, may be empty
  DispatchConfig dispatch;
  RetentionConfig retention;
  AlertsConfig alerts;
  AdminConfig admin;

  bool production() const { return environment == "production"; }
  // True when no pixel has an access token: nothing leaves the machine.
  bool dryRun() const;
};

}  // namespace capi::config
