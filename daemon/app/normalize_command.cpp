#include "app/normalize_command.h"

#include "capi/normalize/normalize_cli.h"
#include "config/loader.h"

namespace capi::app {

int runNormalize(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                 std::ostream& err) {
  return normalize::runNormalizeCli(
      args, in, out, err, [](const std::string& path) -> normalize::RegionLookup {
        try {
          const config::Config cfg =
              config::load({.path = path, .allow_missing_file = false, .require_database = false,
                            .env = config::processEnvironment()});
          return {cfg.phone_default_region, {}};
        } catch (const config::ConfigError& e) {
          return {{}, e.what()};
        }
      });
}

}  // namespace capi::app
