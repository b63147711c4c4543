#include "webhooks/stripe/stripe_amount.h"

#include <cctype>

namespace capi::webhooks::stripe {
namespace {

bool sameCode(std::string_view currency, std::string_view lower_code) {
  if (currency.size() != lower_code.size()) return false;
  for (size_t i = 0; i < currency.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(currency[i])) != lower_code[i]) return false;
  return true;
}

int64_t divideRoundingHalfAway(int64_t amount, int64_t divisor) {
  const int64_t quotient = amount / divisor;
  const int64_t remainder = amount % divisor;
  if (remainder * 2 >= divisor) return quotient + 1;
  if (remainder * 2 <= -divisor) return quotient - 1;
  return quotient;
}

}  // namespace

std::optional<int64_t> stripeAmountToIsoMinor(int64_t stripe_amount, std::string_view currency) {
  if (sameCode(currency, "isk") || sameCode(currency, "ugx")) return divideRoundingHalfAway(stripe_amount, 100);
  if (sameCode(currency, "mga")) {
    int64_t iso = 0;
    if (__builtin_mul_overflow(stripe_amount, int64_t{100}, &iso)) return std::nullopt;
    return iso;
  }
  return stripe_amount;
}

}  // namespace capi::webhooks::stripe
