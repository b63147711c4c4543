#pragma once
// Phone numbers: libphonenumber parses, the result is E.164 without the leading '+'.
#include "capi/normalize/field_result.h"

#include <string_view>

namespace capi::normalize::detail {

// REQUIRES: input trimmed, valid UTF-8, not empty. default_region: ISO alpha-2 in any case,
// or empty.
FieldOutcome normalizePhone(std::string_view input, std::string_view default_region);

// True when libphonenumber has metadata for the region (ISO alpha-2, any case).
bool isSupportedPhoneRegion(std::string_view region);

}  // namespace capi::normalize::detail
