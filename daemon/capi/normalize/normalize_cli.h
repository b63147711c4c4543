#pragma once
// The `normalize` subcommand, minus where its configuration comes from: argument parsing,
// reading values, printing. daemon/app/normalize_command.cpp supplies the configuration lookup,
// so this stays testable without a config file.
//
//   normalize FIELD [VALUE...] [--region CC] [--json] [--config FILE]
//
// Values come from the arguments or, when there are none, from `in`, one per line. Each value
// yields one line: plain "FIELD  INPUT -> NORMALIZED  SHA256" on `out` (rejections as
// "FIELD  INPUT -> error: WHY" on `err`), or with --json one object per line on `out`:
// {"field","input","normalized","sha256"} or {"field","input","error"}.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace capi::normalize {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 78;  // EX_CONFIG

// The default phone region a configuration file sets, or why the file is unusable.
struct RegionLookup {
  std::string region;  // ISO 3166 alpha-2; empty when the file sets none
  std::string error;   // non-empty: the configuration is invalid
};
// Called only when --config is given and --region is not.
using RegionFromConfig = std::function<RegionLookup(const std::string& config_path)>;

// args: what follows `normalize` on the command line. Returns the exit code: 0 every value
// normalized, 1 some value rejected (the others are still printed), 2 usage error,
// 78 configuration error.
int runNormalizeCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                    std::ostream& err, const RegionFromConfig& region_from_config);

std::string normalizeUsage();

}  // namespace capi::normalize
