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

class AdminEndpoint final : public http::Endpoint {
 public:
  AdminEndpoint(std::string token, std::string url, std::function<std::string()> status)
      : token_(std::move(token)), url_(std::move(url)), status_(std::move(status)) {}

  Response handle(const Request& req) override {
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
};

}  // namespace

std::shared_ptr<http::Endpoint> makeAdminEndpoint(std::string token, std::string database_url,
                                                  std::function<std::string()> status_json) {
  return std::make_shared<AdminEndpoint>(std::move(token), std::move(database_url), std::move(status_json));
}

}  // namespace capi::app
