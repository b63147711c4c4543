#include "config/loader.h"
#include "config/redact.h"
#include "unit/config/temp_dir.h"

#include <catch2/catch.hpp>

using capi::config::Config;
using capi::config::LoadOptions;
using capi::config::redactDatabaseUrl;
using capi::config::renderRedacted;
using capi::testing::TempDir;

TEST_CASE("The password in a database URI is redacted and the rest kept", "[config][redact]") {
  CHECK(redactDatabaseUrl("postgresql://capi:s3cret@db.internal:5432/capi?sslmode=require") ==
        "postgresql://capi:<redacted>@db.internal:5432/capi?sslmode=require");
  CHECK(redactDatabaseUrl("postgres://capi@db/capi") == "postgres://capi@db/capi");
  CHECK(redactDatabaseUrl("postgresql://db/capi?user=capi&password=s3cret&sslpassword=k3y") ==
        "postgresql://db/capi?user=capi&password=<redacted>&sslpassword=<redacted>");
  CHECK(redactDatabaseUrl("postgresql:///capi?host=/run/postgresql") == "postgresql:///capi?host=/run/postgresql");
}

TEST_CASE("A password containing '@', '/' or '?' is hidden whole", "[config][redact]") {
  std::string redacted = redactDatabaseUrl("postgresql://capi:p@ss/w?rd@db/capi");
  CHECK(redacted == "postgresql://capi:<redacted>@db/capi");
}

TEST_CASE("The password in a keyword=value connection string is redacted, quoted or not", "[config][redact]") {
  CHECK(redactDatabaseUrl("host=db dbname=capi password=s3cret user=capi") ==
        "host=db dbname=capi password=<redacted> user=capi");
  CHECK(redactDatabaseUrl("host=db password = 'it\\'s a secret' dbname=capi").find("secret") == std::string::npos);
  CHECK(redactDatabaseUrl("host=db PASSWORD='a b' dbname=capi") == "host=db PASSWORD=<redacted> dbname=capi");
}

TEST_CASE("Values of parameters that are not known libpq settings are hidden too", "[config][redact]") {
  // A misspelt keyword may well hold the password.
  CHECK(redactDatabaseUrl("host=db pasword=s3cret dbname=capi") == "host=db pasword=<redacted> dbname=capi");
  CHECK(redactDatabaseUrl("postgresql://db/capi?sslmode=require&pasword=s3cret") ==
        "postgresql://db/capi?sslmode=require&pasword=<redacted>");
}

TEST_CASE("A connection string that cannot be taken apart is hidden entirely", "[config][redact]") {
  // Quoted (an INI value or an env file that keeps its quotes): not a URI, and not keyword=value.
  CHECK(redactDatabaseUrl("\"postgresql://capi:S3cret@db/capi?sslmode=verify-full\"") == "<redacted>");
  CHECK(redactDatabaseUrl("'postgresql://capi:S3cret@db/capi?sslmode=verify-full'") == "<redacted>");
  CHECK(redactDatabaseUrl("host=db password='unterminated") == "<redacted>");
  CHECK(redactDatabaseUrl("just-a-secret") == "<redacted>");
  CHECK(redactDatabaseUrl("").empty());
}

namespace {

Config loadFrom(const TempDir& dir, const std::string& ini, capi::config::Environment env = {}) {
  LoadOptions options;
  options.path = dir.write("render.conf", ini);
  options.env = std::move(env);
  return capi::config::load(options);
}

}  // namespace

TEST_CASE("renderRedacted shows every secret as <redacted> and never its value", "[config][redact][secrets]") {
  TempDir dir;
  Config c = loadFrom(dir, R"(environment = staging
[server]
ingest_key = ingest-SECRET-1
[database]
url = postgresql://capi:db-SECRET-2@db/capi
[meta]
pixel_id = 111
access_token = EAA-SECRET-3
[pixel.eu]
pixel_id = 222
access_token = EAA-SECRET-4
[pixel.dry]
pixel_id = 333
[stripe]
webhook_secret = whsec_SECRET5, whsec_SECRET6
[admin]
token = admin-SECRET-7
)",
                      {{"CAPI_RECONCILER_META_TEST_EVENT_CODE", "TESTSECRET8"}});
  std::string text = renderRedacted(c);
  INFO(text);
  for (const char* secret : {"SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET5", "SECRET6", "SECRET-7", "TESTSECRET8"}) {
    CHECK(text.find(secret) == std::string::npos);
  }
  CHECK(text.find("ingest_key = <redacted>\n") != std::string::npos);
  CHECK(text.find("url = postgresql://capi:<redacted>@db/capi\n") != std::string::npos);
  CHECK(text.find("[meta]\npixel_id = 111\naccess_token = <redacted>\n") != std::string::npos);
  CHECK(text.find("[pixel.eu]\npixel_id = 222\naccess_token = <redacted>\n") != std::string::npos);
  CHECK(text.find("[pixel.dry]\npixel_id = 333\naccess_token =\n") != std::string::npos);
  CHECK(text.find("webhook_secret = <redacted>, <redacted>\n") != std::string::npos);
  CHECK(text.find("token = <redacted>\n") != std::string::npos);
  CHECK(text.find("# dry-run pixels (no access token): dry\n") != std::string::npos);
  CHECK(text.find("# test event code: set") != std::string::npos);
}

TEST_CASE("renderRedacted marks a configuration without tokens as dry-run", "[config][redact]") {
  TempDir dir;
  std::string text = renderRedacted(loadFrom(dir, "[database]\nurl = postgresql://db/capi\n[meta]\npixel_id = 1\n"));
  CHECK(text.find("# dry-run: no pixel has an access token") != std::string::npos);
  CHECK(text.find("# test event code: not set") != std::string::npos);
  CHECK(text.find("access_token =\n") != std::string::npos);
}

TEST_CASE("renderRedacted output loads back into the same configuration", "[config][redact]") {
  TempDir dir;
  Config first = loadFrom(dir, R"(
[server]
listen = [::1]:8081
trusted_proxies = 10.0.0.1, 10.0.0.2
[database]
url = postgresql://capi@db/capi
auto_migrate = true
[meta]
pixel_id = 7
[pixel.b]
pixel_id = 8
[phone]
default_region = gb
[matching]
unmatched = drop
[alerts]
error_ratio = 0.125
)");
  std::string once = renderRedacted(first);
  std::string twice = renderRedacted(loadFrom(dir, once));
  CHECK(once == twice);
}
