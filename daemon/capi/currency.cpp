#include "capi/currency.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace capi {
namespace {

struct CurrencyInfo {
  std::string_view code;
  int exponent;
};

// ISO 4217 List One codes that have a minor unit (metals, XDR, XSU, XUA, the bond-market units
// and the testing codes have none and are deliberately absent), plus superseded codes that
// providers may still send during and after a transition (HRK, MRO, STD, VEF, ZWL, ...; Stripe
// still presents "std"). Unknown codes are unknown: no default exponent. Kept sorted for the
// binary search.
//
// These are the ISO exponents, not any provider's. Stripe's API differs for a few currencies
// (ISK and UGX are sent with two decimals, MGA with none); the Stripe adapter converts its
// amounts to ISO minor units before they reach this table, see webhooks/stripe/stripe_amount.h.
constexpr std::array kCurrencies = {
    CurrencyInfo{"AED", 2}, CurrencyInfo{"AFN", 2}, CurrencyInfo{"ALL", 2}, CurrencyInfo{"AMD", 2},
    CurrencyInfo{"ANG", 2}, CurrencyInfo{"AOA", 2}, CurrencyInfo{"ARS", 2}, CurrencyInfo{"AUD", 2},
    CurrencyInfo{"AWG", 2}, CurrencyInfo{"AZN", 2}, CurrencyInfo{"BAM", 2}, CurrencyInfo{"BBD", 2},
    CurrencyInfo{"BDT", 2}, CurrencyInfo{"BGN", 2}, CurrencyInfo{"BHD", 3}, CurrencyInfo{"BIF", 0},
    CurrencyInfo{"BMD", 2}, CurrencyInfo{"BND", 2}, CurrencyInfo{"BOB", 2}, CurrencyInfo{"BOV", 2},
    CurrencyInfo{"BRL", 2}, CurrencyInfo{"BSD", 2}, CurrencyInfo{"BTN", 2}, CurrencyInfo{"BWP", 2},
    CurrencyInfo{"BYN", 2}, CurrencyInfo{"BZD", 2}, CurrencyInfo{"CAD", 2}, CurrencyInfo{"CDF", 2},
    CurrencyInfo{"CHE", 2}, CurrencyInfo{"CHF", 2}, CurrencyInfo{"CHW", 2}, CurrencyInfo{"CLF", 4},
    CurrencyInfo{"CLP", 0}, CurrencyInfo{"CNY", 2}, CurrencyInfo{"COP", 2}, CurrencyInfo{"COU", 2},
    CurrencyInfo{"CRC", 2}, CurrencyInfo{"CUC", 2}, CurrencyInfo{"CUP", 2}, CurrencyInfo{"CVE", 2},
    CurrencyInfo{"CZK", 2}, CurrencyInfo{"DJF", 0}, CurrencyInfo{"DKK", 2}, CurrencyInfo{"DOP", 2},
    CurrencyInfo{"DZD", 2}, CurrencyInfo{"EGP", 2}, CurrencyInfo{"ERN", 2}, CurrencyInfo{"ETB", 2},
    CurrencyInfo{"EUR", 2}, CurrencyInfo{"FJD", 2}, CurrencyInfo{"FKP", 2}, CurrencyInfo{"GBP", 2},
    CurrencyInfo{"GEL", 2}, CurrencyInfo{"GHS", 2}, CurrencyInfo{"GIP", 2}, CurrencyInfo{"GMD", 2},
    CurrencyInfo{"GNF", 0}, CurrencyInfo{"GTQ", 2}, CurrencyInfo{"GYD", 2}, CurrencyInfo{"HKD", 2},
    CurrencyInfo{"HNL", 2}, CurrencyInfo{"HRK", 2}, CurrencyInfo{"HTG", 2}, CurrencyInfo{"HUF", 2},
    CurrencyInfo{"IDR", 2}, CurrencyInfo{"ILS", 2}, CurrencyInfo{"INR", 2}, CurrencyInfo{"IQD", 3},
    CurrencyInfo{"IRR", 2}, CurrencyInfo{"ISK", 0}, CurrencyInfo{"JMD", 2}, CurrencyInfo{"JOD", 3},
    CurrencyInfo{"JPY", 0}, CurrencyInfo{"KES", 2}, CurrencyInfo{"KGS", 2}, CurrencyInfo{"KHR", 2},
    CurrencyInfo{"KMF", 0}, CurrencyInfo{"KPW", 2}, CurrencyInfo{"KRW", 0}, CurrencyInfo{"KWD", 3},
    CurrencyInfo{"KYD", 2}, CurrencyInfo{"KZT", 2}, CurrencyInfo{"LAK", 2}, CurrencyInfo{"LBP", 2},
    CurrencyInfo{"LKR", 2}, CurrencyInfo{"LRD", 2}, CurrencyInfo{"LSL", 2}, CurrencyInfo{"LYD", 3},
    CurrencyInfo{"MAD", 2}, CurrencyInfo{"MDL", 2}, CurrencyInfo{"MGA", 2}, CurrencyInfo{"MKD", 2},
    CurrencyInfo{"MMK", 2}, CurrencyInfo{"MNT", 2}, CurrencyInfo{"MOP", 2}, CurrencyInfo{"MRO", 2},
    CurrencyInfo{"MRU", 2}, CurrencyInfo{"MUR", 2}, CurrencyInfo{"MVR", 2}, CurrencyInfo{"MWK", 2},
    CurrencyInfo{"MXN", 2}, CurrencyInfo{"MXV", 2}, CurrencyInfo{"MYR", 2}, CurrencyInfo{"MZN", 2},
    CurrencyInfo{"NAD", 2}, CurrencyInfo{"NGN", 2}, CurrencyInfo{"NIO", 2}, CurrencyInfo{"NOK", 2},
    CurrencyInfo{"NPR", 2}, CurrencyInfo{"NZD", 2}, CurrencyInfo{"OMR", 3}, CurrencyInfo{"PAB", 2},
    CurrencyInfo{"PEN", 2}, CurrencyInfo{"PGK", 2}, CurrencyInfo{"PHP", 2}, CurrencyInfo{"PKR", 2},
    CurrencyInfo{"PLN", 2}, CurrencyInfo{"PYG", 0}, CurrencyInfo{"QAR", 2}, CurrencyInfo{"RON", 2},
    CurrencyInfo{"RSD", 2}, CurrencyInfo{"RUB", 2}, CurrencyInfo{"RWF", 0}, CurrencyInfo{"SAR", 2},
    CurrencyInfo{"SBD", 2}, CurrencyInfo{"SCR", 2}, CurrencyInfo{"SDG", 2}, CurrencyInfo{"SEK", 2},
    CurrencyInfo{"SGD", 2}, CurrencyInfo{"SHP", 2}, CurrencyInfo{"SLE", 2}, CurrencyInfo{"SLL", 2},
    CurrencyInfo{"SOS", 2}, CurrencyInfo{"SRD", 2}, CurrencyInfo{"SSP", 2}, CurrencyInfo{"STD", 2},
    CurrencyInfo{"STN", 2}, CurrencyInfo{"SVC", 2}, CurrencyInfo{"SYP", 2}, CurrencyInfo{"SZL", 2},
    CurrencyInfo{"THB", 2}, CurrencyInfo{"TJS", 2}, CurrencyInfo{"TMT", 2}, CurrencyInfo{"TND", 3},
    CurrencyInfo{"TOP", 2}, CurrencyInfo{"TRY", 2}, CurrencyInfo{"TTD", 2}, CurrencyInfo{"TWD", 2},
    CurrencyInfo{"TZS", 2}, CurrencyInfo{"UAH", 2}, CurrencyInfo{"UGX", 0}, CurrencyInfo{"USD", 2},
    CurrencyInfo{"USN", 2}, CurrencyInfo{"UYI", 0}, CurrencyInfo{"UYU", 2}, CurrencyInfo{"UYW", 4},
    CurrencyInfo{"UZS", 2}, CurrencyInfo{"VED", 2}, CurrencyInfo{"VEF", 2}, CurrencyInfo{"VES", 2},
    CurrencyInfo{"VND", 0}, CurrencyInfo{"VUV", 0}, CurrencyInfo{"WST", 2}, CurrencyInfo{"XAF", 0},
    CurrencyInfo{"XCD", 2}, CurrencyInfo{"XCG", 2}, CurrencyInfo{"XOF", 0}, CurrencyInfo{"XPF", 0},
    CurrencyInfo{"YER", 2}, CurrencyInfo{"ZAR", 2}, CurrencyInfo{"ZMW", 2}, CurrencyInfo{"ZWG", 2},
    CurrencyInfo{"ZWL", 2},
};

static_assert(std::is_sorted(kCurrencies.begin(), kCurrencies.end(),
                             [](const CurrencyInfo& a, const CurrencyInfo& b) { return a.code < b.code; }),
              "kCurrencies must stay sorted for the binary search");

}  // namespace

std::optional<int> currencyExponent(std::string_view iso_code) {
  if (iso_code.size() != 3) return std::nullopt;
  char upper[3];
  for (size_t i = 0; i < 3; ++i) {
    const char c = iso_code[i];
    if (c >= 'a' && c <= 'z') {
      upper[i] = static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'Z') {
      upper[i] = c;
    } else {
      return std::nullopt;
    }
  }
  const std::string_view code(upper, 3);
  const auto it = std::lower_bound(kCurrencies.begin(), kCurrencies.end(), code,
                                   [](const CurrencyInfo& info, std::string_view c) { return info.code < c; });
  if (it == kCurrencies.end() || it->code != code) return std::nullopt;
  return it->exponent;
}

std::string formatMinorUnits(int64_t minor, std::string_view iso_code) {
  const auto exponent = currencyExponent(iso_code);
  if (!exponent) throw std::invalid_argument("formatMinorUnits: unknown currency " + std::string(iso_code));

  // Unsigned magnitude, so INT64_MIN formats instead of overflowing on negation.
  const uint64_t magnitude = minor < 0 ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  std::string digits = std::to_string(magnitude);
  const auto exp = static_cast<size_t>(*exponent);
  if (exp > 0) {
    if (digits.size() <= exp) digits.insert(0, exp + 1 - digits.size(), '0');
    digits.insert(digits.size() - exp, 1, '.');
  }
  return minor < 0 ? "-" + digits : digits;
}

}  // namespace capi
