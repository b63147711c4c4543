#pragma once
// The capi-reconciler command line (SPEC §3.1). Exit codes: 0 ok, 2 usage, 78 configuration
// error (systemd then does not restart-loop), 1 anything else.

namespace capi::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 78;

int runCli(int argc, char** argv);

}  // namespace capi::app
