#pragma once
// What a per-field normalizer hands back to normalize(), which adds the hash.
#include <string>

namespace capi::normalize::detail {

struct FieldOutcome {
  std::string value;             // the normalized text; empty when rejected
  std::string error;             // for a person; never repeats the input (it is personal data)
  bool no_country_code = false;  // ph only

  static FieldOutcome ok(std::string v) { return {std::move(v), {}, false}; }
  static FieldOutcome fail(std::string why) { return {{}, std::move(why), false}; }
  bool failed() const { return !error.empty(); }
};

}  // namespace capi::normalize::detail
