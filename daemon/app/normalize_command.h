#pragma once
// `capi-reconciler normalize FIELD [VALUE...] [--region CC] [--json] [--config FILE]`:
// shows Meta's normalization and SHA-256 of each value (SPEC §3.1, §5).
#include <iosfwd>
#include <string>
#include <vector>

namespace capi::app {

// args: what follows `normalize`. The phone region comes from --region, else from
// phone.default_region of the --config file (environment overrides apply); without either,
// national phone numbers are rejected. Exit code: 0 all values normalized, 1 any rejected,
// 2 usage error, 78 configuration error.
int runNormalize(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                 std::ostream& err);

}  // namespace capi::app
