#pragma once
// `capi-reconciler check-config`: the same validation `serve` runs at startup, without starting
// anything: a list of every problem and exit 78. systemd runs it before a reload (ExecReload=),
// so a broken file makes `systemctl reload` fail instead of the daemon keeping its old settings.
#include "config/loader.h"

#include <ostream>
#include <string>

namespace capi::app {

// Loads `path` with `env` (CAPI_RECONCILER_*, DATABASE_URL, CREDENTIALS_DIRECTORY).
// Valid: prints "configuration OK" and the effective configuration with secrets redacted to
// `out`, returns 0. Invalid or missing file: prints every problem to `err`, returns 78
// (EX_CONFIG). Secret values are never printed on either stream.
int runCheckConfig(const std::string& path, const capi::config::Environment& env, std::ostream& out,
                   std::ostream& err);

}  // namespace capi::app
