#include "app/admin_endpoint.h"

#include "app/events_command.h"
#include "app/retries_command.h"
#include "common/crypto.h"

#include <sstream>
#include <vector>

namespace capi::app {
namespace {

using http::jsonError;
using http::Outcome;
using http::Request;
using http::Response;

std::string queryParam(const std::string& query, const std::string& name) {
  std::istringstream in(query);
  std::string part;
  while (std::getline(in, part, '&')) {
    auto eq = part.find('=');
    if (part.substr(0, eq) == name) return eq == std::string::npos ? "" : part.substr(eq + 1);
  }
  return "";
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(path);
  std::string s;
  while (std::getline(in, s, '/'))
    if (!s.empty()) out.push_back(s);
  return out;
}

using AuditFn = std::function<int(const std::vector<std::string>&, std::ostream&, std::ostream&)>;

// The debug console. Static: it holds no data and no token. It asks for the token (kept in the
// tab's sessionStorage only), then reads the JSON API with it and writes every value as text
// (textContent), never as markup: event ids, Meta's messages and order references come from
// outside. Opening it reads the status and the unsent rows (indexed); the audit, which reads
// the window's events, runs on request only.
constexpr const char* kConsole = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>capi-reconciler</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.WARN{color:#a00;font-weight:bold}.OK{color:#070}#error{color:#a00}
</style></head><body>
<h1>capi-reconciler</h1>
<form id="login"><label>admin.token <input id="token" type="password" autocomplete="off"></label>
<button>Show</button></form>
<p id="error"></p>
<h2>Status</h2><table id="status"></table>
<h2>Retry table: retrying, pending and dead (50 of each at most)</h2><table id="retries"></table>
<h2>Audit</h2><form id="run-audit"><label>window <input id="since" value="24h" size="5"></label>
<button>Run</button> (reads the events of the window: a while on a large database)</form>
<table id="audit"></table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function row(table, cells, head) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement(head ? "th" : "td");
    td.textContent = c === null || c === undefined ? "" : (typeof c === "object" ? JSON.stringify(c) : String(c));
    tr.appendChild(td);
  }
  table.appendChild(tr);
  return tr;
}
async function api(path) {
  const r = await fetch(path, {headers: {Authorization: "Bearer " + sessionStorage.getItem("capi-admin-token")}});
  const body = await r.json();
  if (!r.ok) throw new Error(path + ": " + (body.error || r.status));
  return body;
}
async function show() {
  $("error").textContent = "";
  for (const t of ["status", "retries"]) $(t).replaceChildren();
  try {
    const s = await api("/admin/api/status");
    for (const [k, v] of Object.entries(s)) row($("status"), [k, v]);
    row($("retries"), ["id", "pixel", "event_id", "status", "attempts", "next attempt", "last error"], true);
    // One status at a time: each is read through the index of unsent rows, never the whole table.
    for (const status of ["retrying", "pending", "dead"]) {
      const q = await api("/admin/api/retries?status=" + status + "&limit=50");
      for (const e of q) row($("retries"), [e.id, e.pixel_id, e.event_id, e.status, e.attempts, e.next_attempt_at, e.last_error]);
    }
  } catch (e) {
    $("error").textContent = e.message;
  }
}
async function audit() {
  $("error").textContent = "";
  $("audit").replaceChildren();
  try {
    const a = await api("/admin/api/audit?since=" + encodeURIComponent($("since").value));
    row($("audit"), ["check", "verdict", "figure", "cause", "fix"], true);
    for (const c of a.checks) row($("audit"), [c.name, c.verdict, c.figure, c.cause, c.fix]).children[1].className = c.verdict;
  } catch (e) {
    $("error").textContent = e.message;
  }
}
$("run-audit").addEventListener("submit", (ev) => {
  ev.preventDefault();
  audit();
});
$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if ($("token").value) sessionStorage.setItem("capi-admin-token", $("token").value);
  $("token").value = "";
  show();
});
if (sessionStorage.getItem("capi-admin-token")) show();
</script></body></html>
)HTML";

class AdminEndpoint final : public http::Endpoint {
 public:
  AdminEndpoint(std::string token, std::string url, std::function<std::string()> status, AuditFn audit)
      : token_(std::move(token)), url_(std::move(url)), status_(std::move(status)), audit_(std::move(audit)) {}

  Response handle(const Request& req) override {
    if ((req.path == "/admin" || req.path == "/admin/") && req.method == "GET") return console();
    const std::string auth = req.header("Authorization");
    if (auth.rfind("Bearer ", 0) != 0 || !constantTimeEquals(auth.substr(7), token_)) {
      auto r = jsonError(Outcome::Unauthorized, "admin API: send Authorization: Bearer <admin.token>");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    const auto seg = segments(req.path);   // admin, api, ...
    if (seg.size() < 3 || seg[0] != "admin" || seg[1] != "api") return jsonError(Outcome::NotFound, "no such admin resource");
    const std::string& what = seg[2];
    // Segments become arguments of the CLI commands: a retry id starting with '-' would be read
    // as an option (retries/--all-dead/retry would requeue every dead event); an event key goes
    // after "--", where it may start with '-' as event ids sometimes do.
    if (what == "retries" && seg.size() >= 4 && seg[3][0] == '-')
      return jsonError(Outcome::BadRequest, "'" + seg[3] + "' is not an outbound event id");
    if (what == "status" && seg.size() == 3 && req.method == "GET") return ok(status_());
    if (what == "audit" && seg.size() == 3 && req.method == "GET") {
      std::vector<std::string> args{"--json"};
      if (auto s = queryParam(req.query, "since"); !s.empty()) args.insert(args.end(), {"--since", s});
      std::ostringstream out, err;
      const int rc = audit_(args, out, err);
      if (rc == 2) return jsonError(Outcome::BadRequest, err.str());
      // 1 is also the status of a report with a WARN; without a report the database failed.
      if (out.str().empty()) return jsonError(Outcome::ServiceUnavailable, err.str());
      return ok(out.str());
    }
    if (what == "retries" && seg.size() == 3 && req.method == "GET") {
      std::vector<std::string> args{"list", "--json"};
      if (auto s = queryParam(req.query, "status"); !s.empty()) args.insert(args.end(), {"--status", s});
      if (auto l = queryParam(req.query, "limit"); !l.empty()) args.insert(args.end(), {"--limit", l});
      return command([&](std::ostream& out, std::ostream& err) { return runRetries(args, url_, out, err); }, true);
    }
    if (what == "retries" && seg.size() == 4 && req.method == "GET")
      return command([&](std::ostream& out, std::ostream& err) { return runRetries({"show", seg[3], "--json"}, url_, out, err); }, false);
    if (what == "retries" && seg.size() == 5 && seg[4] == "retry" && req.method == "POST")
      return command([&](std::ostream& out, std::ostream& err) { return runRetries({"retry", seg[3]}, url_, out, err); }, false, true);
    if (what == "events" && seg.size() == 4 && req.method == "GET")
      return command([&](std::ostream& out, std::ostream& err) { return runEvents({"show", "--json", "--", seg[3]}, url_, false, out, err); }, false);
    return jsonError(Outcome::NotFound, "no such admin resource");
  }

 private:
  static Response console() {
    Response r;
    r.content_type = "text/html; charset=utf-8";
    r.body = kConsole;
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "connect-src 'self'; form-action 'none'; frame-ancestors 'none'");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }

  static Response ok(std::string body) {
    Response r;
    r.body = std::move(body);
    return r;
  }

  // Runs a CLI command and maps its exit status: 0 -> 200, 2 -> 400, 1 -> 404 (not found / refused).
  template <typename Fn>
  Response command(Fn&& fn, bool json_lines, bool text_result = false) {
    std::ostringstream out, err;
    const int rc = fn(out, err);
    if (rc == 2) return jsonError(Outcome::BadRequest, err.str());
    if (rc != 0) return jsonError(Outcome::NotFound, err.str());
    if (text_result) return ok("{\"result\":" + http::jsonQuote(out.str()) + "}");
    if (!json_lines) return ok(out.str());
    // One object per line -> a JSON array.
    std::string body = "[", line;
    std::istringstream in(out.str());
    bool first = true;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      body += (first ? "" : ",") + line;
      first = false;
    }
    return ok(body + "]");
  }

  std::string token_;
  std::string url_;
  std::function<std::string()> status_;
  AuditFn audit_;
};

}  // namespace

std::shared_ptr<http::Endpoint> makeAdminEndpoint(std::string token, std::string database_url,
                                                  std::function<std::string()> status_json, AuditFn audit) {
  return std::make_shared<AdminEndpoint>(std::move(token), std::move(database_url), std::move(status_json),
                                         std::move(audit));
}

}  // namespace capi::app
