// `audit` and `events show` against a database filled the way production fills it: browser
// events and Stripe webhooks through the daemon's HTTP endpoints, sends through the dispatcher
// to a loopback Graph API. Each of the five deduplication failures is provoked on its own, and
// the audit must flag exactly that one; a clean shop passes with exit 0.
#include "app/audit_command.h"
#include "app/cli.h"
#include "app/events_command.h"
#include "dispatch/dispatcher.h"
#include "support/fake_graph_server.h"
#include "support/test_daemon.h"
#include "support/test_env.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

using namespace capi;
using namespace capi::testing;

namespace {

const TimePoint kStart = fromUnixSeconds(1795000000);

int64_t unixNow(const ManualClock& c) { return toUnixSeconds(c.now()); }

// A configuration file as an operator writes it for `audit` on the daemon's host: the database,
// the pixel, and whatever a test adds. `top` goes before the first section (environment = ...).
class ConfigFile {
 public:
  ConfigFile(const TestDatabase& db, const std::string& top = "", const std::string& sections = "") {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() / ("capi-audit-" + db.name() + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "capi-reconciler.conf").string();
    std::ofstream f(path_);
    f << top << "\n[database]\nurl = " << db.url() << "\n\n[meta]\npixel_id = 111\n\n" << sections;
  }
  ~ConfigFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ConfigFile(const ConfigFile&) = delete;
  ConfigFile& operator=(const ConfigFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

struct AuditCheck {
  std::string verdict, figure, cause;
};

// One audit, run twice (text and --json) over the same database at the same instant.
struct AuditResult {
  int exit_code = -1;
  std::string text, json, err;
  std::set<int> text_warnings;              // line numbers whose verdict column says WARN
  std::set<int> text_checks;                // every numbered line seen
  std::set<int> json_warnings;              // checks with "verdict":"WARN"
  std::map<int, AuditCheck> checks;         // from --json
  bool json_ok = false;
};

std::set<int> warnLines(const std::string& text, std::set<int>& seen) {
  static const std::regex line(R"(^([1-5]) .+? (WARN|OK)  )");
  std::set<int> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_search(l, m, line)) continue;
    seen.insert(std::stoi(m[1]));
    if (m[2] == "WARN") out.insert(std::stoi(m[1]));
  }
  return out;
}

AuditResult runAudit(const ConfigFile& config, const Clock& clock, const config::Environment& env = {},
                     std::vector<std::string> args = {}) {
  AuditResult r;
  std::ostringstream text, json, err;
  r.exit_code = app::runAudit(args, config.path(), env, clock, text, err);
  args.push_back("--json");
  const int json_code = app::runAudit(args, config.path(), env, clock, json, err);
  r.text = text.str();
  r.json = json.str();
  r.err = err.str();
  INFO(r.text << r.err);
  REQUIRE(json_code == r.exit_code);
  r.text_warnings = warnLines(r.text, r.text_checks);
  Poco::JSON::Parser parser;
  auto root = parser.parse(r.json).extract<Poco::JSON::Object::Ptr>();
  r.json_ok = root->getValue<bool>("ok");
  auto checks = root->getArray("checks");
  for (size_t i = 0; i < checks->size(); ++i) {
    auto c = checks->getObject(static_cast<unsigned>(i));
    const int n = c->getValue<int>("check");
    r.checks[n] = {c->getValue<std::string>("verdict"), c->getValue<std::string>("figure"),
                   c->getValue<std::string>("cause")};
    if (r.checks[n].verdict == "WARN") r.json_warnings.insert(n);
  }
  return r;
}

// Asserts that exactly `expected` (empty: none) is flagged, in the exit status, the text and the JSON.
void requireOnly(const AuditResult& r, const std::set<int>& expected) {
  INFO("text output:\n" << r.text << "\njson output:\n" << r.json << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == (expected.empty() ? app::kExitOk : app::kExitFailure));
  CHECK(r.text_checks == std::set<int>{1, 2, 3, 4, 5});
  CHECK(r.text_warnings == expected);
  CHECK(r.json_warnings == expected);
  CHECK(r.json_ok == expected.empty());
  CHECK(r.checks.size() == 5);
}

// A shop: the daemon with pixel 111 holding a token and sending to the fake Graph API.
struct Shop {
  TestDatabase db;
  ManualClock clock{kStart};
  FakeGraphServer graph;
  std::unique_ptr<TestDaemon> daemon;

  explicit Shop(const std::function<void(config::Config&)>& adjust = {}) {
    auto cfg = testConfig(db);
    useGraph(cfg, graph);
    if (adjust) adjust(cfg);
    daemon = std::make_unique<TestDaemon>(cfg, clock);
  }
};

struct OrderSpec {
  bool browser_event = true;         // false: the shop never posted the pixel's Purchase
  std::string event_time;            // the browser's event_time as sent (JSON); "" = the pixel's moment
  std::string browser_phone;         // user_data.ph as the customer typed it; "" = none
  std::string browser_email = "john_smith@gmail.com";
  std::string payment_phone = "+16505551212";
};

// Order n: the pixel fires and the shop posts the browser Purchase; Stripe's
// checkout.session.completed follows two minutes later.
void placeOrder(Shop& s, int n, const OrderSpec& o = {}) {
  const std::string num = std::to_string(n);
  const std::string order = "ORDER-" + num;
  if (o.browser_event) {
    std::string user_data = R"("em":")" + o.browser_email + R"(","fbp":"fb.1.1596403881668.)" + std::to_string(1000 + n) +
                            R"J(","client_ip_address":"203.0.113.7","client_user_agent":"Mozilla/5.0 (X11; Linux x86_64)")J";
    if (!o.browser_phone.empty()) user_data += R"(,"ph":")" + o.browser_phone + '"';
    const std::string body = R"({"event_name":"Purchase","event_id":"browser-evt-)" + num + R"(","event_time":)" +
                             (o.event_time.empty() ? std::to_string(unixNow(s.clock)) : o.event_time) +
                             R"(,"order_ref":")" + order +
                             R"(","event_source_url":"https://shop.example/checkout/thanks","user_data":{)" + user_data +
                             R"(},"custom_data":{"value":19.99,"currency":"EUR"}})";
    const auto r = s.daemon->post("/v1/events", body);
    INFO(r.body);
    REQUIRE(r.status == 202);
  }
  s.clock.advance(std::chrono::minutes(2));
  StripeCheckout sc;
  sc.event_id = "evt_" + num;
  sc.session_id = "cs_test_" + num;
  sc.payment_intent = "pi_" + num;
  sc.client_reference_id = order;
  sc.created = unixNow(s.clock) - 3;
  sc.email = "customer" + num + "@example.com";
  sc.phone = o.payment_phone;
  const auto r = s.daemon->postStripe(stripeCheckoutEvent(sc));
  INFO(r.body);
  REQUIRE(r.status == 200);
  s.clock.advance(std::chrono::minutes(1));
}

void placeOrders(Shop& s, int first, int count, const OrderSpec& o = {}) {
  for (int n = first; n < first + count; ++n) placeOrder(s, n, o);
}

// Lets every payment's matching wait run out, then lets the dispatcher send what is due.
void settle(Shop& s) {
  s.clock.advance(std::chrono::seconds(601));
  (*s.daemon)->maintenance();
  (*s.daemon)->maintenance();
  for (int i = 0; i < 50 && (*s.daemon)->dispatcher().runOnce() > 0; ++i) {
  }
}

// Restores an environment variable of this process when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("a clean shop's orders, all matched and sent, pass every audit check with exit 0", "[audit]") {
  Shop s;
  placeOrders(s, 1, 19);
  // An e-mail the shop hashed itself is passed through, not an anomaly.
  OrderSpec prehashed;
  prehashed.browser_email = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
  placeOrder(s, 20, prehashed);
  settle(s);
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent' AND matched") == "20");

  ConfigFile cfg(s.db);
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {});
  CHECK(r.text.rfind("deduplication audit over the last 7d\n", 0) == 0);
  CHECK(r.checks.at(1).figure == "100.0% of 20 Purchases carry the browser event_id; 0 unmatched (derived id)");
  CHECK(r.checks.at(2).figure == "browser to webhook p50 2m, p95 2m, max 2m; 0 of 20 browser times replaced");
  CHECK(r.checks.at(3).figure == "test event code not set; 0 events in the window were sent with one");
  CHECK(r.checks.at(4).figure == "0 unusable values, 1 arrived already hashed, over 40 events and payments");
  CHECK(r.checks.at(5).figure == "error ratio 0.0% of 20 attempts; 0 dead; oldest pending none");
}

TEST_CASE("Purchases without a browser event above one in ten flag only the event_id check", "[audit]") {
  Shop s;
  placeOrders(s, 1, 17);
  OrderSpec no_browser;
  no_browser.browser_event = false;
  placeOrders(s, 18, 3, no_browser);
  settle(s);
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE NOT matched AND status = 'sent'") == "3");

  ConfigFile cfg(s.db);
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {1});
  CHECK(r.checks.at(1).figure == "85.0% of 20 Purchases carry the browser event_id; 3 unmatched (derived id)");
  CHECK(r.text.find("cause: payments arrive without a browser Purchase to match") != std::string::npos);
}

TEST_CASE("one unmatched Purchase in ten is tolerated, one in nine is flagged", "[audit]") {
  Shop s;
  int matched = 0;
  std::set<int> expected;
  SECTION("one in ten") {
    matched = 9;
  }
  SECTION("one in nine") {
    matched = 8;
    expected = {1};
  }
  placeOrders(s, 1, matched);
  OrderSpec no_browser;
  no_browser.browser_event = false;
  placeOrder(s, matched + 1, no_browser);
  settle(s);
  ConfigFile cfg(s.db);
  requireOnly(runAudit(cfg, s.clock), expected);
}

TEST_CASE("browser times replaced for more than 1% of browser events flag only the event_time check", "[audit]") {
  Shop s;
  placeOrders(s, 1, 19);
  OrderSpec odd;
  std::string reason;
  const int64_t fired = unixNow(s.clock);
  SECTION("JavaScript milliseconds") {
    odd.event_time = std::to_string(fired * 1000 + 123);
    reason = "milliseconds";
  }
  SECTION("a browser clock an hour ahead") {
    odd.event_time = std::to_string(fired + 3600);
    reason = "future";
  }
  SECTION("a time two days before arrival") {
    odd.event_time = std::to_string(fired - 2 * 86400);
    reason = "too_old";
  }
  placeOrder(s, 20, odd);
  settle(s);
  REQUIRE(s.db.scalar("SELECT time_adjusted FROM client_events WHERE event_id = 'browser-evt-20'") == reason);
  // The replaced time still matched and was sent: only the audit tells the shop to fix its tag.
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent' AND matched") == "20");

  ConfigFile cfg(s.db);
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {2});
  CHECK(r.checks.at(2).figure.find("1 of 20 browser times replaced (" + reason + " 1)") != std::string::npos);
}

TEST_CASE("Purchases sent with a test event code flag only that check, after the code is gone", "[audit]") {
  Shop s([](config::Config& c) {
    c.environment = "staging";
    c.meta.test_event_code = "TEST4711";
  });
  placeOrders(s, 1, 5);
  settle(s);
  REQUIRE(s.graph.requestCount() >= 1);
  CHECK(s.graph.requests().front().body.find(R"("test_event_code":"TEST4711")") != std::string::npos);
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE test_event_code") == "5");

  // The audit runs later, with the code no longer set anywhere.
  ConfigFile cfg(s.db);
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {3});
  CHECK(r.checks.at(3).figure == "test event code not set; 5 events in the window were sent with one");
  CHECK(r.checks.at(3).cause.find("Test Events") != std::string::npos);
}

TEST_CASE("a test event code active now flags only the test event code check", "[audit]") {
  Shop s;
  placeOrders(s, 1, 5);
  settle(s);
  ConfigFile staging(s.db, "environment = staging");
  requireOnly(runAudit(staging, s.clock), {});

  const auto r = runAudit(staging, s.clock, {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST4711"}});
  requireOnly(r, {3});
  CHECK(r.checks.at(3).figure == "test event code ACTIVE now; 0 events in the window were sent with one");
}

TEST_CASE("audit reads the test event code from the process environment", "[audit]") {
  TestDatabase db;
  ConfigFile staging(db, "environment = staging");
  std::ostringstream out, err;
  {
    ScopedEnv code("CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST4711");
    CHECK(app::runAudit({}, staging.path(), out, err) == app::kExitFailure);
  }
  INFO(out.str() << err.str());
  std::set<int> seen;
  CHECK(warnLines(out.str(), seen) == std::set<int>{3});
  CHECK(out.str().find("test event code ACTIVE now") != std::string::npos);

  std::ostringstream after;
  ScopedEnv none("CAPI_RECONCILER_META_TEST_EVENT_CODE", nullptr);
  CHECK(app::runAudit({}, staging.path(), after, err) == app::kExitOk);
}

TEST_CASE("audit refuses a production configuration whose environment carries a test event code", "[audit]") {
  TestDatabase db;
  ManualClock clock{kStart};
  ConfigFile production(db);
  std::ostringstream out, err;
  CHECK(app::runAudit({}, production.path(), {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST4711"}}, clock, out, err) ==
        app::kExitConfig);
  CHECK(err.str().find("CAPI_RECONCILER_META_TEST_EVENT_CODE") != std::string::npos);
  CHECK(out.str().empty());
}

TEST_CASE("unusable phones above 2% of events and payments flag only the hashing check", "[audit]") {
  Shop s;
  placeOrders(s, 1, 19);
  OrderSpec bad;
  std::string anomaly;
  SECTION("a national phone number and no phone.default_region") {
    bad.browser_phone = "(650) 555-1212";
    anomaly = "ph:no_country_code 1";
  }
  SECTION("a browser phone that is no number") {
    bad.browser_phone = "call me maybe";
    anomaly = "ph:invalid 1";
  }
  SECTION("a payment phone that is no number") {
    bad.payment_phone = "n/a";
    anomaly = "ph:invalid 1";
  }
  placeOrder(s, 20, bad);
  settle(s);
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent' AND matched") == "20");

  ConfigFile cfg(s.db);
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {4});
  CHECK(r.checks.at(4).figure == "1 unusable values (" + anomaly + "), 0 arrived already hashed, over 40 events and payments");
}

TEST_CASE("a send error ratio above alerts.error_ratio flags only the sending check", "[audit]") {
  Shop s;
  placeOrders(s, 1, 20);
  // Meta is down for the first send; the retry a minute later succeeds.
  s.graph.pushResponse(503, FakeGraphServer::errorBody(2, 0, "Service temporarily unavailable", "", "", true));
  settle(s);
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'retrying'") == "20");
  s.clock.advance(std::chrono::minutes(1));
  while ((*s.daemon)->dispatcher().runOnce() > 0) {
  }
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == "20");

  ConfigFile strict(s.db);
  const auto r = runAudit(strict, s.clock);
  requireOnly(r, {5});
  CHECK(r.checks.at(5).figure == "error ratio 50.0% of 40 attempts (server 20); 0 dead; oldest pending none");
  CHECK(r.checks.at(5).cause == "send error ratio above 2.0%");

  // The operator's own threshold decides.
  ConfigFile lenient(s.db, "", "[alerts]\nerror_ratio = 0.6\n");
  requireOnly(runAudit(lenient, s.clock), {});
}

TEST_CASE("a dead event flags the sending check even when the error ratio is within bounds", "[audit]") {
  Shop s([](config::Config& c) { c.meta.batch_size = 1; });
  // Meta rejects order 7's event as invalid; every other event is accepted.
  s.graph.setResponder([](const RecordedRequest& req) -> std::pair<int, std::string> {
    if (req.body.find(R"("ORDER-7")") != std::string::npos)
      return {400, FakeGraphServer::errorBody(100, 2804019, "Invalid parameter", "Invalid custom_data",
                                              "The value is not valid")};
    return {200, FakeGraphServer::successBody(1)};
  });
  placeOrders(s, 1, 20);
  settle(s);
  REQUIRE(s.db.scalar("SELECT status FROM outbound_events WHERE order_ref = 'ORDER-7'") == "dead");
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'sent'") == "19");

  ConfigFile cfg(s.db, "", "[alerts]\nerror_ratio = 0.1\n");
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {5});
  CHECK(r.checks.at(5).figure == "error ratio 5.0% of 20 attempts (invalid 1); 1 dead (invalid 1); oldest pending none");
  CHECK(r.checks.at(5).cause == "1 dead event(s) will never reach Meta");
}

TEST_CASE("a Purchase still pending after more than an hour flags the sending check", "[audit]") {
  Shop s;
  placeOrders(s, 1, 19);
  settle(s);
  // The last order arrives while no dispatcher runs, and two hours pass.
  placeOrder(s, 20);
  s.clock.advance(std::chrono::hours(2));
  REQUIRE(s.db.scalar("SELECT status FROM outbound_events WHERE order_ref = 'ORDER-20'") == "pending");

  ConfigFile cfg(s.db);
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {5});
  CHECK(r.checks.at(5).figure == "error ratio 0.0% of 19 attempts; 0 dead; oldest pending 2.0h");
  CHECK(r.checks.at(5).cause == "events are waiting too long");
}

TEST_CASE("a pixel paused on an expired token flags the sending check", "[audit]") {
  Shop s;
  placeOrders(s, 1, 20);
  s.graph.pushResponse(400, FakeGraphServer::errorBody(190, 463, "Error validating access token: Session has expired"));
  settle(s);
  REQUIRE(s.db.scalar("SELECT count(*) FROM pixel_pauses WHERE pixel_id = '111'") == "1");
  REQUIRE(s.db.scalar("SELECT count(*) FROM outbound_events WHERE status = 'pending'") == "20");

  ConfigFile cfg(s.db);
  const auto r = runAudit(cfg, s.clock);
  requireOnly(r, {5});
  CHECK(r.checks.at(5).figure.find("(token 20)") != std::string::npos);
  CHECK(r.checks.at(5).figure.find("1 pixel(s) paused") != std::string::npos);
  CHECK(r.checks.at(5).cause.find("a pixel is paused on a token or permission error or a refused request") != std::string::npos);
}

TEST_CASE("--since limits the audit to its window", "[audit]") {
  Shop s;
  OrderSpec no_browser;
  no_browser.browser_event = false;
  placeOrders(s, 1, 5, no_browser);
  settle(s);
  // Two days later the shop's tag is fixed and every order matches.
  s.clock.advance(std::chrono::hours(48));
  placeOrders(s, 6, 10);
  settle(s);

  ConfigFile cfg(s.db);
  requireOnly(runAudit(cfg, s.clock), {1});
  const auto recent = runAudit(cfg, s.clock, {}, {"--since", "24h"});
  requireOnly(recent, {});
  CHECK(recent.text.rfind("deduplication audit over the last 24h\n", 0) == 0);
  CHECK(recent.checks.at(1).figure.find("of 10 Purchases") != std::string::npos);
}

TEST_CASE("a malformed --since or an unknown argument is a usage error", "[audit]") {
  TestDatabase db;
  ManualClock clock{kStart};
  ConfigFile cfg(db);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--since", "yesterday"}, {"--since", "0d"}, {"--since"}, {"--verbose"}}) {
    std::ostringstream out, err;
    CHECK(app::runAudit(args, cfg.path(), {}, clock, out, err) == app::kExitUsage);
    CHECK_FALSE(err.str().empty());
    CHECK(out.str().empty());
  }
}

namespace {

struct Shown {
  int exit_code = -1;
  std::string text, err;
  int json_code = -1;
  std::string json;
};

Shown show(const TestDatabase& db, const std::string& key) {
  Shown s;
  std::ostringstream text, json, err;
  s.exit_code = app::runEvents({"show", key, "--no-color"}, db.url(), false, text, err);
  s.json_code = app::runEvents({"show", key, "--json"}, db.url(), false, json, err);
  s.text = text.str();
  s.json = json.str();
  s.err = err.str();
  return s;
}

struct JsonRow {
  std::string browser, server, mark, note;
};

// The rows of the first view of `events show --json`, by field, and its breaking count.
std::map<std::string, JsonRow> jsonRows(const std::string& json, int& breaking) {
  Poco::JSON::Parser parser;
  auto views = parser.parse(json).extract<Poco::JSON::Array::Ptr>();
  REQUIRE(views->size() >= 1);
  auto view = views->getObject(0);
  breaking = view->getValue<int>("breaking");
  std::map<std::string, JsonRow> out;
  auto rows = view->getArray("rows");
  for (size_t i = 0; i < rows->size(); ++i) {
    auto r = rows->getObject(static_cast<unsigned>(i));
    out[r->getValue<std::string>("field")] = {r->getValue<std::string>("browser"), r->getValue<std::string>("server"),
                                               r->getValue<std::string>("mark"), r->getValue<std::string>("note")};
  }
  return out;
}

// The text line for `field`, with its two-character mark column ("✗ ", "! " or "  ").
std::string textRow(const std::string& text, const std::string& field) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    for (const std::string mark : {"\xE2\x9C\x97 ", "! ", "  "})
      if (l.rfind("  " + mark + field + " ", 0) == 0) return l;
  }
  return "";
}

bool marked(const std::string& line, const std::string& mark) { return line.rfind("  " + mark, 0) == 0; }

const std::string kBreaks = "\xE2\x9C\x97 ";

}  // namespace

TEST_CASE("events show on a matched, sent Purchase shows no breaking difference", "[audit]") {
  Shop s;
  placeOrder(s, 1);
  settle(s);
  const auto r = show(s.db, "browser-evt-1");
  INFO(r.text << r.err);
  REQUIRE(r.exit_code == app::kExitOk);
  REQUIRE(r.json_code == app::kExitOk);
  CHECK(r.text.rfind("pixel 111: Purchase browser-evt-1, order ORDER-1\n", 0) == 0);
  CHECK(r.text.find("deduplicates: same event_name, event_id and event_time") != std::string::npos);
  CHECK(r.text.find(kBreaks) == std::string::npos);
  CHECK(r.text.find("\033[") == std::string::npos);
  CHECK(textRow(r.text, "webhook delay").find("2m 0s after the browser event") != std::string::npos);
  CHECK(textRow(r.text, "webhooks").find("stripe pi_1: checkout.session.completed accepted") != std::string::npos);

  int breaking = -1;
  const auto rows = jsonRows(r.json, breaking);
  CHECK(breaking == 0);
  CHECK(rows.at("event_id").browser == "browser-evt-1");
  CHECK(rows.at("event_id").server == "browser-evt-1");
  CHECK(rows.at("event_time").browser == rows.at("event_time").server);
  CHECK(rows.at("event_time").mark.empty());
  CHECK(rows.at("status").server == "sent, 1 attempt(s), last HTTP 200");
  CHECK(rows.at("event_id source").server == "browser event (matched)");
  CHECK(rows.count("browser event") == 0);

  // The order reference finds the same event.
  CHECK(show(s.db, "ORDER-1").json == r.json);
}

TEST_CASE("events show on an unmatched Purchase marks the missing browser event as breaking", "[audit]") {
  Shop s;
  OrderSpec no_browser;
  no_browser.browser_event = false;
  placeOrder(s, 1, no_browser);
  settle(s);
  const auto r = show(s.db, "ORDER-1");
  INFO(r.text << r.err);
  REQUIRE(r.exit_code == app::kExitOk);
  const std::string line = textRow(r.text, "browser event");
  CHECK(marked(line, kBreaks));
  CHECK(line.find("none found") != std::string::npos);
  CHECK(line.find("derived event_id") != std::string::npos);
  CHECK(line.find("<- no browser event with this order") != std::string::npos);
  CHECK(r.text.find("1 difference(s) break deduplication") != std::string::npos);
  CHECK(r.text.find("deduplicates:") == std::string::npos);

  int breaking = -1;
  const auto rows = jsonRows(r.json, breaking);
  CHECK(breaking == 1);
  CHECK(rows.at("browser event").browser == "none found");
  CHECK(rows.at("browser event").mark == "breaks");
  CHECK(rows.at("event_id source").server == "derived from the order (unmatched)");
}

TEST_CASE("events show on a dead Purchase notices its status with Meta's error", "[audit]") {
  Shop s;
  s.graph.pushResponse(400, FakeGraphServer::errorBody(100, 2804019, "Invalid parameter", "Invalid custom_data",
                                                       "The value is not valid"));
  placeOrder(s, 1);
  settle(s);
  REQUIRE(s.db.scalar("SELECT status FROM outbound_events") == "dead");
  const std::string last_error = s.db.scalar("SELECT last_error FROM outbound_events");
  REQUIRE(last_error.rfind("invalid: ", 0) == 0);

  const auto r = show(s.db, "browser-evt-1");
  INFO(r.text << r.err);
  REQUIRE(r.exit_code == app::kExitOk);
  const std::string line = textRow(r.text, "status");
  CHECK(marked(line, "! "));
  CHECK(line.find("dead, 1 attempt(s), last HTTP 400") != std::string::npos);
  CHECK(line.find("<- " + last_error) != std::string::npos);

  int breaking = -1;
  const auto rows = jsonRows(r.json, breaking);
  CHECK(rows.at("status").mark == "notice");
  CHECK(rows.at("status").note == last_error);
  // Dead, but its identifiers were right: nothing about deduplication is broken.
  CHECK(breaking == 0);
}

TEST_CASE("events show marks a server event_time that differs from the browser's as breaking", "[audit]") {
  Shop s;
  placeOrder(s, 1);
  settle(s);
  // The daemon always copies the browser's time, so a drifted payload cannot be produced
  // through it: this simulates a row written by a handler that stamped the webhook's arrival.
  const std::string browser_time = s.db.scalar("SELECT extract(epoch from event_time)::bigint FROM client_events");
  const int64_t stamped = std::stoll(browser_time) + 120;
  s.db.exec("UPDATE outbound_events SET payload = jsonb_set(payload, '{event_time}', '" + std::to_string(stamped) +
            "'::jsonb)");

  const auto r = show(s.db, "browser-evt-1");
  INFO(r.text << r.err);
  REQUIRE(r.exit_code == app::kExitOk);
  const std::string line = textRow(r.text, "event_time");
  CHECK(marked(line, kBreaks));
  CHECK(line.find("(" + browser_time + ")") != std::string::npos);
  CHECK(line.find("(" + std::to_string(stamped) + ")") != std::string::npos);
  CHECK(line.find("<- the server event must carry the browser's time") != std::string::npos);
  CHECK(r.text.find("1 difference(s) break deduplication") != std::string::npos);

  int breaking = -1;
  const auto rows = jsonRows(r.json, breaking);
  CHECK(breaking == 1);
  CHECK(rows.at("event_time").mark == "breaks");
  CHECK(rows.at("event_id").mark.empty());
}

TEST_CASE("events show on an unknown key exits 1 and says nothing was found", "[audit]") {
  Shop s;
  placeOrder(s, 1);
  settle(s);
  const auto r = show(s.db, "no-such-event");
  CHECK(r.exit_code == app::kExitFailure);
  CHECK(r.json_code == app::kExitFailure);
  CHECK(r.text.empty());
  CHECK(r.json.empty());
  CHECK(r.err.find("nothing found for 'no-such-event'") != std::string::npos);

  std::ostringstream out, err;
  CHECK(app::runEvents({"show"}, s.db.url(), false, out, err) == app::kExitUsage);
}
