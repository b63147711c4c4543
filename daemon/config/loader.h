#pragma once
// Reads the INI file, applies CAPI_RECONCILER_<SECTION>_<KEY> environment overrides, DATABASE_URL,
// and secrets from $CREDENTIALS_DIRECTORY, then validates every key. All problems are collected
// so an operator fixes them in one pass.
//
// Where a value comes from, highest precedence first:
//   1. CAPI_RECONCILER_<SECTION>_<KEY>, and CAPI_RECONCILER_PIXEL_<NAME>_PIXEL_ID / _ACCESS_TOKEN
//      (NAME upper case, '-' as '_'); a variable that is present wins even when empty
//   2. a file in $CREDENTIALS_DIRECTORY named after the key (secrets only: meta.access_token,
//      pixel.NAME.access_token, stripe.webhook_secret, server.ingest_key, admin.token, database.url)
//   3. the INI file
//   4. DATABASE_URL, for database.url only, when the above leave it empty
// meta.test_event_code comes only from CAPI_RECONCILER_META_TEST_EVENT_CODE, and only with
// environment = staging. Unknown sections, keys, CAPI_RECONCILER_ variables and credential files
// are problems: a misspelt name would otherwise be ignored without a word.
#include "config/config.h"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace capi::config {

// Thrown by load(): what() lists every problem, one per line. The caller exits 78 (EX_CONFIG).
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// The process environment as a map, so tests can pass their own.
using Environment = std::map<std::string, std::string>;
Environment processEnvironment();

struct LoadOptions {
  std::string path;                 // INI file; must exist unless allow_missing_file
  bool allow_missing_file = false;  // normalize: config is optional
  bool require_database = true;     // normalize: needs no database, so database.url may be absent
  Environment env;                  // CAPI_RECONCILER_*, DATABASE_URL, CREDENTIALS_DIRECTORY
};

// Throws ConfigError.
Config load(const LoadOptions& options);

// The effective configuration as INI text with every secret replaced by "<redacted>"
// (access tokens, webhook secrets, ingest/admin tokens, database password).
std::string renderRedacted(const Config& config);

}  // namespace capi::config
