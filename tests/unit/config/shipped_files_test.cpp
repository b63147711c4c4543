// The configuration files in config/ are part of the interface: the example documents every
// key with its real default, and the development file starts the daemon in dry-run.
#include "config/loader.h"
#include "unit/config/temp_dir.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <set>
#include <optional>
#include <sstream>

using capi::config::Config;
using capi::config::LoadOptions;
using capi::testing::TempDir;

namespace {

std::filesystem::path sourceConfigDir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "config";
}

std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "[name]" -> "name"
std::optional<std::string> sectionHeader(const std::string& line) {
  if (line.size() < 3 || line.front() != '[' || line.back() != ']') return std::nullopt;
  return line.substr(1, line.size() - 2);
}

// "<prefix>key = value" with key made of [a-z_] -> "key"
std::optional<std::string> keyName(const std::string& line, const std::string& prefix) {
  if (line.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  size_t end = line.find(" =", prefix.size());
  if (end == std::string::npos || end == prefix.size()) return std::nullopt;
  std::string key = line.substr(prefix.size(), end - prefix.size());
  bool plain = std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
  return plain ? std::optional<std::string>(key) : std::nullopt;
}

const capi::config::Environment kDatabaseEnv = {{"DATABASE_URL", "postgresql://capi@localhost/capi"}};

Config loadPath(const std::string& path, capi::config::Environment env = kDatabaseEnv) {
  LoadOptions options;
  options.path = path;
  options.env = std::move(env);
  return capi::config::load(options);
}

}  // namespace

TEST_CASE("The example configuration loads as it is shipped", "[config][files]") {
  Config c = loadPath((sourceConfigDir() / "capi-reconciler.conf.example").string());
  CHECK(c.dryRun());
}

// "# key = value" lines are the documented defaults; uncommenting all of them must give exactly
// the built-in defaults, and every key the loader knows must be among them.
TEST_CASE("The example documents every key with its real default", "[config][files]") {
  std::string example = readText(sourceConfigDir() / "capi-reconciler.conf.example");
  std::string defaults = capi::config::renderRedacted(loadPath(TempDir().write("empty.conf", "")));
  std::string uncommented;
  std::set<std::string> documented;  // "section.key"
  std::string section;
  std::istringstream in(example);
  for (std::string line; std::getline(in, line);) {
    if (auto name = sectionHeader(line)) section = *name;
    if (auto key = keyName(line, "# ")) {
      documented.insert(section.empty() ? *key : section + "." + *key);
      uncommented += line.substr(2) + "\n";
    } else {
      uncommented += line + "\n";
    }
  }

  TempDir dir;
  std::string rendered_example = capi::config::renderRedacted(loadPath(dir.write("uncommented.conf", uncommented)));
  CHECK(rendered_example == defaults);

  // renderRedacted writes every key the loader knows.
  section.clear();
  std::istringstream rendered(defaults);
  for (std::string line; std::getline(rendered, line);) {
    if (auto name = sectionHeader(line)) section = *name;
    auto key = keyName(line, "");
    if (!key) continue;
    std::string full = section.empty() ? *key : section + "." + *key;
    INFO(full);
    CHECK(documented.count(full) == 1);
  }
}

TEST_CASE("The development configuration runs in dry-run on loopback with migrations applied at start", "[config][files]") {
  TempDir migrations;
  Config c = loadPath((sourceConfigDir() / "dev.conf").string(),
                      {{"DATABASE_URL", "postgresql://localhost/capi"},
                       {"CAPI_RECONCILER_DATABASE_MIGRATIONS_DIR", migrations.path()}});
  CHECK(c.dryRun());
  CHECK(c.environment == "staging");   // Stripe's test-mode events (stripe listen) are taken as payments
  CHECK(c.server.host == "127.0.0.1");
  CHECK(c.server.port == 8080);
  CHECK(c.database.url == "postgresql://localhost/capi");
  CHECK(c.database.auto_migrate);
  CHECK(c.database.migrations_dir == migrations.path());
  CHECK(c.stripe.webhook_secrets == std::vector<std::string>{"whsec_dev_only_not_secret"});
  CHECK(c.log_level == "info");
}
