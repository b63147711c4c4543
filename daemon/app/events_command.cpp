#include "app/events_command.h"

#include "app/cli.h"
#include "capi/user_data.h"
#include "common/time_format.h"
#include "http/endpoint.h"
#include "store/pg_pool.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace capi::app {
namespace {

std::string isoTime(TimePoint t) { return formatIsoUtc(t) + " (" + std::to_string(toUnixSeconds(t)) + ")"; }

std::string human(long long seconds) {
  const long long s = seconds < 0 ? -seconds : seconds;
  char buf[48];
  if (s < 120) std::snprintf(buf, sizeof buf, "%llds", seconds);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%lldm %llds", seconds / 60, s % 60);
  else if (s < 172800) std::snprintf(buf, sizeof buf, "%lldh %lldm", seconds / 3600, (s % 3600) / 60);
  else std::snprintf(buf, sizeof buf, "%lldd %lldh", seconds / 86400, (s % 86400) / 3600);
  return buf;
}

std::string hashedKeys(const std::string& user_data_json) {
  std::string out;
  try {
    auto u = UserData::fromJson(user_data_json);
    for (const auto& [k, v] : u.hashed) out += (out.empty() ? "" : " ") + k;
  } catch (...) {
  }
  return out.empty() ? "-" : out;
}

struct ServerFields {
  std::string event_name, event_id, fbp, fbc, ip, ua, hashed, url;
  long long event_time = 0;
};

ServerFields parsePayload(const std::string& payload) {
  ServerFields s;
  try {
    Poco::JSON::Parser p;
    auto o = p.parse(payload).extract<Poco::JSON::Object::Ptr>();
    s.event_name = o->optValue<std::string>("event_name", "");
    s.event_id = o->optValue<std::string>("event_id", "");
    s.event_time = o->optValue<Poco::Int64>("event_time", 0);
    s.url = o->optValue<std::string>("event_source_url", "");
    if (auto u = o->getObject("user_data")) {
      s.fbp = u->optValue<std::string>("fbp", "");
      s.fbc = u->optValue<std::string>("fbc", "");
      s.ip = u->optValue<std::string>("client_ip_address", "");
      s.ua = u->optValue<std::string>("client_user_agent", "");
      for (const auto& [k, v] : *u)
        if (k != "fbp" && k != "fbc" && k != "client_ip_address" && k != "client_user_agent")
          s.hashed += (s.hashed.empty() ? "" : " ") + k;
    }
  } catch (...) {
  }
  if (s.hashed.empty()) s.hashed = "-";
  return s;
}

std::string orDash(const std::string& s) { return s.empty() ? "-" : s; }

void compare(TraceView& v, const std::string& field, const std::string& b, const std::string& s, bool breaks,
             const std::string& note) {
  TraceRow r{field, orDash(b), orDash(s)};
  if (b != s && breaks) {
    r.mark = TraceRow::Mark::Breaks;
    r.note = note;
    ++v.breaking;
  }
  v.rows.push_back(std::move(r));
}

const store::ClientEventRecord* browserFor(const store::EventTrace& t, const store::OutboundRecord& o) {
  for (const auto& b : t.browser)
    if (b.event_id == o.event_id && b.event_name == o.event_name) return &b;
  for (const auto& b : t.browser)
    if (b.event_id == o.event_id) return &b;
  return nullptr;
}

}  // namespace

std::vector<TraceView> buildTraceViews(const store::EventTrace& t) {
  std::vector<TraceView> views;
  for (const auto& o : t.server) {
    TraceView v;
    v.title = "pixel " + o.pixel_id + ": " + o.event_name + " " + o.event_id +
              (o.order_ref.empty() ? "" : ", order " + o.order_ref);
    const auto* b = browserFor(t, o);
    const auto s = parsePayload(o.payload_json);
    if (b == nullptr) {
      TraceRow r{"browser event", "none found", o.matched ? "matched" : "derived event_id"};
      r.mark = TraceRow::Mark::Breaks;
      r.note = o.matched ? "the browser event was purged or renamed"
                         : "no browser event with this order: the server Purchase cannot deduplicate against a pixel "
                           "event unless the pixel used eventID " + o.event_id;
      ++v.breaking;
      v.rows.push_back(r);
    }
    compare(v, "event_name", b ? b->event_name : "", s.event_name, b != nullptr,
            "Meta deduplicates only events with the same event_name");
    compare(v, "event_id", b ? b->event_id : "", s.event_id, b != nullptr, "different event_id: counted twice");
    const std::string bt = b ? isoTime(b->event_time) : "";
    const std::string st = s.event_time ? isoTime(fromUnixSeconds(s.event_time)) : "";
    compare(v, "event_time", bt, st, b != nullptr, "the server event must carry the browser's time");
    if (b && b->reported_event_time) {
      TraceRow r{"browser said", isoTime(*b->reported_event_time), "", TraceRow::Mark::Notice,
                 "replaced (" + b->time_adjusted + ")"};
      v.rows.push_back(r);
    }
    // The delay and the webhooks belong to this server event's own payment, not to whichever
    // payment the key also names.
    const store::PaymentRecord* payment = nullptr;
    for (const auto& p : t.payments)
      if (o.payment_id && p.id == *o.payment_id) payment = &p;
    if (b && payment) {
      v.rows.push_back({"webhook delay", "",
                        human(toUnixSeconds(payment->created_at) - toUnixSeconds(b->event_time)) +
                            " after the browser event"});
    }
    if (payment) {
      std::string hooks;
      for (const auto& d : t.deliveries)
        if (d.payment_id == payment->id) hooks += (hooks.empty() ? "" : ", ") + d.event_type + " " + d.status;
      v.rows.push_back({"webhooks", "", payment->provider + " " + payment->payment_key + (hooks.empty() ? "" : ": " + hooks)});
    }
    compare(v, "fbp", b ? b->fbp : "", s.fbp, b != nullptr && !b->fbp.empty(), "fbp altered between browser and server");
    compare(v, "fbc", b ? b->fbc : "", s.fbc, b != nullptr && !b->fbc.empty(), "fbc must be sent unmodified");
    compare(v, "client_ip_address", b ? b->client_ip_address : "", s.ip, false, "");
    compare(v, "client_user_agent", b ? b->client_user_agent : "", s.ua, false, "");
    compare(v, "event_source_url", b ? b->event_source_url : "", s.url, false, "");
    compare(v, "hashed fields", b ? hashedKeys(b->user_data_json) : "", s.hashed, false, "");
    v.rows.push_back({"event_id source", "", o.matched ? "browser event (matched)" : "derived from the order (unmatched)"});
    TraceRow status{"status", "", o.status + ", " + std::to_string(o.attempts) + " attempt(s)" +
                                      (o.last_http_status ? ", last HTTP " + std::to_string(*o.last_http_status) : "")};
    if (o.status == "dead" || o.status == "retrying") {
      status.mark = TraceRow::Mark::Notice;
      status.note = o.last_error;
    }
    v.rows.push_back(status);
    if (o.test_event_code) {
      v.rows.push_back({"test event code", "", "sent with one", TraceRow::Mark::Breaks,
                        "filed under Test Events, not attribution"});
      ++v.breaking;
    }
    views.push_back(std::move(v));
  }
  if (t.server.empty()) {
    for (const auto& b : t.browser) {
      TraceView v;
      v.title = "browser event " + b.event_name + " " + b.event_id + " (no server event yet)";
      v.rows.push_back({"event_time", isoTime(b.event_time), "-"});
      v.rows.push_back({"order_ref", orDash(b.order_ref), "-"});
      std::string waiting = "no payment matched yet";
      for (const auto& p : t.payments) waiting = "payment " + p.payment_key + " " + p.status;
      v.rows.push_back({"server event", "", waiting, TraceRow::Mark::Notice, ""});
      views.push_back(std::move(v));
    }
  }
  return views;
}

int runEvents(const std::vector<std::string>& args, const std::string& database_url, bool terminal, std::ostream& out,
              std::ostream& err) {
  bool json = false, color = terminal;
  std::vector<std::string> pos;
  bool options_done = false;   // after "--", an event id or order reference may start with '-'
  for (const auto& a : args) {
    if (options_done) pos.push_back(a);
    else if (a == "--") options_done = true;
    else if (a == "--json") json = true;
    else if (a == "--no-color") color = false;
    else if (!a.empty() && a[0] == '-') {
      err << "unknown option " << a << "\n";
      return kExitUsage;
    } else pos.push_back(a);
  }
  if (pos.size() != 2 || pos[0] != "show") {
    err << "usage: capi-reconciler events show [--json] [--no-color] [--config FILE] [--] EVENT_ID|ORDER_REF\n";
    return kExitUsage;
  }
  store::PgPool pool(database_url, 1, 30000);
  store::EventTrace trace;
  try {
    trace = store::findTrace(pool, pos[1]);
  } catch (const std::exception& e) {
    err << "events show: " << e.what() << "\n";
    return kExitFailure;
  }
  const auto views = buildTraceViews(trace);
  if (views.empty()) {
    err << "nothing found for '" << pos[1] << "' (neither an event_id nor an order reference)\n";
    return kExitFailure;
  }
  if (json) {
    out << "[";
    for (size_t i = 0; i < views.size(); ++i) {
      out << (i ? "," : "") << "{\"title\":" << http::jsonQuote(views[i].title)
          << ",\"breaking\":" << views[i].breaking << ",\"rows\":[";
      for (size_t j = 0; j < views[i].rows.size(); ++j) {
        const auto& r = views[i].rows[j];
        const char* mark = r.mark == TraceRow::Mark::Breaks ? "breaks" : r.mark == TraceRow::Mark::Notice ? "notice" : "";
        out << (j ? "," : "") << "{\"field\":" << http::jsonQuote(r.field) << ",\"browser\":" << http::jsonQuote(r.browser)
            << ",\"server\":" << http::jsonQuote(r.server) << ",\"mark\":\"" << mark << "\",\"note\":"
            << http::jsonQuote(r.note) << "}";
      }
      out << "]}";
    }
    out << "]\n";
    return kExitOk;
  }
  const char* red = color ? "\033[31m" : "";
  const char* yellow = color ? "\033[33m" : "";
  const char* reset = color ? "\033[0m" : "";
  for (const auto& v : views) {
    out << v.title << "\n";
    char head[160];
    std::snprintf(head, sizeof head, "  %-2s%-20s %-44s %s\n", "", "field", "browser", "server");
    out << head;
    for (const auto& r : v.rows) {
      const bool breaks = r.mark == TraceRow::Mark::Breaks;
      const bool notice = r.mark == TraceRow::Mark::Notice;
      char line[1024];
      std::snprintf(line, sizeof line, "%-20s %-44s %s", r.field.c_str(), r.browser.substr(0, 44).c_str(),
                    r.server.substr(0, 80).c_str());
      out << "  " << (breaks ? red : notice ? yellow : "") << (breaks ? "✗ " : notice ? "! " : "  ") << line
          << (r.note.empty() ? "" : "  <- " + r.note) << reset << "\n";
    }
    out << (v.breaking ? std::string(red) + "  " + std::to_string(v.breaking) + " difference(s) break deduplication" + reset
                       : std::string("  deduplicates: same event_name, event_id and event_time"))
        << "\n\n";
  }
  return kExitOk;
}

}  // namespace capi::app
