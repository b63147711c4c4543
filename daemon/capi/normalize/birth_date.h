#pragma once
// Dates of birth in the forms people and shop systems write them, to Meta's YYYYMMDD.
#include "capi/normalize/field_result.h"

#include <string_view>

namespace capi::normalize::detail {

// REQUIRES: input trimmed, valid UTF-8, not empty. current_year bounds the year (Meta accepts
// 1900 to the current year).
FieldOutcome normalizeBirthDate(std::string_view input, int current_year);

}  // namespace capi::normalize::detail
