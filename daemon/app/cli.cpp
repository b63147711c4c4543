#include "app/cli.h"

#include "app/check_config_command.h"
#include "app/audit_command.h"
#include "app/daemon.h"
#include "app/events_command.h"
#include "app/normalize_command.h"
#include "app/retries_command.h"
#include "build_info.h"
#include "config/loader.h"

#include <csignal>
#include <iostream>
#include <pthread.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace capi::app {
namespace {

constexpr const char* kUsage =
    "capi-reconciler: deduplicable Meta Conversions API purchases from payment webhooks\n"
    "\n"
    "usage: capi-reconciler COMMAND [options]\n"
    "\n"
    "  serve [--config FILE]                  run the daemon (what systemd starts)\n"
    "  migrate [--config FILE]                apply pending SQL migrations\n"
    "  check-config [--config FILE]           validate; print the effective config, secrets redacted\n"
    "  normalize FIELD [VALUE...] [--region CC] [--json] [--config FILE]\n"
    "                                         Meta normalization and SHA-256 of each value\n"
    "                                         (stdin, one per line, when no VALUE)\n"
    "  retries list [--status S] [--limit N] [--json]\n"
    "  retries show ID [--json]\n"
    "  retries retry ID|--all-dead            inspect and requeue the retry table\n"
    "  events show EVENT_ID|ORDER_REF [--json] [--no-color]\n"
    "                                         browser event and server payload side by side\n"
    "  audit [--since DURATION] [--json]      deduplication health report; exit 1 on WARN\n"
    "  --version, --help\n"
    "\n"
    "--config defaults to " CAPI_DEFAULT_CONFIG_PATH ".\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 78 configuration error.\n";

// Extracts "--config FILE" (or --config=FILE) from args; false on a dangling --config.
bool takeConfig(std::vector<std::string>& args, std::string& path) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) return false;
      path = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return true;
    }
    if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
      args.erase(args.begin() + static_cast<long>(i));
      return true;
    }
  }
  return true;
}

// The daemon waits for these with sigwait; blocking them before any thread exists keeps every
// thread (Poco's, spdlog's, ours) from being killed by them.
void blockDaemonSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

int runCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version") {
    std::cout << "capi-reconciler " << CAPI_VERSION << "\n";
    return kExitOk;
  }
  if (command == "normalize") return runNormalize(args, std::cin, std::cout, std::cerr);

  std::string config_path = CAPI_DEFAULT_CONFIG_PATH;
  if (!takeConfig(args, config_path)) {
    std::cerr << "--config needs a file name\n";
    return kExitUsage;
  }
  auto noExtraArgs = [&]() {
    if (args.empty()) return true;
    std::cerr << "unexpected argument '" << args.front() << "'\n" << kUsage;
    return false;
  };
  try {
    if (command == "serve") {
      if (!noExtraArgs()) return kExitUsage;
      blockDaemonSignals();
      return runServe(config_path);
    }
    if (command == "migrate") {
      if (!noExtraArgs()) return kExitUsage;
      return runMigrate(config_path);
    }
    if (command == "check-config") {
      if (!noExtraArgs()) return kExitUsage;
      return runCheckConfig(config_path, config::processEnvironment(), std::cout, std::cerr);
    }
    if (command == "retries" || command == "events") {
      config::Config cfg;
      try {
        cfg = config::load({config_path, false, true, config::processEnvironment()});
      } catch (const config::ConfigError& e) {
        std::cerr << e.what() << "\n";
        return kExitConfig;
      }
      if (command == "retries") return runRetries(args, cfg.database.url, std::cout, std::cerr);
      return runEvents(args, cfg.database.url, ::isatty(STDOUT_FILENO) == 1, std::cout, std::cerr);
    }
    if (command == "audit") return runAudit(args, config_path, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "capi-reconciler " << command << ": " << e.what() << "\n";
    return kExitFailure;
  }
  std::cerr << "unknown command '" << command << "'\n\n" << kUsage;
  return kExitUsage;
}

}  // namespace capi::app
