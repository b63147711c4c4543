#include "app/retries_command.h"

#include "app/cli.h"
#include "common/clock.h"
#include "common/time_format.h"
#include "http/endpoint.h"
#include "store/outbound_store.h"
#include "store/pg_pool.h"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace capi::app {
namespace {

std::string truncate(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "…"; }

std::string rowJson(const store::OutboundRecord& o) {
  using http::jsonQuote;
  std::ostringstream s;
  s << "{\"id\":" << o.id << ",\"pixel_id\":" << jsonQuote(o.pixel_id) << ",\"event_name\":" << jsonQuote(o.event_name)
    << ",\"event_id\":" << jsonQuote(o.event_id) << ",\"event_time\":" << toUnixSeconds(o.event_time)
    << ",\"order_ref\":" << jsonQuote(o.order_ref) << ",\"matched\":" << (o.matched ? "true" : "false")
    << ",\"status\":" << jsonQuote(o.status) << ",\"attempts\":" << o.attempts
    << ",\"next_attempt_at\":" << jsonQuote(formatIsoUtc(o.next_attempt_at))
    << ",\"last_http_status\":" << (o.last_http_status ? std::to_string(*o.last_http_status) : "null")
    << ",\"last_error\":" << jsonQuote(o.last_error) << ",\"fbtrace_id\":" << jsonQuote(o.fbtrace_id)
    << ",\"created_at\":" << jsonQuote(formatIsoUtc(o.created_at))
    << ",\"sent_at\":" << (o.sent_at ? jsonQuote(formatIsoUtc(*o.sent_at)) : "null") << "}";
  return s.str();
}

int usage(std::ostream& err) {
  err << "usage: capi-reconciler retries list [--status S] [--limit N] [--json]\n"
         "       capi-reconciler retries show ID [--json]\n"
         "       capi-reconciler retries retry ID|--all-dead\n"
         "statuses: pending, retrying, sent, dead, dry_run\n";
  return kExitUsage;
}

bool parseId(const std::string& s, int64_t& id) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  id = std::stoll(s);
  return true;
}

}  // namespace

int runRetries(const std::vector<std::string>& args, const std::string& database_url, std::ostream& out,
               std::ostream& err) {
  if (args.empty()) return usage(err);
  const std::string& verb = args[0];
  bool json = false;
  std::string status;
  int limit = 50;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--status" && i + 1 < args.size()) {
      status = args[++i];
      static const std::vector<std::string> kStatuses = {"pending", "retrying", "sent", "dead", "dry_run"};
      if (std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end()) {
        err << "unknown status '" << status << "'\n";
        return usage(err);
      }
    } else if (args[i] == "--limit" && i + 1 < args.size()) {
      int64_t n = 0;
      if (!parseId(args[++i], n) || n < 1 || n > 100000) {
        err << "--limit must be a number from 1 to 100000\n";
        return kExitUsage;
      }
      limit = static_cast<int>(n);
    } else if (args[i] == "--all-dead") {
      positional.push_back(args[i]);
    } else if (!args[i].empty() && args[i][0] == '-') {
      err << "unknown option " << args[i] << "\n";
      return usage(err);
    } else {
      positional.push_back(args[i]);
    }
  }

  store::PgPool pool(database_url, 1, 30000);
  store::OutboundStore store(pool);
  try {
    if (verb == "list") {
      if (!positional.empty()) return usage(err);
      auto rows = store.list(status, limit);
      if (json) {
        for (const auto& o : rows) out << rowJson(o) << "\n";
        return kExitOk;
      }
      out << std::left << std::setw(8) << "ID" << std::setw(10) << "STATUS" << std::setw(5) << "TRY"
          << std::setw(22) << "NEXT ATTEMPT" << std::setw(18) << "PIXEL" << std::setw(26) << "EVENT ID"
          << "LAST ERROR\n";
      for (const auto& o : rows) {
        out << std::left << std::setw(8) << o.id << std::setw(10) << o.status << std::setw(5) << o.attempts
            << std::setw(22) << formatIsoUtc(o.next_attempt_at) << std::setw(18) << truncate(o.pixel_id, 17)
            << std::setw(26) << truncate(o.event_id, 25) << truncate(o.last_error, 80) << "\n";
      }
      if (rows.empty()) out << "(no rows)\n";
      return kExitOk;
    }
    if (verb == "show") {
      int64_t id = 0;
      if (positional.size() != 1 || !parseId(positional[0], id)) return usage(err);
      auto o = store.find(id);
      if (!o) {
        err << "no outbound event with id " << id << "\n";
        return kExitFailure;
      }
      auto attempts = store.attempts(id);
      if (json) {
        std::string a = "[";
        for (size_t i = 0; i < attempts.size(); ++i) {
          const auto& t = attempts[i];
          a += std::string(i ? "," : "") + "{\"attempted_at\":" + http::jsonQuote(formatIsoUtc(t.attempted_at)) +
               ",\"http_status\":" + (t.http_status ? std::to_string(*t.http_status) : "null") +
               ",\"graph_code\":" + std::to_string(t.graph_code) + ",\"graph_subcode\":" +
               std::to_string(t.graph_subcode) + ",\"error_class\":" + http::jsonQuote(t.error_class) +
               ",\"message\":" + http::jsonQuote(t.message) + ",\"fbtrace_id\":" + http::jsonQuote(t.fbtrace_id) +
               ",\"latency_ms\":" + std::to_string(t.latency_ms) + ",\"batch_size\":" +
               std::to_string(t.batch_size) + "}";
        }
        std::string row = rowJson(*o);
        row.pop_back();
        out << row << ",\"payload\":" << o->payload_json << ",\"attempt_history\":" << a << "]}\n";
        return kExitOk;
      }
      out << "id:               " << o->id << "\n"
          << "pixel:            " << o->pixel_id << "\n"
          << "event:            " << o->event_name << " " << o->event_id << (o->matched ? " (browser event_id)" : " (derived: no browser event)") << "\n"
          << "event_time:       " << formatIsoUtc(o->event_time) << " (" << toUnixSeconds(o->event_time) << ")\n"
          << "order_ref:        " << o->order_ref << "\n"
          << "status:           " << o->status << " after " << o->attempts << " attempt(s)\n"
          << "next attempt:     " << formatIsoUtc(o->next_attempt_at) << "\n"
          << "last error:       " << (o->last_error.empty() ? "-" : o->last_error) << "\n"
          << "last HTTP status: " << (o->last_http_status ? std::to_string(*o->last_http_status) : "-") << "\n"
          << "fbtrace_id:       " << (o->fbtrace_id.empty() ? "-" : o->fbtrace_id) << "\n"
          << "payload:          " << o->payload_json << "\n"
          << "attempts:\n";
      if (attempts.empty()) out << "  (none)\n";
      for (const auto& t : attempts) {
        out << "  " << formatIsoUtc(t.attempted_at) << "  HTTP " << (t.http_status ? std::to_string(*t.http_status) : "-")
            << "  " << t.error_class;
        if (t.graph_code) out << "  code " << t.graph_code << "/" << t.graph_subcode;
        out << "  " << t.latency_ms << " ms  batch " << t.batch_size;
        if (!t.message.empty()) out << "  " << t.message;
        out << "\n";
      }
      return kExitOk;
    }
    if (verb == "retry") {
      if (positional.size() != 1) return usage(err);
      const TimePoint now = systemClock().now();
      if (positional[0] == "--all-dead") {
        out << "requeued " << store.requeueAllDead(now) << " dead event(s)\n";
        return kExitOk;
      }
      int64_t id = 0;
      if (!parseId(positional[0], id)) return usage(err);
      if (store.requeue(id, now) == 0) {
        err << "event " << id << " is not dead, retrying or dry_run (or does not exist): nothing requeued\n";
        return kExitFailure;
      }
      out << "requeued event " << id << "\n";
      return kExitOk;
    }
  } catch (const store::DatabaseUnavailable& e) {
    err << e.what() << "\n";
    return kExitFailure;
  }
  return usage(err);
}

}  // namespace capi::app
