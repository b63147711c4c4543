#pragma once
// `audit`: the five deduplication failures of SPEC §1, each a line with the figure behind it
// and a verdict. Exit status 1 when anything is WARN, so cron or a monitoring check can run it.
#include "store/audit_store.h"

#include <iosfwd>
#include <string>
#include <vector>

namespace capi::app {

struct AuditThresholds {
  double unmatched_share = 0.10;     // of Purchases sent with a derived event_id
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

// "90s", "15m", "24h", "7d", "2w" -> seconds; false when malformed.
bool parseDuration(const std::string& text, long long& seconds);

// args after `audit`: [--since DURATION] [--json]. The configuration supplies the database,
// the error-ratio threshold and whether a test event code is active.
int runAudit(const std::vector<std::string>& args, const std::string& config_path, std::ostream& out,
             std::ostream& err);

}  // namespace capi::app
