#pragma once
// Logging: spdlog to stdout, one line per event, no colours, systemd priority prefixes
// ("<3>") when running under journald so `journalctl -p err` works.
#include <spdlog/spdlog.h>

#include <string>

namespace capi {

// Configure the default logger. level: trace|debug|info|warn|error. Throws std::invalid_argument
// on an unknown level. Idempotent.
void setupLogging(const std::string& level);

}  // namespace capi
