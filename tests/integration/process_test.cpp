// The real capi-reconciler binary as an operator and systemd see it: exit codes, what it prints,
// what it logs, how it behaves when PostgreSQL goes away and when it is told to stop.
#include "store/migrator.h"
#include "support/fake_graph_server.h"
#include "support/process.h"
#include "support/serve_process.h"
#include "support/test_daemon.h"
#include "support/test_env.h"
#include "webhooks/stripe/stripe_signature.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace capi::testing;
using namespace std::chrono_literals;

namespace {

// Secret values planted in configurations; none may ever be printed or logged.
const std::string kAccessToken = "EAAsecretTOKENx7Qm2Zp9Lw4Rt6Yv8Ub3Nc5";
const std::string kWebhookSecret = "whsec_secretvalueK3j8Hq2Wm7Xp4Zr9";
const std::string kIngestKey = "ingest-secret-Vb6Nm1Qw8Er3Ty5";
const std::string kAdminToken = "admin-secret-Pl0Ok9Ij8Uh7Yg6";
const std::string kDatabasePassword = "pgsecretPw4Rf7Tg";
const std::vector<std::string> kSecrets = {kAccessToken, kWebhookSecret, kIngestKey, kAdminToken,
                                           kDatabasePassword};

const std::string kPixel = "1234567890";

// Names the first planted secret found in `text`, or "" when there is none.
std::string leakedSecret(const std::string& text) {
  for (const auto& s : kSecrets)
    if (text.find(s) != std::string::npos) return s;
  return "";
}

// postgresql://user@host:port/db -> postgresql://user:PASSWORD@host:port/db. The test cluster
// trusts local connections, so the password is carried but never checked: it is there to prove
// the daemon does not print it.
std::string withPassword(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@', scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return url;
  return url.substr(0, at) + ":" + kDatabasePassword + url.substr(at);
}

// A configuration with every kind of secret set. `meta_extra` goes into the [meta] section.
std::string fullConfig(const std::string& database_url, uint16_t port,
                       const std::string& meta_extra = "graph_url = https://127.0.0.1:9\n") {
  return "environment = production\n"
         "\n"
         "[log]\n"
         "level = debug\n"
         "\n"
         "[server]\n"
         "listen = 127.0.0.1:" + std::to_string(port) + "\n"
         "ingest_key = " + kIngestKey + "\n"
         "\n"
         "[database]\n"
         "url = " + withPassword(database_url) + "\n"
         "migrations_dir = " + migrationsDir() + "\n"
         "pool_size = 4\n"
         "\n"
         "[meta]\n"
         "pixel_id = " + kPixel + "\n"
         "access_token = " + kAccessToken + "\n" +
         meta_extra +
         "\n"
         "[stripe]\n"
         "webhook_secret = " + kWebhookSecret + "\n"
         "\n"
         "[dispatch]\n"
         "poll_interval_ms = 100\n"
         "\n"
         "[admin]\n"
         "token = " + kAdminToken + "\n";
}

std::string migrateConfig(const std::string& database_url) {
  return "[database]\nurl = " + database_url + "\nmigrations_dir = " + migrationsDir() + "\n";
}

ProcessResult runCli(const std::vector<std::string>& args, const EnvironmentOverrides& env = {}) {
  return runProcess(daemonBinary(), args, env, 60s);
}

std::string browserEvent(const std::string& event_id, const std::string& order_ref, int64_t event_time) {
  BrowserEvent e;
  e.event_id = event_id;
  e.order_ref = order_ref;
  e.event_time = event_time;
  return browserEventJson(e);
}

}  // namespace

// ---- exit codes (SPEC §3.1) -------------------------------------------------------------------

TEST_CASE("the binary exits 2 on an unknown command and 0 on --version", "[process]") {
  const auto unknown = runCli({"frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown command 'frobnicate'") != std::string::npos);

  const auto version = runCli({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("capi-reconciler ", 0) == 0);

  const auto no_command = runCli({});
  CHECK(no_command.exit_code == 2);
}

TEST_CASE("serve exits 78 when its configuration file does not exist", "[process]") {
  TempDir dir;
  const std::string missing = dir.path() + "/no-such.conf";
  const auto r = runCli({"serve", "--config", missing});
  CHECK(r.exit_code == 78);
  CHECK(r.err.find(missing) != std::string::npos);
}

TEST_CASE("serve refuses to start with a test event code in production and exits 78", "[process]") {
  TempDir dir;
  const auto path = dir.write("c.conf", fullConfig("postgresql://postgres@127.0.0.1:1/capi", reserveLoopbackPort()));
  const auto r = runCli({"serve", "--config", path}, {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST12345"}});
  CHECK(r.exit_code == 78);
  CHECK(r.output().find("CAPI_RECONCILER_META_TEST_EVENT_CODE") != std::string::npos);
  CHECK(leakedSecret(r.output()).empty());
}

// ---- check-config (SPEC §3.1, §3.2, §7) -----------------------------------------------------------

TEST_CASE("check-config names every mistake in a file, exits 78 and prints no secret", "[process]") {
  TempDir dir;
  const auto path = dir.write("bad.conf",
                              "[server]\n"
                              "listen = 127.0.0.1:http\n"
                              "ingest_key = " + kIngestKey + "\n"
                              "\n"
                              "[database]\n"
                              "url = postgresql://capi:" + kDatabasePassword + "@127.0.0.1:5432/capi\n"
                              "\n"
                              "[meta]\n"
                              "pixel_id = " + kPixel + "\n"
                              "access_token = " + kAccessToken + "\n"
                              "batch_size = 5000\n"
                              "pixel_colour = blue\n"
                              "\n"
                              "[stripe]\n"
                              "webhook_secret = " + kWebhookSecret + "\n"
                              "\n"
                              "[admin]\n"
                              "token = " + kAdminToken + "\n");
  const auto r = runCli({"check-config", "--config", path});
  INFO(r.output());
  CHECK(r.exit_code == 78);
  CHECK(r.err.find("server.listen") != std::string::npos);
  CHECK(r.err.find("meta.pixel_colour") != std::string::npos);
  CHECK(r.err.find("meta.batch_size") != std::string::npos);
  CHECK(leakedSecret(r.output()).empty());
}

TEST_CASE("check-config reports a malformed secret by name without echoing its value", "[process]") {
  TempDir dir;
  const std::string not_a_webhook_secret = "sk_live_secretPASTEDbyMistake9x";
  const auto path = dir.write("bad.conf",
                              "[database]\nurl = postgresql://capi@127.0.0.1:5432/capi\n"
                              "[stripe]\nwebhook_secret = " + kWebhookSecret + "," + not_a_webhook_secret + "\n");
  const auto r = runCli({"check-config", "--config", path});
  INFO(r.output());
  CHECK(r.exit_code == 78);
  CHECK(r.err.find("stripe.webhook_secret") != std::string::npos);
  CHECK(r.output().find(not_a_webhook_secret) == std::string::npos);
  CHECK(leakedSecret(r.output()).empty());
}

TEST_CASE("check-config accepts a valid file, exits 0 and shows its secrets only as <redacted>", "[process]") {
  TempDir dir;
  const auto path = dir.write("good.conf", fullConfig("postgresql://postgres@127.0.0.1:5432/capi", 8080));
  const auto r = runCli({"check-config", "--config", path});
  INFO(r.output());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("<redacted>") != std::string::npos);
  CHECK(r.out.find("pixel_id = " + kPixel) != std::string::npos);
  CHECK(leakedSecret(r.output()).empty());
}

TEST_CASE("check-config refuses meta.test_event_code in a configuration file with exit 78", "[process]") {
  TempDir dir;
  const auto path = dir.write("test-code.conf",
                              "[database]\nurl = postgresql://capi@127.0.0.1:5432/capi\n"
                              "[meta]\npixel_id = " + kPixel + "\ntest_event_code = TEST12345\n");
  const auto r = runCli({"check-config", "--config", path});
  INFO(r.output());
  CHECK(r.exit_code == 78);
  CHECK(r.err.find("meta.test_event_code") != std::string::npos);
}

// ---- serve: nothing secret in the log (SPEC §7) -----------------------------------------------------

TEST_CASE("serve logs no secret while it takes events and webhooks, is refused by Meta and shuts down", "[process]") {
  TestDatabase db;
  FakeGraphServer graph;
  // Meta's answer to a bad token quotes the token back; the daemon must not pass it on.
  graph.setResponder([](const RecordedRequest&) {
    return std::make_pair(400, FakeGraphServer::errorBody(190, 0, "Malformed access token " + kAccessToken));
  });
  ServeProcess serve([&](uint16_t port) {
    return fullConfig(db.url(), port, "graph_url = " + graph.baseUrl() + "\nca_file = " + graph.caFile() + "\n");
  }, kIngestKey);
  serve.waitUntilReady();

  const int64_t now = unixNow();
  const std::string event = browserEvent("browser-evt-1", "ORDER-1", now - 5);
  CHECK(httpRequest(serve.port, "POST", "/v1/events", event, {{"Content-Type", "application/json"},
                                                             {"X-Ingest-Key", "wrong-key"}}).status == 401);
  REQUIRE(serve.post("/v1/events", event).status == 202);

  StripeCheckout checkout;
  checkout.created = now;
  const std::string webhook = stripeCheckoutEvent(checkout);
  using capi::webhooks::stripe::StripeSignatureVerifier;
  CHECK(serve.post("/webhooks/stripe", webhook,
                   {{"Stripe-Signature", StripeSignatureVerifier::sign("whsec_notTheConfiguredOne", now, webhook)}})
            .status == 400);
  REQUIRE(serve.post("/webhooks/stripe", webhook,
                     {{"Stripe-Signature", StripeSignatureVerifier::sign(kWebhookSecret, now, webhook)}})
              .status == 200);

  // The Purchase goes out with the token, Meta refuses it, the daemon pauses the pixel and says so.
  REQUIRE(graph.waitForRequests(1, 20s));
  CHECK(graph.requests().front().body.find(kAccessToken) != std::string::npos);
  CHECK(pollUntil(20s, [&] { return serve.child->output().find("pixel " + kPixel + " paused") != std::string::npos; }));

  // What the daemon stored about the failure is as clean as its log.
  CHECK(pollUntil(20s, [&] { return db.scalar("SELECT count(*) FROM send_attempts") != "0"; }));
  CHECK(leakedSecret(db.scalar("SELECT string_agg(a::text, ' ') FROM send_attempts a")).empty());
  CHECK(leakedSecret(db.scalar("SELECT string_agg(o::text, ' ') FROM outbound_events o")).empty());

  serve.child->signal(SIGTERM);
  CHECK(serve.child->wait(30s) == std::optional<int>(0));
  const std::string log = serve.child->output();
  INFO(log);
  CHECK(log.find("shutting down") != std::string::npos);
  CHECK(leakedSecret(log).empty());
}

TEST_CASE("a reload (SIGHUP) that changes meta.api_version says the change waits for a restart", "[process]") {
  TestDatabase db;
  ServeProcess serve([&](uint16_t port) { return fullConfig(db.url(), port); }, kIngestKey);
  serve.waitUntilReady();
  serve.dir.write("capi-reconciler.conf",
                  fullConfig(db.url(), serve.port, "graph_url = https://127.0.0.1:9\napi_version = v99.0\n"));
  serve.child->signal(SIGHUP);
  REQUIRE(pollUntil(20s, [&] { return serve.child->output().find("configuration reloaded") != std::string::npos; }));
  const std::string log = serve.child->output();
  INFO(log);
  CHECK(log.find("reload: meta.api_version") != std::string::npos);
  CHECK(serve.child->running());
  serve.child->signal(SIGTERM);
  CHECK(serve.child->wait(30s) == std::optional<int>(0));
}

// ---- migrate (SPEC §3.1, §3.4) --------------------------------------------------------------------

TEST_CASE("migrate run a second time changes nothing and says the schema is up to date", "[process]") {
  TestDatabase db(false);
  TempDir dir;
  const auto path = dir.write("migrate.conf", migrateConfig(db.url()));
  const auto files = capi::store::listMigrations(migrationsDir());
  REQUIRE_FALSE(files.empty());

  const auto first = runCli({"migrate", "--config", path});
  INFO(first.output());
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("applied " + files.back().name) != std::string::npos);
  const std::string recorded_sql =
      "SELECT string_agg(version || ' ' || name || ' ' || checksum || ' ' || applied_at, E'\\n' ORDER BY version) "
      "FROM schema_migrations";
  const std::string recorded = db.scalar(recorded_sql);
  CHECK(db.scalar("SELECT count(*) FROM schema_migrations") == std::to_string(files.size()));

  const auto second = runCli({"migrate", "--config", path});
  INFO(second.output());
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("up to date") != std::string::npos);
  CHECK(second.out.find("applied ") == std::string::npos);
  CHECK(db.scalar(recorded_sql) == recorded);
}

TEST_CASE("two migrate processes started together on an empty database both succeed and build the schema once",
          "[process]") {
  TestDatabase db(false);
  TempDir dir;
  const auto path = dir.write("migrate.conf", migrateConfig(db.url()));
  const auto files = capi::store::listMigrations(migrationsDir());

  ChildProcess a(daemonBinary(), {"migrate", "--config", path});
  ChildProcess b(daemonBinary(), {"migrate", "--config", path});
  const auto a_status = a.wait(60s);
  const auto b_status = b.wait(60s);
  INFO("first:\n" << a.output() << "\nsecond:\n" << b.output());
  CHECK(a_status == std::optional<int>(0));
  CHECK(b_status == std::optional<int>(0));

  CHECK(db.scalar("SELECT count(*) FROM schema_migrations") == std::to_string(files.size()));
  CHECK(db.scalar("SELECT count(DISTINCT version) FROM schema_migrations") == std::to_string(files.size()));
  CHECK(db.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'outbound_events'") == "1");
  // The advisory lock serializes them: one applies everything, the other finds nothing to do.
  const bool a_applied = a.stdoutText().find("applied ") != std::string::npos;
  const bool b_applied = b.stdoutText().find("applied ") != std::string::npos;
  CHECK(a_applied != b_applied);
  CHECK((a_applied ? b : a).stdoutText().find("up to date") != std::string::npos);
}

TEST_CASE("a migration blocked by another transaction gives way, tries again, and applies once the table is free",
          "[process]") {
  TestDatabase db(false);
  TempDir first, both;
  const std::string create = "CREATE TABLE shop_orders (id bigint);";
  const std::string alter = "ALTER TABLE shop_orders ADD COLUMN note text;";
  first.write("0001_orders.sql", create);
  both.write("0001_orders.sql", create);
  both.write("0002_orders_note.sql", alter);
  capi::store::Migrator(db.url(), first.path()).migrate();

  // An operator's session left open in a transaction that read the table.
  auto blocker = std::make_unique<pqxx::connection>(db.url());
  auto reading = std::make_unique<pqxx::work>(*blocker);
  reading->exec("SELECT count(*) FROM shop_orders");

  // While it stays open: every wait gives way, nothing is applied, and the error says what to do.
  try {
    capi::store::Migrator(db.url(), both.path(), {100ms, 3, 10ms}).migrate();
    FAIL("the migration went through a table another transaction holds");
  } catch (const std::runtime_error& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("0002_orders_note.sql could not take the locks it needs: 3 waits") !=
          std::string::npos);
    CHECK(std::string(e.what()).find("pg_stat_activity") != std::string::npos);
  }
  CHECK(db.scalar("SELECT count(*) FROM schema_migrations WHERE version = 2") == "0");
  CHECK(db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'shop_orders'") == "1");

  // The session ends while the migration is trying again: it then applies.
  std::thread release([&] {
    std::this_thread::sleep_for(300ms);
    reading->abort();
    reading.reset();
    blocker.reset();
  });
  std::vector<std::string> applied;
  try {
    applied = capi::store::Migrator(db.url(), both.path(), {100ms, 100, 10ms}).migrate();
  } catch (const std::exception& e) {
    FAIL_CHECK("migrate: " << e.what());
  }
  release.join();
  CHECK(applied == std::vector<std::string>{"0002_orders_note.sql"});
  CHECK(db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'shop_orders'") == "2");
}

// ---- PostgreSQL outage (SPEC §3.3, §7) --------------------------------------------------------------

TEST_CASE("readyz answers 503 while PostgreSQL is stopped and 200 again once it is back, without a daemon restart",
          "[process]") {
  const std::string control = postgresControl();
  if (control.empty()) {
    WARN("CAPI_TEST_PG_CONTROL is not set (scripts/test sets it to scripts/pg): the PostgreSQL outage test is skipped");
    SUCCEED();
    return;
  }
  // Declared first, so dropped last: after the outage guard has started PostgreSQL again.
  TestDatabase db;
  ServeProcess serve([&](uint16_t port) { return fullConfig(db.url(), port); }, kIngestKey);
  serve.waitUntilReady();
  const pid_t pid = serve.child->pid();

  const int64_t now = unixNow();
  StripeCheckout checkout;
  checkout.created = now;
  const std::string webhook = stripeCheckoutEvent(checkout);
  const std::map<std::string, std::string> signature = {
      {"Stripe-Signature", capi::webhooks::stripe::StripeSignatureVerifier::sign(kWebhookSecret, now, webhook)}};
  {
    PostgresOutage outage(control);
    CHECK(pollUntil(15s, [&] { return statusOf(serve.port, "/readyz") == 503; }));
    CHECK(statusOf(serve.port, "/healthz") == 200);
    // Stripe is told to retry; nothing was acknowledged that is not stored.
    CHECK(serve.post("/webhooks/stripe", webhook, signature).status == 503);
    REQUIRE(outage.restart() == 0);
  }
  CHECK(pollUntil(30s, [&] { return statusOf(serve.port, "/readyz") == 200; }));
  REQUIRE(serve.child->running());
  CHECK(serve.child->pid() == pid);
  CHECK(::kill(pid, 0) == 0);
  // The retried delivery is accepted by the same process.
  CHECK(serve.post("/webhooks/stripe", webhook, signature).status == 200);
  CHECK(db.scalar("SELECT count(*) FROM webhook_deliveries") == "1");

  serve.child->signal(SIGTERM);
  const auto status = serve.child->wait(30s);
  INFO(serve.child->output());
  CHECK(status == std::optional<int>(0));
  CHECK(leakedSecret(serve.child->output()).empty());
}

// ---- graceful shutdown (SPEC §3.1: what systemd starts and stops) -----------------------------------

TEST_CASE("SIGTERM lets the requests in flight finish with a full response, then serve exits 0", "[process]") {
  TestDatabase db;
  ServeProcess serve([&](uint16_t port) { return fullConfig(db.url(), port); }, kIngestKey);
  serve.waitUntilReady();

  // Each request sends its headers and half its body, then waits: the server is reading it.
  struct InFlight {
    std::unique_ptr<RawConnection> connection;
    std::string rest;
    int expected_status;
  };
  std::vector<InFlight> requests;
  const int64_t now = unixNow();
  const std::vector<std::pair<std::string, int>> bodies = {
      {browserEvent("inflight-1", "ORDER-IF-1", now - 5), 202},
      {browserEvent("inflight-2", "ORDER-IF-2", now - 5), 202},
      {browserEvent("inflight-3", "ORDER-IF-3", now - 5), 202},
      {R"({"event_name":"Purchase","event_id":"inflight-4","event_time":"not a number"})", 400},
  };
  for (const auto& [body, expected] : bodies) {
    auto connection = std::make_unique<RawConnection>(serve.port);
    const size_t half = body.size() / 2;
    connection->send("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "X-Ingest-Key: " + kIngestKey + "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n" + body.substr(0, half));
    requests.push_back({std::move(connection), body.substr(half), expected});
  }
  // The server takes connections in the order it accepted them: once a later one is answered,
  // every connection above is held by a worker that is reading its body.
  REQUIRE(statusOf(serve.port, "/healthz") == 200);

  serve.child->signal(SIGTERM);
  REQUIRE(pollUntil(10s, [&] { return serve.child->output().find("shutting down") != std::string::npos; }));
  CHECK(serve.child->running());

  for (auto& r : requests) r.connection->send(r.rest);
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::string response = requests[i].connection->readUntilClosed(30s);
    INFO("request " << i << " got:\n" << response);
    CHECK(completeResponseStatus(response) == requests[i].expected_status);
  }

  const auto status = serve.child->wait(30s);
  INFO(serve.child->output());
  CHECK(status == std::optional<int>(0));
  CHECK(db.scalar("SELECT count(*) FROM client_events WHERE event_id LIKE 'inflight-%'") == "3");
}
