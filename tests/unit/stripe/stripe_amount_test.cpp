#include "webhooks/stripe/stripe_amount.h"

#include <catch2/catch.hpp>

#include <cstdint>

using capi::webhooks::stripe::stripeAmountToIsoMinor;

TEST_CASE("Stripe amounts already in ISO minor units pass through", "[stripe][amount]") {
  CHECK(stripeAmountToIsoMinor(1999, "eur") == 1999);
  CHECK(stripeAmountToIsoMinor(1999, "jpy") == 1999);
  CHECK(stripeAmountToIsoMinor(1990, "kwd") == 1990);
  CHECK(stripeAmountToIsoMinor(104500, "huf") == 104500);
  CHECK(stripeAmountToIsoMinor(80045, "twd") == 80045);
  CHECK(stripeAmountToIsoMinor(INT64_MAX, "usd") == INT64_MAX);
}

TEST_CASE("ISK and UGX, sent by Stripe with two decimals, lose them", "[stripe][amount]") {
  CHECK(stripeAmountToIsoMinor(500, "isk") == 5);
  CHECK(stripeAmountToIsoMinor(500, "ISK") == 5);
  CHECK(stripeAmountToIsoMinor(370000, "ugx") == 3700);
  CHECK(stripeAmountToIsoMinor(0, "isk") == 0);
}

TEST_CASE("legacy fractional ISK amounts round half away from zero", "[stripe][amount]") {
  CHECK(stripeAmountToIsoMinor(4010, "isk") == 40);
  CHECK(stripeAmountToIsoMinor(4050, "isk") == 41);
  CHECK(stripeAmountToIsoMinor(-4050, "isk") == -41);
  CHECK(stripeAmountToIsoMinor(-4049, "isk") == -40);
}

TEST_CASE("MGA, zero-decimal at Stripe, gains ISO's two decimals", "[stripe][amount]") {
  CHECK(stripeAmountToIsoMinor(1000, "mga") == 100000);
  CHECK_FALSE(stripeAmountToIsoMinor(INT64_MAX / 10, "mga").has_value());
}
