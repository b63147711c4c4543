#pragma once
// Stripe amounts are in ISO 4217 minor units except for a few currencies Stripe keeps in a
// legacy representation (https://docs.stripe.com/currencies, "zero-decimal" and "special cases"):
//   ISK, UGX  ISO exponent 0, Stripe sends two decimals ("to charge 5 UGX, provide 500");
//   MGA       ISO exponent 2, Stripe treats it as zero-decimal.
// HUF and TWD are zero-decimal only for Stripe payouts; their charge amounts are ISO already.
#include <cstdint>
#include <optional>
#include <string_view>

namespace capi::webhooks::stripe {

// The amount in ISO 4217 minor units of the (case-insensitive) currency; nullopt when the
// conversion overflows int64. Fractions Stripe should no longer produce (an ISK amount not
// divisible by 100) are rounded half away from zero.
std::optional<int64_t> stripeAmountToIsoMinor(int64_t stripe_amount, std::string_view currency);

}  // namespace capi::webhooks::stripe
