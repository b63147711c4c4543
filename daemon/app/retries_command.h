#pragma once
// `retries list|show|retry`: the retry table for operators (SPEC §3.1, §3.4).
#include <iosfwd>
#include <string>
#include <vector>

namespace capi::app {

// args: what follows `retries` (config already resolved to database_url).
int runRetries(const std::vector<std::string>& args, const std::string& database_url, std::ostream& out,
               std::ostream& err);

}  // namespace capi::app
