#include "app/audit_command.h"

#include "app/cli.h"
#include "common/clock.h"
#include "config/loader.h"
#include "http/endpoint.h"
#include "store/pg_pool.h"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

namespace capi::app {
namespace {

std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", x * 100);
  return buf;
}

std::string human(double seconds) {
  char buf[32];
  const double s = std::fabs(seconds);
  if (s < 120) std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%.0fm", seconds / 60);
  else if (s < 172800) std::snprintf(buf, sizeof buf, "%.1fh", seconds / 3600);
  else std::snprintf(buf, sizeof buf, "%.1fd", seconds / 86400);
  return buf;
}

std::string joinCounts(const std::map<std::string, int64_t>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return out;
}

AuditLine line(int number, const char* name, const char* title) {
  AuditLine l;
  l.number = number;
  l.name = name;
  l.title = title;
  return l;
}

}  // namespace

bool parseDuration(const std::string& text, long long& seconds) {
  if (text.size() < 2) return false;
  const char unit = text.back();
  const std::string num = text.substr(0, text.size() - 1);
  if (num.empty() || num.size() > 9 || num.find_first_not_of("0123456789") != std::string::npos) return false;
  const long long n = std::stoll(num);
  long long s = 0;
  switch (unit) {
    case 's': s = n; break;
    case 'm': s = n * 60; break;
    case 'h': s = n * 3600; break;
    case 'd': s = n * 86400; break;
    case 'w': s = n * 7 * 86400; break;
    default: return false;
  }
  // The cap keeps `now - window` far from the range of system_clock's nanosecond count.
  if (n <= 0 || s > kMaxAuditWindowSeconds) return false;
  seconds = s;
  return true;
}

std::vector<AuditLine> evaluateAudit(const store::AuditFigures& f, const AuditThresholds& t, bool test_code_active_now) {
  std::vector<AuditLine> lines;

  AuditLine l1 = line(1, "event_id_origin", "event_id from the browser");
  if (f.purchases == 0) {
    l1.figure = "no Purchases in the window";
  } else {
    // A Purchase matched to a browser event of another name (say InitiateCheckout) carries that
    // event's id, which no pixel Purchase has: it counts twice just like an unmatched one.
    const int64_t failing = f.unmatched + f.matched_other_name;
    const double share = static_cast<double>(failing) / static_cast<double>(f.purchases);
    const double browser = static_cast<double>(f.purchases - f.unmatched) / static_cast<double>(f.purchases);
    l1.figure = pct(browser) + " of " + std::to_string(f.purchases) + " Purchases carry the browser event_id; " +
                std::to_string(f.unmatched) + " unmatched (derived id)";
    if (f.matched_other_name > 0)
      l1.figure += "; " + std::to_string(f.matched_other_name) + " matched a browser event not named Purchase";
    if (share > t.unmatched_share) {
      l1.warn = true;
      l1.cause = "payments arrive without a browser Purchase to match, so their server Purchase cannot deduplicate "
                 "against the pixel and may count twice";
      l1.fix = "POST every browser Purchase (with the pixel's eventID) to /v1/events with order_ref set to the "
               "Checkout Session's client_reference_id (or put the eventID in metadata.capi_event_id); check "
               "matching.wait_seconds covers the delay";
    }
  }
  lines.push_back(l1);

  AuditLine l2 = line(2, "event_time", "original event_time");
  int64_t replaced = 0;
  for (const auto& [k, v] : f.time_replaced) replaced += v;
  if (f.delay_p50)
    l2.figure = "browser to webhook p50 " + human(*f.delay_p50) + ", p95 " + human(*f.delay_p95) + ", max " +
                human(*f.delay_max) + "; ";
  l2.figure += std::to_string(replaced) + " of " + std::to_string(f.browser_events) + " browser times replaced";
  if (!f.time_replaced.empty()) l2.figure += " (" + joinCounts(f.time_replaced) + ")";
  if (f.browser_events > 0 && static_cast<double>(replaced) / static_cast<double>(f.browser_events) > t.replaced_time_share) {
    l2.warn = true;
    l2.cause = "browser events arrive with implausible event_time (milliseconds, future or long past): the "
               "daemon used the arrival time instead";
    l2.fix = "send event_time as unix seconds taken when the pixel fired (Math.floor(Date.now()/1000)), the same "
             "moment as the pixel's event";
  }
  lines.push_back(l2);

  AuditLine l3 = line(3, "test_event_code", "no test event code");
  l3.figure = std::string("test event code ") + (test_code_active_now ? "ACTIVE now" : "not set") + "; " +
              std::to_string(f.test_code_events) + " events in the window were sent with one";
  if (test_code_active_now || f.test_code_events > 0) {
    l3.warn = true;
    l3.cause = "events sent with test_event_code land in Events Manager's Test Events and never reach attribution";
    l3.fix = "unset CAPI_RECONCILER_META_TEST_EVENT_CODE (only staging may use it) and reload";
  }
  lines.push_back(l3);

  AuditLine l4 = line(4, "hashing", "normalization and hashing");
  int64_t bad = 0, prehashed = 0;
  std::map<std::string, int64_t> bad_by;
  for (const auto& [k, v] : f.anomalies) {
    if (k.size() > 10 && k.compare(k.size() - 10, 10, ":prehashed") == 0) {
      prehashed += v;
    } else {
      bad += v;
      bad_by[k] = v;
    }
  }
  const int64_t subjects = f.browser_events + f.payments;
  l4.figure = std::to_string(bad) + " unusable values" + (bad_by.empty() ? "" : " (" + joinCounts(bad_by) + ")") +
              ", " + std::to_string(prehashed) + " arrived already hashed, over " + std::to_string(subjects) +
              " events and payments";
  if (subjects > 0 && static_cast<double>(bad) / static_cast<double>(subjects) > t.anomaly_share) {
    l4.warn = true;
    l4.cause = "customer data that cannot be normalized is dropped, lowering match quality";
    l4.fix = "set phone.default_region to the shop's country for national numbers; send e-mails and phones as the "
             "customer typed them (the daemon normalizes and hashes them)";
  }
  lines.push_back(l4);

  AuditLine l5 = line(5, "sending", "sends reach Meta");
  const double ratio = f.attempts ? static_cast<double>(f.failed_attempts) / static_cast<double>(f.attempts) : 0;
  int64_t dead = 0;
  for (const auto& [k, v] : f.dead_by_reason) dead += v;
  l5.figure = "error ratio " + pct(ratio) + " of " + std::to_string(f.attempts) + " attempts";
  if (!f.failures_by_class.empty()) l5.figure += " (" + joinCounts(f.failures_by_class) + ")";
  l5.figure += "; " + std::to_string(dead) + " dead";
  if (!f.dead_by_reason.empty()) l5.figure += " (" + joinCounts(f.dead_by_reason) + ")";
  l5.figure += "; oldest pending " + (f.oldest_pending_age ? human(*f.oldest_pending_age) : std::string("none"));
  if (f.paused_pixels) l5.figure += "; " + std::to_string(f.paused_pixels) + " pixel(s) paused";
  std::vector<std::string> causes;
  if (ratio > t.error_ratio) causes.push_back("send error ratio above " + pct(t.error_ratio));
  if (dead > 0) causes.push_back(std::to_string(dead) + " dead event(s) will never reach Meta");
  if (f.oldest_pending_age && *f.oldest_pending_age > t.oldest_pending_seconds) causes.push_back("events are waiting too long");
  if (f.paused_pixels)
    causes.push_back("a pixel is paused on a token or permission error or a refused request (pixel_pauses.reason)");
  if (!causes.empty()) {
    l5.warn = true;
    for (const auto& c : causes) l5.cause += (l5.cause.empty() ? "" : "; ") + c;
    l5.fix = "see `capi-reconciler retries list --status dead` and `retries show ID`: token errors need a new "
             "meta.access_token and a reload (SIGHUP), or a restart when it is a systemd credential; a refused "
             "request (a retired API version) needs meta.api_version raised and a restart; network errors need "
             "outbound HTTPS to graph.facebook.com";
  }
  lines.push_back(l5);
  return lines;
}

int runAudit(const std::vector<std::string>& args, const std::string& config_path, std::ostream& out,
             std::ostream& err) {
  return runAudit(args, config_path, config::processEnvironment(), systemClock(), out, err);
}

namespace {
struct AuditArgs {
  long long window = 7 * 86400;
  std::string since_text = "7d";
  bool json = false;
};

bool parseAuditArgs(const std::vector<std::string>& args, AuditArgs& a, std::ostream& err) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      a.json = true;
    } else if (args[i] == "--since" && i + 1 < args.size()) {
      a.since_text = args[++i];
      if (!parseDuration(a.since_text, a.window)) {
        err << "--since takes a duration such as 90m, 24h, 7d or 2w (at most 3650d)\n";
        return false;
      }
    } else {
      err << "usage: capi-reconciler audit [--since DURATION] [--json] [--config FILE]\n";
      return false;
    }
  }
  return true;
}

int report(const AuditArgs& a, const AuditSource& source, const Clock& clock, std::ostream& out, std::ostream& err);
}  // namespace

int runAudit(const std::vector<std::string>& args, const std::string& config_path, const config::Environment& env,
             const Clock& clock, std::ostream& out, std::ostream& err) {
  AuditArgs a;
  if (!parseAuditArgs(args, a, err)) return kExitUsage;
  config::Config cfg;
  try {
    cfg = config::load({config_path, false, true, env});
  } catch (const config::ConfigError& e) {
    err << e.what() << "\n";
    return kExitConfig;
  }
  return report(a, {cfg.database.url, cfg.alerts.error_ratio, !cfg.meta.test_event_code.empty()}, clock, out, err);
}

int runAudit(const std::vector<std::string>& args, const AuditSource& source, const Clock& clock, std::ostream& out,
             std::ostream& err) {
  AuditArgs a;
  if (!parseAuditArgs(args, a, err)) return kExitUsage;
  return report(a, source, clock, out, err);
}

namespace {
int report(const AuditArgs& a, const AuditSource& source, const Clock& clock, std::ostream& out, std::ostream& err) {
  const long long window = a.window;
  const std::string& since_text = a.since_text;
  const bool json = a.json;
  AuditThresholds t;
  t.error_ratio = source.error_ratio;
  const TimePoint now = clock.now();
  store::AuditFigures figures;
  try {
    store::PgPool pool(source.database_url, 1, 60000);
    figures = store::collectAudit(pool, now - std::chrono::seconds(window), now);
  } catch (const std::exception& e) {
    err << "audit: " << e.what() << "\n";
    return kExitFailure;
  }
  const auto lines = evaluateAudit(figures, t, source.test_code_active);
  bool any_warn = false;
  for (const auto& l : lines) any_warn = any_warn || l.warn;
  if (json) {
    out << "{\"since\":" << http::jsonQuote(since_text) << ",\"window_seconds\":" << window
        << ",\"ok\":" << (any_warn ? "false" : "true") << ",\"checks\":[";
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& l = lines[i];
      out << (i ? "," : "") << "{\"check\":" << l.number << ",\"name\":" << http::jsonQuote(l.name)
          << ",\"verdict\":" << (l.warn ? "\"WARN\"" : "\"OK\"") << ",\"figure\":" << http::jsonQuote(l.figure)
          << ",\"cause\":" << http::jsonQuote(l.cause) << ",\"fix\":" << http::jsonQuote(l.fix) << "}";
    }
    out << "]}\n";
  } else {
    out << "deduplication audit over the last " << since_text << "\n";
    for (const auto& l : lines) {
      char head[96];
      std::snprintf(head, sizeof head, "%d %-28s %-4s  ", l.number, l.title.c_str(), l.warn ? "WARN" : "OK");
      out << head << l.figure << "\n";
      if (l.warn) out << "     cause: " << l.cause << "\n     fix:   " << l.fix << "\n";
    }
  }
  return any_warn ? kExitFailure : kExitOk;
}
}  // namespace

}  // namespace capi::app
