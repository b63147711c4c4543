#pragma once
// Reads the INI file, applies CAPI_RECONCILER_<SECTION>_<KEY> environment overrides, DATABASE_URL,
// and secrets from $CREDENTIALS_DIRECTORY, then validates every key. All problems are collected
// so an operator fixes them in one pass.
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
  Environment env;                  // CAPI_RECONCILER_*, DATABASE_URL, CREDENTIALS_DIRECTORY
};

// Throws ConfigError.
Config load(const LoadOptions& options);

// The effective configuration as INI text with every secret replaced by "<redacted>"
// (access tokens, webhook secrets, ingest/admin tokens, database password).
std::string renderRedacted(const Config& config);

}  // namespace capi::config
