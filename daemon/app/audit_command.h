#pragma once
// `audit`: the five deduplication failures of SPEC §1, each a line with the figure behind it
// and a verdict. Exit status 1 when anything is WARN, so cron or a monitoring check can run it.
#include "config/loader.h"
#include "store/audit_store.h"

#include <iosfwd>
#include <string>
#include <vector>

namespace capi {
class Clock;
}

namespace capi::app {

struct AuditThresholds {
  double unmatched_share = 0.10;     // of Purchases whose event_id cannot deduplicate (derived, or not a Purchase's)
  double replaced_time_share = 0.01; // of browser events whose time was replaced
  double anomaly_share = 0.02;       // unusable personal-data values per event or payment
  double error_ratio = 0.02;         // alerts.error_ratio
  double oldest_pending_seconds = 3600;
};

struct AuditLine {
  int number = 0;
  std::string name;      // machine name
  std::string title;     // for a person
  bool warn = false;
  std::string figure;
  std::string cause;     // WARN only
  std::string fix;       // WARN only
};

std::vector<AuditLine> evaluateAudit(const store::AuditFigures& f, const AuditThresholds& t, bool test_code_active_now);

// "90s", "15m", "24h", "7d", "2w" -> seconds; false (and `seconds` untouched) when malformed,
// zero, or longer than kMaxAuditWindowSeconds.
bool parseDuration(const std::string& text, long long& seconds);
inline constexpr long long kMaxAuditWindowSeconds = 3650LL * 86400;   // ten years

// args after `audit`: [--since DURATION] [--json]. The configuration supplies the database,
// the error-ratio threshold and whether a test event code is active. Reads the process
// environment and the system clock.
int runAudit(const std::vector<std::string>& args, const std::string& config_path, std::ostream& out,
             std::ostream& err);
// The same with the environment the configuration is read with, and the clock that ends the
// window, given explicitly.
int runAudit(const std::vector<std::string>& args, const std::string& config_path, const config::Environment& env,
             const Clock& clock, std::ostream& out, std::ostream& err);

// What the audit needs from a configuration: the running daemon's admin API passes its own.
struct AuditSource {
  std::string database_url;
  double error_ratio = 0.02;       // alerts.error_ratio
  bool test_code_active = false;
};
// The same with the source given. Exit status 0 (all OK) or 1 (a WARN: the report is written),
// 2 (usage), or 1 with nothing written to `out` when the database cannot be read.
int runAudit(const std::vector<std::string>& args, const AuditSource& source, const Clock& clock, std::ostream& out,
             std::ostream& err);

}  // namespace capi::app
