#include "app/check_config_command.h"

namespace capi::app {

namespace {
constexpr int kExitConfig = 78;  // sysexits.h EX_CONFIG; the unit's RestartPreventExitStatus=
constexpr int kExitFailure = 1;
}  // namespace

int runCheckConfig(const std::string& path, const capi::config::Environment& env, std::ostream& out,
                   std::ostream& err) {
  capi::config::LoadOptions options;
  options.path = path;
  options.env = env;
  try {
    capi::config::Config config = capi::config::load(options);
    out << "configuration OK\n" << capi::config::renderRedacted(config);
    return 0;
  } catch (const capi::config::ConfigError& e) {
    err << e.what() << "\n";
    return kExitConfig;
  } catch (const std::exception& e) {
    // load() reports every configuration mistake as ConfigError; anything else is a fault of
    // this program or the machine, not of the file.
    err << "check-config failed: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace capi::app
