#pragma once
// String helpers shared by the configuration loader's parts. ASCII only: keys, section names
// and the enumerated values they are compared with are ASCII by definition.
#include <string>
#include <string_view>
#include <vector>

namespace capi::config::text {

std::string trim(std::string_view s);
std::string lower(std::string_view s);
std::string upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool startsWith(std::string_view s, std::string_view prefix);
bool endsWith(std::string_view s, std::string_view suffix);

// Splits on commas, trims each item and drops empty ones ("a, b," -> {"a", "b"}).
std::vector<std::string> splitList(std::string_view s);

// True when s may be quoted in an error message as the name of a key or section: a short
// identifier that does not look like a pasted secret (Stripe "whsec_...", Meta "EAA...").
// A token pasted on a line of its own must not reach the journal through an "unknown key" error.
bool printableName(std::string_view s);

// Edit distance, for "did you mean ...?" hints.
size_t editDistance(std::string_view a, std::string_view b);

}  // namespace capi::config::text
