#include "config/loader.h"
#include "unit/config/temp_dir.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

using capi::config::Config;
using capi::config::ConfigError;
using capi::config::Environment;
using capi::config::LoadOptions;
using capi::config::UnmatchedPolicy;
using capi::testing::TempDir;

namespace {

const std::string kDatabase = "[database]\nurl = postgresql://capi@localhost/capi\n";

struct Fixture {
  TempDir dir;
  Environment env;

  Config load(const std::string& ini) {
    LoadOptions options;
    options.path = dir.write("capi-reconciler.conf", ini);
    options.env = env;
    return capi::config::load(options);
  }

  // The problems load() reports; fails the test when it succeeds.
  std::vector<std::string> problems(const std::string& ini) { return error(ini).problems(); }

  ConfigError error(const std::string& ini) {
    try {
      load(ini);
    } catch (const ConfigError& e) {
      return e;
    }
    FAIL("load() accepted a configuration that should have been rejected");
    throw std::logic_error("unreachable");
  }
};

bool anyContains(const std::vector<std::string>& problems, const std::string& needle) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(needle) != std::string::npos; });
}

// Matches when some problem contains every needle.
bool oneContainsAll(const std::vector<std::string>& problems, std::initializer_list<std::string> needles) {
  return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
    return std::all_of(needles.begin(), needles.end(), [&](const std::string& n) { return p.find(n) != std::string::npos; });
  });
}

}  // namespace

TEST_CASE("A file with only database.url yields the documented defaults", "[config]") {
  Fixture f;
  Config c = f.load(kDatabase);
  CHECK(c.environment == "production");
  CHECK(c.production());
  CHECK(c.log_level == "info");
  CHECK(c.server.host == "127.0.0.1");
  CHECK(c.server.port == 8080);
  CHECK(c.server.max_body_bytes == 1024 * 1024);
  CHECK(c.server.threads == 32);
  CHECK(c.server.max_queued == 256);
  CHECK(c.server.trusted_proxies.empty());
  CHECK(c.server.ingest_key.empty());
  CHECK(c.database.url == "postgresql://capi@localhost/capi");
  CHECK(c.database.pool_size == 16);
  CHECK_FALSE(c.database.auto_migrate);
  CHECK(c.database.migrations_dir.empty());
  CHECK(c.meta.graph_url == "https://graph.facebook.com");
  CHECK(c.meta.api_version == "v26.0");
  CHECK(c.meta.batch_size == 100);
  CHECK(c.meta.test_event_code.empty());
  CHECK(c.stripe.webhook_secrets.empty());
  CHECK(c.stripe.tolerance_seconds == 300);
  CHECK(c.stripe.paid_event_types.size() == 4);
  CHECK(c.matching.wait_seconds == 600);
  CHECK(c.matching.unmatched == UnmatchedPolicy::Send);
  CHECK(c.matching.workers == 2);
  CHECK(c.phone_default_region.empty());
  CHECK(c.dispatch.max_attempts == 0);
  CHECK(c.retention.raw_payload_days == 7);
  CHECK(c.retention.days == 90);
  CHECK(c.alerts.error_ratio == Approx(0.02));
  CHECK(c.admin.token.empty());
  CHECK(c.pixels.empty());
  CHECK(c.dryRun());
}

TEST_CASE("Every key in the file is parsed into its field", "[config]") {
  Fixture f;
  std::string migrations = f.dir / "migrations";
  std::string ca = f.dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  std::filesystem::create_directories(migrations);
  Config c = f.load(R"(environment = staging
[log]
level = debug
[server]
listen = 0.0.0.0:9090
max_body_bytes = 2048
threads = 8
max_queued = 100
timeout_seconds = 20
keepalive_timeout_seconds = 3
trusted_proxies = 10.0.0.1, ::1
cors_origins = https://shop.example, http://localhost:3000
ingest_key = ingest-key-value
[database]
url = host=db dbname=capi user=capi
pool_size = 4
auto_migrate = yes
statement_timeout_ms = 0
migrations_dir = )" + migrations + R"(
[meta]
pixel_id = 1234567890
access_token = EAAtoken
graph_url = http://127.0.0.1:1234/
api_version = v24.0
batch_size = 1000
ca_file = )" + ca + R"(
connect_timeout_ms = 500
timeout_ms = 1500
event_source_url = https://shop.example/checkout
[stripe]
webhook_secret = whsec_one, whsec_two
tolerance_seconds = 60
paid_event_types = checkout.session.completed, invoice.paid
[matching]
wait_seconds = 0
unmatched = drop
max_future_skew_seconds = 60
max_past_skew_seconds = 3600
workers = 3
[phone]
default_region = de
[dispatch]
workers = 4
lease_seconds = 60
poll_interval_ms = 250
backoff_base_seconds = 5
backoff_cap_seconds = 3600
max_attempts = 15
pause_probe_seconds = 120
[retention]
raw_payload_days = 0
days = 30
[alerts]
error_ratio = 0.05
window_seconds = 600
[admin]
token = admin-token-value
)");
  CHECK(c.environment == "staging");
  CHECK(c.log_level == "debug");
  CHECK(c.server.host == "0.0.0.0");
  CHECK(c.server.port == 9090);
  CHECK(c.server.max_body_bytes == 2048);
  CHECK(c.server.threads == 8);
  CHECK(c.server.max_queued == 100);
  CHECK(c.server.timeout_seconds == 20);
  CHECK(c.server.keepalive_timeout_seconds == 3);
  CHECK(c.server.trusted_proxies == std::vector<std::string>{"10.0.0.1", "::1"});
  CHECK(c.server.cors_origins == std::vector<std::string>{"https://shop.example", "http://localhost:3000"});
  CHECK(c.server.ingest_key == "ingest-key-value");
  CHECK(c.database.url == "host=db dbname=capi user=capi");
  CHECK(c.database.pool_size == 4);
  CHECK(c.database.auto_migrate);
  CHECK(c.database.statement_timeout_ms == 0);
  CHECK(c.database.migrations_dir == migrations);
  REQUIRE(c.pixels.size() == 1);
  CHECK(c.pixels[0].name == "default");
  CHECK(c.pixels[0].pixel_id == "1234567890");
  CHECK(c.pixels[0].access_token == "EAAtoken");
  CHECK_FALSE(c.dryRun());
  CHECK(c.meta.graph_url == "http://127.0.0.1:1234");
  CHECK(c.meta.api_version == "v24.0");
  CHECK(c.meta.batch_size == 1000);
  CHECK(c.meta.ca_file == ca);
  CHECK(c.meta.connect_timeout_ms == 500);
  CHECK(c.meta.timeout_ms == 1500);
  CHECK(c.meta.event_source_url == "https://shop.example/checkout");
  CHECK(c.stripe.webhook_secrets == std::vector<std::string>{"whsec_one", "whsec_two"});
  CHECK(c.stripe.tolerance_seconds == 60);
  CHECK(c.stripe.paid_event_types == std::vector<std::string>{"checkout.session.completed", "invoice.paid"});
  CHECK(c.matching.wait_seconds == 0);
  CHECK(c.matching.unmatched == UnmatchedPolicy::Drop);
  CHECK(c.matching.max_future_skew_seconds == 60);
  CHECK(c.matching.max_past_skew_seconds == 3600);
  CHECK(c.matching.workers == 3);
  CHECK(c.phone_default_region == "DE");
  CHECK(c.dispatch.workers == 4);
  CHECK(c.dispatch.lease_seconds == 60);
  CHECK(c.dispatch.poll_interval_ms == 250);
  CHECK(c.dispatch.backoff_base_seconds == 5);
  CHECK(c.dispatch.backoff_cap_seconds == 3600);
  CHECK(c.dispatch.max_attempts == 15);
  CHECK(c.dispatch.pause_probe_seconds == 120);
  CHECK(c.retention.raw_payload_days == 0);
  CHECK(c.retention.days == 30);
  CHECK(c.alerts.error_ratio == Approx(0.05));
  CHECK(c.alerts.window_seconds == 600);
  CHECK(c.admin.token == "admin-token-value");
}

TEST_CASE("Key and section names match regardless of case", "[config]") {
  Fixture f;
  Config c = f.load("Environment = Staging\n[SERVER]\nListen = 127.0.0.1:81\n" + kDatabase);
  CHECK(c.environment == "staging");
  CHECK(c.server.port == 81);
}

TEST_CASE("Lines starting with '#' or ';' are comments", "[config]") {
  Fixture f;
  Config c = f.load("# hash comment\n; semicolon comment\n[server]  # trailing comment\n  # listen = 1.2.3.4:1\nthreads = 3\n" +
                    kDatabase);
  CHECK(c.server.threads == 3);
  CHECK(c.server.host == "127.0.0.1");
}

TEST_CASE("Booleans accept true/false, yes/no and 1/0", "[config]") {
  for (auto [text, expected] : {std::pair{"true", true}, {"YES", true}, {"1", true}, {"false", false}, {"no", false}, {"0", false}}) {
    Fixture f;
    CAPTURE(text);
    CHECK(f.load(kDatabase + "auto_migrate = " + text + "\n").database.auto_migrate == expected);
  }
}

TEST_CASE("server.listen accepts IPv6 in brackets and a host name, and rejects a bare IPv6 address", "[config]") {
  Fixture f;
  Config v6 = f.load(kDatabase + "[server]\nlisten = [::1]:8443\n");
  CHECK(v6.server.host == "::1");
  CHECK(v6.server.port == 8443);
  CHECK(f.load(kDatabase + "[server]\nlisten = localhost:0\n").server.port == 0);
  CHECK(anyContains(f.problems(kDatabase + "[server]\nlisten = ::1:8080\n"), "needs brackets"));
  CHECK(anyContains(f.problems(kDatabase + "[server]\nlisten = 127.0.0.1\n"), "host:port"));
  CHECK(anyContains(f.problems(kDatabase + "[server]\nlisten = 127.0.0.1:70000\n"), "port must be 0..65535"));
}

TEST_CASE("A CAPI_RECONCILER_ variable overrides the file's value", "[config][env]") {
  Fixture f;
  std::string migrations = f.dir / "m";
  std::filesystem::create_directories(migrations);
  f.env = {{"CAPI_RECONCILER_SERVER_LISTEN", "127.0.0.1:9999"},
           {"CAPI_RECONCILER_META_ACCESS_TOKEN", "EAAfromenv"},
           {"CAPI_RECONCILER_DATABASE_MIGRATIONS_DIR", migrations},
           {"CAPI_RECONCILER_ENVIRONMENT", "staging"},
           {"CAPI_RECONCILER_LOG_LEVEL", "warn"},
           {"CAPI_RECONCILER_SERVER_MAX_BODY_BYTES", "4096"},
           {"UNRELATED", "ignored"}};
  Config c = f.load(kDatabase + "[server]\nlisten = 127.0.0.1:1111\n[meta]\npixel_id = 42\naccess_token = EAAfromfile\n");
  CHECK(c.server.port == 9999);
  REQUIRE(c.pixels.size() == 1);
  CHECK(c.pixels[0].access_token == "EAAfromenv");
  CHECK(c.database.migrations_dir == migrations);
  CHECK(c.environment == "staging");
  CHECK(c.log_level == "warn");
  CHECK(c.server.max_body_bytes == 4096);
}

TEST_CASE("An environment override is validated like a file value and the variable is named", "[config][env]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_SERVER_THREADS", "lots"}};
  CHECK(oneContainsAll(f.problems(kDatabase), {"server.threads", "\"lots\"", "CAPI_RECONCILER_SERVER_THREADS", "1..1024"}));
}

TEST_CASE("An unknown CAPI_RECONCILER_ variable is a problem that suggests the intended name", "[config][env]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_META_ACESS_TOKEN", "EAAsecret"}};
  auto problems = f.problems(kDatabase);
  CHECK(oneContainsAll(problems, {"CAPI_RECONCILER_META_ACESS_TOKEN", "did you mean CAPI_RECONCILER_META_ACCESS_TOKEN"}));
  CHECK_FALSE(anyContains(problems, "EAAsecret"));
}

TEST_CASE("[pixel.NAME] sections add pixels after [meta]'s, sorted by name", "[config][pixels]") {
  Fixture f;
  Config c = f.load(kDatabase + R"(
[meta]
pixel_id = 100
access_token = EAAmain
[pixel.zeta]
pixel_id = 300
[pixel.Shop-EU]
pixel_id = 200
access_token = EAAeu
)");
  REQUIRE(c.pixels.size() == 3);
  CHECK(c.pixels[0].name == "default");
  CHECK(c.pixels[0].pixel_id == "100");
  CHECK(c.pixels[1].name == "Shop-EU");
  CHECK(c.pixels[1].access_token == "EAAeu");
  CHECK(c.pixels[2].name == "zeta");
  CHECK(c.pixels[2].access_token.empty());
  CHECK_FALSE(c.dryRun());
}

TEST_CASE("A pixel section's values can be overridden by CAPI_RECONCILER_PIXEL_<NAME>_ variables", "[config][pixels][env]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_PIXEL_SHOP_EU_ACCESS_TOKEN", "EAAeu"}, {"CAPI_RECONCILER_PIXEL_SHOP_EU_PIXEL_ID", "201"}};
  Config c = f.load(kDatabase + "[pixel.shop-eu]\npixel_id = 200\n");
  REQUIRE(c.pixels.size() == 1);
  CHECK(c.pixels[0].name == "shop-eu");
  CHECK(c.pixels[0].pixel_id == "201");
  CHECK(c.pixels[0].access_token == "EAAeu");
}

TEST_CASE("A pixel can be configured by the environment alone", "[config][pixels][env]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_PIXEL_US_PIXEL_ID", "555"}, {"CAPI_RECONCILER_PIXEL_US_ACCESS_TOKEN", "EAAus"}};
  Config c = f.load(kDatabase);
  REQUIRE(c.pixels.size() == 1);
  CHECK(c.pixels[0].name == "us");
  CHECK(c.pixels[0].pixel_id == "555");
}

TEST_CASE("A pixel token without a pixel id is a problem naming the missing key", "[config][pixels]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_PIXEL_TYPO_ACCESS_TOKEN", "EAAlost"}};
  auto problems = f.problems(kDatabase + "[meta]\naccess_token = EAAorphan\n");
  CHECK(anyContains(problems, "pixel.typo.pixel_id is required"));
  CHECK(oneContainsAll(problems, {"meta.access_token", "meta.pixel_id is not"}));
  CHECK_FALSE(anyContains(problems, "EAAlost"));
  CHECK_FALSE(anyContains(problems, "EAAorphan"));
}

TEST_CASE("The same pixel_id configured twice is a problem naming both keys", "[config][pixels]") {
  Fixture f;
  auto problems = f.problems(kDatabase + "[meta]\npixel_id = 42\n[pixel.copy]\npixel_id = 42\n");
  CHECK(oneContainsAll(problems, {"pixel.copy.pixel_id", "meta.pixel_id", "same pixel"}));
}

TEST_CASE("Pixel ids must be digits and pixel names are restricted", "[config][pixels]") {
  Fixture f;
  auto problems = f.problems(kDatabase + "[meta]\npixel_id = 12ab\n[pixel.bad name]\npixel_id = 1\n[pixel.default]\npixel_id = 2\n");
  CHECK(oneContainsAll(problems, {"meta.pixel_id", "digits only"}));
  CHECK(anyContains(problems, "letters, digits, '_' and '-'"));
  CHECK(anyContains(problems, "\"default\" is reserved"));
}

TEST_CASE("dryRun is true when no pixel has a token, and when no pixel is configured", "[config][pixels]") {
  Config none;
  CHECK(none.dryRun());
  Config tokenless;
  tokenless.pixels.push_back({"default", "1", ""});
  tokenless.pixels.push_back({"eu", "2", ""});
  CHECK(tokenless.dryRun());
  tokenless.pixels[1].access_token = "EAA";
  CHECK_FALSE(tokenless.dryRun());
}

TEST_CASE("A credential file replaces the file's secret and loses its trailing newline", "[config][credentials]") {
  Fixture f;
  TempDir credentials;
  credentials.write("meta.access_token", "EAAcredential\n");
  credentials.write("stripe.webhook_secret", "whsec_a,whsec_b\r\n");
  credentials.write("server.ingest_key", "ingest\n");
  credentials.write("admin.token", "admin\n");
  credentials.write("database.url", "postgresql://u:pw@db/capi\n");
  credentials.write("pixel.shop-eu.access_token", "EAAeu\n");
  f.env = {{"CREDENTIALS_DIRECTORY", credentials.path()}};
  Config c = f.load(kDatabase + "[meta]\npixel_id = 1\naccess_token = EAAfile\n[pixel.Shop-EU]\npixel_id = 2\n");
  REQUIRE(c.pixels.size() == 2);
  CHECK(c.pixels[0].access_token == "EAAcredential");
  CHECK(c.pixels[1].access_token == "EAAeu");
  CHECK(c.stripe.webhook_secrets == std::vector<std::string>{"whsec_a", "whsec_b"});
  CHECK(c.server.ingest_key == "ingest");
  CHECK(c.admin.token == "admin");
  CHECK(c.database.url == "postgresql://u:pw@db/capi");
}

TEST_CASE("A CAPI_RECONCILER_ variable wins over a credential file", "[config][credentials][env]") {
  Fixture f;
  TempDir credentials;
  credentials.write("admin.token", "from-credential\n");
  f.env = {{"CREDENTIALS_DIRECTORY", credentials.path()}, {"CAPI_RECONCILER_ADMIN_TOKEN", "from-environment"}};
  CHECK(f.load(kDatabase).admin.token == "from-environment");
}

TEST_CASE("A credential that is not a secret key is a problem", "[config][credentials]") {
  Fixture f;
  TempDir credentials;
  credentials.write("server.threads", "4\n");
  credentials.write("meta.test_event_code", "TEST1\n");
  credentials.write("pixel.access_token", "EAAnameless\n");
  f.env = {{"CREDENTIALS_DIRECTORY", credentials.path()}};
  auto problems = f.problems(kDatabase);
  CHECK(oneContainsAll(problems, {"credential pixel.access_token", "not a secret this daemon reads"}));
  CHECK(oneContainsAll(problems, {"credential server.threads", "not a secret this daemon reads"}));
  CHECK(oneContainsAll(problems, {"meta.test_event_code", "CAPI_RECONCILER_META_TEST_EVENT_CODE"}));
}

TEST_CASE("DATABASE_URL is used only when database.url is set nowhere else", "[config][env]") {
  Fixture f;
  f.env = {{"DATABASE_URL", "postgresql://fallback/capi"}};
  CHECK(f.load("").database.url == "postgresql://fallback/capi");
  CHECK(f.load(kDatabase).database.url == "postgresql://capi@localhost/capi");
  f.env["CAPI_RECONCILER_DATABASE_URL"] = "postgresql://override/capi";
  CHECK(f.load(kDatabase).database.url == "postgresql://override/capi");
}

TEST_CASE("database.url is required unless the caller needs no database", "[config]") {
  Fixture f;
  CHECK(anyContains(f.problems("[server]\nthreads = 2\n"), "database.url is required"));
  LoadOptions options;
  options.path = f.dir.write("no-db.conf", "[phone]\ndefault_region = us\n");
  options.require_database = false;
  CHECK(capi::config::load(options).phone_default_region == "US");
  CHECK(anyContains(f.problems("[database]\nurl = not a connection string\n"), "not a libpq connection string"));
  // A quoted URL is refused, and the refusal does not repeat its password.
  const auto quoted = f.problems("[database]\nurl = \"postgresql://capi:S3cret@db/capi?sslmode=verify-full\"\n");
  CHECK(anyContains(quoted, "not a libpq connection string"));
  CHECK_FALSE(anyContains(quoted, "S3cret"));
}

TEST_CASE("A missing file is a problem unless the caller allows it", "[config]") {
  TempDir dir;
  LoadOptions options;
  options.path = dir / "absent.conf";
  try {
    capi::config::load(options);
    FAIL("a missing file was accepted");
  } catch (const ConfigError& e) {
    CHECK(anyContains(e.problems(), "configuration file not found"));
  }
  options.allow_missing_file = true;
  options.require_database = false;
  CHECK(capi::config::load(options).pixels.empty());
}

TEST_CASE("meta.test_event_code in a file is rejected with advice to use a staging environment", "[config][test-event-code]") {
  Fixture f;
  auto problems = f.problems(kDatabase + "[meta]\ntest_event_code = TEST123\n");
  CHECK(anyContains(problems,
                    "meta.test_event_code must not be in a configuration file; set "
                    "CAPI_RECONCILER_META_TEST_EVENT_CODE in the environment of a staging instance"));
}

TEST_CASE("A test event code from the environment stops a production instance", "[config][test-event-code]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST123"}};
  auto problems = f.problems(kDatabase);
  CHECK(oneContainsAll(problems, {"CAPI_RECONCILER_META_TEST_EVENT_CODE", "environment = production", "staging"}));
}

TEST_CASE("A test event code from the environment is accepted on a staging instance", "[config][test-event-code]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST123"}};
  Config c = f.load("environment = staging\n" + kDatabase);
  CHECK(c.meta.test_event_code == "TEST123");
}

TEST_CASE("A file with three distinct mistakes reports all three in one ConfigError", "[config]") {
  Fixture f;
  ConfigError e = f.error(kDatabase + R"(
[server]
threads = 0
[matching]
unmatched = maybe
[dispatch]
max_atempts = 5
)");
  REQUIRE(e.problems().size() == 3);
  std::string what = e.what();
  CHECK(what.rfind("configuration has 3 problem(s):\n  - ", 0) == 0);
  CHECK(what.find("server.threads = \"0\"") != std::string::npos);
  CHECK(what.find("out of range; allowed 1..1024") != std::string::npos);
  CHECK(what.find("matching.unmatched = \"maybe\"") != std::string::npos);
  CHECK(what.find("must be one of send, drop") != std::string::npos);
  CHECK(what.find("dispatch.max_atempts (did you mean dispatch.max_attempts?)") != std::string::npos);
}

TEST_CASE("An unknown key is named with its line and where it belongs", "[config]") {
  Fixture f;
  auto problems = f.problems(kDatabase + "[server]\nlevel = info\n");
  CHECK(oneContainsAll(problems, {"line 4", "unknown key server.level", "belongs in [log]"}));
}

TEST_CASE("An unknown section is named with a suggestion", "[config]") {
  Fixture f;
  auto problems = f.problems(kDatabase + "[dispach]\nworkers = 2\n");
  REQUIRE(problems.size() == 1);
  CHECK(oneContainsAll(problems, {"unknown section [dispach]", "did you mean [dispatch]?"}));
}

TEST_CASE("A bad integer names the key, the value and the allowed range", "[config]") {
  Fixture f;
  auto problems = f.problems(kDatabase + "[matching]\nwait_seconds = 600 ; ten minutes\n");
  CHECK(oneContainsAll(problems, {"matching.wait_seconds = \"600 ; ten minutes\"", "not a whole number", "allowed 0..604800",
                                  "comments must be on a line of their own"}));
}

TEST_CASE("A bad boolean names the key and the accepted spellings", "[config]") {
  Fixture f;
  CHECK(oneContainsAll(f.problems(kDatabase + "auto_migrate = sometimes\n"),
                       {"database.auto_migrate = \"sometimes\"", "true or false"}));
}

TEST_CASE("Value rules: api version, batch size, ratio, region, retention order, CA file", "[config]") {
  Fixture f;
  auto problems = f.problems(kDatabase + R"(
[meta]
api_version = 24.0
batch_size = 1001
ca_file = /nonexistent/ca.pem
graph_url = ftp://graph
[alerts]
error_ratio = 2
[phone]
default_region = USA
[retention]
raw_payload_days = 100
days = 30
[server]
trusted_proxies = 10.0.0.0/8
cors_origins = https://shop.example/
[stripe]
paid_event_types = Checkout.Session.Completed
)");
  CHECK(oneContainsAll(problems, {"meta.api_version", "v26.0"}));
  CHECK(oneContainsAll(problems, {"meta.batch_size", "allowed 1..1000"}));
  CHECK(oneContainsAll(problems, {"meta.ca_file", "not a file"}));
  CHECK(oneContainsAll(problems, {"meta.graph_url", "http:// or https://"}));
  CHECK(oneContainsAll(problems, {"alerts.error_ratio", "0 to 1"}));
  CHECK(oneContainsAll(problems, {"phone.default_region", "two-letter"}));
  CHECK(oneContainsAll(problems, {"retention.raw_payload_days (100) must not exceed retention.days (30)"}));
  CHECK(oneContainsAll(problems, {"server.trusted_proxies", "not an IP address"}));
  CHECK(oneContainsAll(problems, {"server.cors_origins", "trailing '/'"}));
  CHECK(oneContainsAll(problems, {"stripe.paid_event_types", "not a Stripe event type"}));
  CHECK(problems.size() == 10);
}

TEST_CASE("retention.days under 7 is refused with its reason") {
  Fixture f;
  auto problems = f.problems(kDatabase + R"(
[retention]
raw_payload_days = 1
days = 3
)");
  CHECK(oneContainsAll(problems, {"retention.days (3) must be at least 7", "count as a new order"}));
}

TEST_CASE("A CA file this user cannot read is a problem", "[config]") {
  if (::geteuid() == 0) return;  // root reads anything
  Fixture f;
  std::string ca = f.dir.write("private.pem", "x");
  ::chmod(ca.c_str(), 0);
  CHECK(oneContainsAll(f.problems(kDatabase + "[meta]\nca_file = " + ca + "\n"), {"meta.ca_file", "cannot be read"}));
}

TEST_CASE("stripe.webhook_secret takes several secrets and names a bad one by position only", "[config][secrets]") {
  Fixture f;
  CHECK(f.load(kDatabase + "[stripe]\nwebhook_secret = whsec_new , whsec_old\n").stripe.webhook_secrets.size() == 2);
  ConfigError e = f.error(kDatabase + "[stripe]\nwebhook_secret = whsec_good, sk_live_leaked\n");
  CHECK(oneContainsAll(e.problems(), {"stripe.webhook_secret", "secret 2 of 2 does not start with whsec_"}));
  CHECK(std::string(e.what()).find("sk_live_leaked") == std::string::npos);
  CHECK(std::string(e.what()).find("whsec_good") == std::string::npos);
}

TEST_CASE("Secrets never appear in problem messages", "[config][secrets]") {
  Fixture f;
  f.env = {{"CAPI_RECONCILER_ADMIN_TOKEN", "admin secret with spaces"},
           {"CAPI_RECONCILER_PIXEL_EU_ACCESS_TOKEN", "EAApixel secret"}};
  ConfigError e = f.error(R"(EAAtokenPastedAlone
whsec_pasted_as_key = 1
[database]
url = definitely-not:a-url-but-secret
[meta]
access_token = EAAmeta secret
[server]
ingest_key = ingest secret
[pixel.eu]
pixel_id = 9
[stripe]
webhook_secret = wrong_prefix_secret
)");
  std::string what = e.what();
  INFO(what);
  for (const char* secret : {"EAAtokenPastedAlone", "whsec_pasted_as_key", "definitely-not:a-url-but-secret",
                             "EAAmeta", "ingest secret", "admin secret", "EAApixel", "wrong_prefix_secret"}) {
    CHECK(what.find(secret) == std::string::npos);
  }
  CHECK(what.find("meta.access_token (") != std::string::npos);
  CHECK(what.find("pixel.eu.access_token (environment CAPI_RECONCILER_PIXEL_EU_ACCESS_TOKEN)") != std::string::npos);
}

TEST_CASE("Two pixel sections that share an environment name are a problem", "[config][pixels]") {
  Fixture f;
  auto problems = f.problems(kDatabase + "[pixel.shop-eu]\npixel_id = 1\n[pixel.shop_eu]\npixel_id = 2\n");
  CHECK(oneContainsAll(problems, {"line 5", "[pixel.shop_eu] and [pixel.shop-eu]", "CAPI_RECONCILER_PIXEL_SHOP_EU_*"}));
}

TEST_CASE("A file that cannot be read is reported once, without follow-on problems", "[config]") {
  TempDir dir;
  LoadOptions options;
  options.path = dir.path();
  try {
    capi::config::load(options);
    FAIL("a directory was accepted as a configuration file");
  } catch (const ConfigError& e) {
    REQUIRE(e.problems().size() == 1);
    CHECK(e.problems()[0] == dir.path() + ": is a directory, not a configuration file");
  }
}
