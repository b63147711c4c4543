#pragma once
// ISO 4217 minor-unit exponents, so amounts in minor units become Meta's decimal `value`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace capi {

// Number of decimals of the currency (case-insensitive code), nullopt when unknown.
std::optional<int> currencyExponent(std::string_view iso_code);

// 1999 EUR -> "19.99", 1999 JPY -> "1999", 1999 KWD -> "1.999", -5 EUR -> "-0.05".
// REQUIRES: currencyExponent(iso_code) has a value.
std::string formatMinorUnits(int64_t minor, std::string_view iso_code);

}  // namespace capi
