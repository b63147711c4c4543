#include "app/check_config_command.h"
#include "unit/config/temp_dir.h"

#include <catch2/catch.hpp>

#include <sstream>

using capi::app::runCheckConfig;
using capi::testing::TempDir;

TEST_CASE("check-config prints 'configuration OK' and the redacted configuration, and exits 0", "[config][check-config]") {
  TempDir dir;
  std::string path = dir.write("ok.conf", "[database]\nurl = postgresql://capi:db-pw-123@db/capi\n[meta]\npixel_id = 1\n");
  std::ostringstream out, err;
  int code = runCheckConfig(path, {{"CAPI_RECONCILER_META_ACCESS_TOKEN", "EAAtoken-xyz"}}, out, err);
  CHECK(code == 0);
  CHECK(err.str().empty());
  CHECK(out.str().rfind("configuration OK\n", 0) == 0);
  CHECK(out.str().find("[database]\nurl = postgresql://capi:<redacted>@db/capi\n") != std::string::npos);
  CHECK(out.str().find("access_token = <redacted>") != std::string::npos);
  CHECK(out.str().find("db-pw-123") == std::string::npos);
  CHECK(out.str().find("EAAtoken-xyz") == std::string::npos);
}

TEST_CASE("check-config says when no Stripe secret is set, as an empty variable does", "[config][check-config]") {
  TempDir dir;
  std::string path = dir.write("ok.conf", "[database]\nurl = postgresql://db/capi\n[stripe]\nwebhook_secret = whsec_abc\n");
  const std::string note = "# stripe: no webhook secret, so POST /webhooks/stripe is not served (404)";
  std::ostringstream out, err;
  CHECK(runCheckConfig(path, {}, out, err) == 0);
  CHECK(out.str().find(note) == std::string::npos);
  std::ostringstream out2, err2;
  CHECK(runCheckConfig(path, {{"CAPI_RECONCILER_STRIPE_WEBHOOK_SECRET", ""}}, out2, err2) == 0);
  CHECK(out2.str().find(note) != std::string::npos);
}

TEST_CASE("check-config accepts a wait of up to 7 days but notes one over two", "[config][check-config]") {
  TempDir dir;
  const std::string note = "# matching.wait_seconds is over two days";
  std::ostringstream out, err;
  CHECK(runCheckConfig(dir.write("two.conf", "[database]\nurl = postgresql://db/capi\n[matching]\nwait_seconds = 172800\n"),
                       {}, out, err) == 0);
  CHECK(out.str().find(note) == std::string::npos);
  std::ostringstream out2, err2;
  CHECK(runCheckConfig(dir.write("week.conf", "[database]\nurl = postgresql://db/capi\n[matching]\nwait_seconds = 604800\n"),
                       {}, out2, err2) == 0);
  CHECK(out2.str().find(note) != std::string::npos);
}

TEST_CASE("check-config lists every problem on stderr and exits 78", "[config][check-config]") {
  TempDir dir;
  std::string path = dir.write("bad.conf", "[database]\nurl = postgresql://db/capi\n[server]\nthreads = -1\n[meta]\naccess_token = EAAbad token\n");
  std::ostringstream out, err;
  CHECK(runCheckConfig(path, {}, out, err) == 78);
  CHECK(out.str().empty());
  CHECK(err.str().find("configuration has 2 problem(s):") != std::string::npos);
  CHECK(err.str().find("server.threads") != std::string::npos);
  CHECK(err.str().find("EAAbad") == std::string::npos);
}

TEST_CASE("check-config on a missing file exits 78 and names the file", "[config][check-config]") {
  TempDir dir;
  std::ostringstream out, err;
  CHECK(runCheckConfig(dir / "nope.conf", {}, out, err) == 78);
  CHECK(err.str().find(dir / "nope.conf") != std::string::npos);
  CHECK(err.str().find("not found") != std::string::npos);
  CHECK(err.str().find("configuration has 1 problem(s):") != std::string::npos);
}

TEST_CASE("check-config refuses a production instance with a test event code", "[config][check-config]") {
  TempDir dir;
  std::string path = dir.write("prod.conf", "[database]\nurl = postgresql://db/capi\n");
  std::ostringstream out, err;
  CHECK(runCheckConfig(path, {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TEST42"}}, out, err) == 78);
  CHECK(err.str().find("environment = production") != std::string::npos);
}
