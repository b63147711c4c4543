#pragma once
// JSON string literals for the few places that write JSON by hand (error bodies, CLI --json
// output, the Graph request envelope). JSON text is UTF-8 (RFC 8259): bytes that start no
// well-formed UTF-8 sequence become U+FFFD, so whatever a request or a user piped in, the
// document stays parseable.
#include <cstddef>
#include <string>
#include <string_view>

namespace capi {

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing above
// U+10FFFF) that starts at s[i], or 0 when none does (also for ASCII: callers test that first).
std::size_t utf8SequenceLength(std::string_view s, std::size_t i);

// Appends s as a JSON string literal, quotes included.
void appendJsonString(std::string& out, std::string_view s);
// s as a JSON string literal, quotes included.
std::string jsonQuote(std::string_view s);

}  // namespace capi
