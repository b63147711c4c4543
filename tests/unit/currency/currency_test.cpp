#include "capi/currency.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

using capi::currencyExponent;
using capi::formatMinorUnits;

TEST_CASE("amounts in minor units format with the currency's own number of decimals", "[currency]") {
  CHECK(formatMinorUnits(1999, "EUR") == "19.99");
  CHECK(formatMinorUnits(1999, "JPY") == "1999");
  CHECK(formatMinorUnits(1999, "KWD") == "1.999");
  CHECK(formatMinorUnits(1999, "CLF") == "0.1999");
}

TEST_CASE("small amounts are padded with leading zeros", "[currency]") {
  CHECK(formatMinorUnits(5, "EUR") == "0.05");
  CHECK(formatMinorUnits(50, "EUR") == "0.50");
  CHECK(formatMinorUnits(5, "BHD") == "0.005");
  CHECK(formatMinorUnits(5, "JPY") == "5");
}

TEST_CASE("zero and trailing zeros keep every decimal place", "[currency]") {
  CHECK(formatMinorUnits(0, "EUR") == "0.00");
  CHECK(formatMinorUnits(0, "JPY") == "0");
  CHECK(formatMinorUnits(1000, "USD") == "10.00");
  CHECK(formatMinorUnits(1000, "OMR") == "1.000");
}

TEST_CASE("negative amounts carry the sign before the integer part", "[currency]") {
  CHECK(formatMinorUnits(-5, "EUR") == "-0.05");
  CHECK(formatMinorUnits(-1999, "EUR") == "-19.99");
  CHECK(formatMinorUnits(-7, "JPY") == "-7");
}

TEST_CASE("the extremes of int64 format without overflow", "[currency]") {
  CHECK(formatMinorUnits(INT64_MAX, "EUR") == "92233720368547758.07");
  CHECK(formatMinorUnits(INT64_MIN, "EUR") == "-92233720368547758.08");
  CHECK(formatMinorUnits(INT64_MIN, "JPY") == "-9223372036854775808");
}

TEST_CASE("currency codes are matched without regard to case", "[currency]") {
  CHECK(formatMinorUnits(1999, "eur") == "19.99");
  CHECK(currencyExponent("jpy") == 0);
  CHECK(currencyExponent("Kwd") == 3);
}

TEST_CASE("zero-decimal ISO currencies have exponent 0", "[currency]") {
  for (const char* code : {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                           "VUV", "XAF", "XOF", "XPF"}) {
    CAPTURE(code);
    CHECK(currencyExponent(code) == 0);
  }
}

TEST_CASE("three- and four-decimal ISO currencies have their exponent", "[currency]") {
  for (const char* code : {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}) {
    CAPTURE(code);
    CHECK(currencyExponent(code) == 3);
  }
  CHECK(currencyExponent("CLF") == 4);
  CHECK(currencyExponent("UYW") == 4);
}

TEST_CASE("common two-decimal currencies have exponent 2", "[currency]") {
  for (const char* code : {"EUR", "USD", "GBP", "CHF", "HUF", "TWD", "MGA", "INR", "BRL", "AUD", "CAD", "ZAR",
                           "AED", "XCD", "SLE", "VES", "ZWG", "XCG"}) {
    CAPTURE(code);
    CHECK(currencyExponent(code) == 2);
  }
}

TEST_CASE("unknown and ill-formed codes have no exponent", "[currency]") {
  for (const char* code : {"XXX", "XAU", "XDR", "ABC", "", "EU", "EURO", "E1R", "€€€", "usdc"}) {
    CAPTURE(code);
    CHECK_FALSE(currencyExponent(code).has_value());
  }
}

TEST_CASE("formatting an unknown currency is refused rather than guessed", "[currency]") {
  CHECK_THROWS_AS(formatMinorUnits(1999, "ABC"), std::invalid_argument);
}
