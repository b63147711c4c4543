#include "case_table.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace capi::normalize;
using capi::normalize::testing::Accepts;
using capi::normalize::testing::checkAccepted;
using capi::normalize::testing::checkRejected;

namespace {

Options region(std::string r) {
  Options o;
  o.default_region = std::move(r);
  return o;
}

}  // namespace

TEST_CASE("US numbers in national and international forms all become 1 plus ten digits", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"(650)555-1212", "16505551212"},
                 {"650.555.1212", "16505551212"},
                 {"650 555 1212", "16505551212"},
                 {"1-650-555-1212", "16505551212"},
                 {"1 (650) 555-1212", "16505551212"},
                 {"+1 650 555 1212", "16505551212"},
                 {"+1 (650) 555-1212", "16505551212"},
                 {"tel:+1-650-555-1212", "16505551212"},
                 {"650-555-1212 ext. 123", "16505551212"},
                 {"1-800-FLOWERS", "18003569377"}},
                region("US"));
}

TEST_CASE("the default region is accepted in lower case", "[normalize][ph]") {
  checkAccepted(Field::Ph, {{"(650)555-1212", "16505551212"}}, region("us"));
}

TEST_CASE("a region's own international prefix introduces a foreign number", "[normalize][ph]") {
  checkAccepted(Field::Ph, {{"011 44 20 7946 0958", "442079460958"}}, region("US"));
  checkAccepted(Field::Ph, {{"0044 20 7946 0958", "442079460958"}}, region("GB"));
  checkAccepted(Field::Ph, {{"0049 151 12345678", "4915112345678"}}, region("DE"));
  checkAccepted(Field::Ph, {{"0033 1 42 68 53 00", "33142685300"}}, region("FR"));
  checkAccepted(Field::Ph, {{"010 1 650 555 1212", "16505551212"}}, region("JP"));
  checkAccepted(Field::Ph, {{"0011 44 20 7946 0958", "442079460958"}}, region("AU"));
}

TEST_CASE("UK numbers lose the trunk zero and gain 44", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"020 7946 0958", "442079460958"},
                 {"07911 123456", "447911123456"},
                 {"+44 (0)20 7946 0958", "442079460958"},
                 {"+44 20 7946 0958", "442079460958"}},
                region("GB"));
}

TEST_CASE("German numbers lose the trunk zero and gain 49", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"030 1234567", "49301234567"},
                 {"+49 (0)30 1234567", "49301234567"},
                 {"0151 12345678", "4915112345678"},
                 {"0151/12345678", "4915112345678"}},
                region("DE"));
}

TEST_CASE("French numbers lose the trunk zero and gain 33", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"06 12 34 56 78", "33612345678"},
                 {"06.12.34.56.78", "33612345678"},
                 {"+33 6 12 34 56 78", "33612345678"}},
                region("FR"));
}

TEST_CASE("Japanese numbers lose the trunk zero and gain 81", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"03-1234-5678", "81312345678"},
                 {"090-1234-5678", "819012345678"},
                 {"+81 90-1234-5678", "819012345678"}},
                region("JP"));
}

TEST_CASE("Brazilian mobile numbers keep their area code and gain 55", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"(11) 98765-4321", "5511987654321"}, {"+55 11 98765-4321", "5511987654321"}},
                region("BR"));
}

TEST_CASE("Indian numbers with or without trunk zero gain 91", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"098765 43210", "919876543210"},
                 {"9876543210", "919876543210"},
                 {"+91 98765 43210", "919876543210"}},
                region("IN"));
}

TEST_CASE("Australian numbers lose the trunk zero and gain 61", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"0412 345 678", "61412345678"},
                 {"(02) 9374 4000", "61293744000"},
                 {"+61 412 345 678", "61412345678"}},
                region("AU"));
}

TEST_CASE("digits in other scripts are read as phone digits", "[normalize][ph]") {
  checkAccepted(Field::Ph, {{"٠٢٠٧٩٤٦٠٩٥٨", "442079460958"}}, region("GB"));
  checkAccepted(Field::Ph, {{"＋44 20 7946 0958", "442079460958"}});
}

TEST_CASE("without a default region a number with + or 00 is still complete", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"+44 20 7946 0958", "442079460958"},
                 {"+1 (650) 555-1212", "16505551212"},
                 {"0044 20 7946 0958", "442079460958"},
                 {"+49 151 12345678", "4915112345678"}});
}

TEST_CASE("without a default region eleven or more bare digits forming a valid number are read as E.164 without plus", "[normalize][ph]") {
  checkAccepted(Field::Ph,
                {{"16505551212", "16505551212"},
                 {"442079460958", "442079460958"},
                 {"4915112345678", "4915112345678"}});
}

TEST_CASE("a foreign number written as E.164 without plus is read internationally when it is not a national number of the region", "[normalize][ph]") {
  checkAccepted(Field::Ph, {{"4915112345678", "4915112345678"}}, region("US"));
  checkAccepted(Field::Ph, {{"447911123456", "447911123456"}}, region("US"));
}

TEST_CASE("a region's own country code written without plus is recognised", "[normalize][ph]") {
  checkAccepted(Field::Ph, {{"16505551212", "16505551212"}}, region("US"));
  checkAccepted(Field::Ph, {{"447911123456", "447911123456"}}, region("GB"));
}

TEST_CASE("a national number without a default region is refused as lacking a country code", "[normalize][ph]") {
  for (const char* input :
       {"(650)555-1212", "6505551212", "020 7946 0958", "06 12 34 56 78", "0012345678"}) {
    DYNAMIC_SECTION("ph '" << input << "' without region") {
      const Result r = normalize(Field::Ph, input);
      CHECK_FALSE(r.ok);
      CHECK(r.no_country_code);
      CHECK(r.error.find("country code") != std::string::npos);
    }
  }
}

TEST_CASE("text that is no phone number is refused, never guessed", "[normalize][ph]") {
  checkRejected(Field::Ph,
                {"abc", "call me maybe", "+", "12", "555-1212", "650555121", "65055512123",
                 "+1 650 555", "+999 123 456", "+44 20 7946 0958 0000 0000", "n/a", "-"},
                region("US"));
  checkRejected(Field::Ph, {"abc", "+", "12", "+1 650"});
}

TEST_CASE("refusals other than a missing country code do not claim one is missing", "[normalize][ph]") {
  CHECK_FALSE(normalize(Field::Ph, "abc").no_country_code);
  CHECK_FALSE(normalize(Field::Ph, "+1 650 555", region("US")).no_country_code);
  CHECK_FALSE(normalize(Field::Ph, "555-1212", region("US")).no_country_code);
}

TEST_CASE("an unknown default region is reported instead of guessing a country", "[normalize][ph]") {
  const Result r = normalize(Field::Ph, "650 555 1212", region("XX"));
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("region") != std::string::npos);
}

// Found by fuzz/fuzz_normalize: accepted on its length alone, "0001820 901820" in DE became
// 49001820901820, which reads back as 4901820901820.
TEST_CASE("a number whose E.164 form reads back as another number is refused", "[normalize][ph]") {
  checkRejected(Field::Ph, {"0001820 901820", "+49 001820 901820"}, region("DE"));
  // Also when written without spaces.
  checkRejected(Field::Ph, {"+49001820901820"}, region("DE"));
  checkRejected(Field::Ph, {"+49001820901820"});
}

// Found by fuzz/fuzz_normalize: "00" and "8 10 ..." in DE came out as 18 digits.
TEST_CASE("a number longer than E.164's 15 digits is refused", "[normalize][ph]") {
  checkRejected(Field::Ph, {"008 10 09094 90189 30 918~020", "008 10 09094 90189 30 918"}, region("DE"));
  const Result r = normalize(Field::Ph, "008 10 09094 90189 30 918", region("DE"));
  CHECK(r.error.find("15 digits") != std::string::npos);
}

// Placeholders typed into checkout forms. With a default region libphonenumber keeps the raw
// input and formats a national number of 0 as that text, which then matched "+<digits>".
TEST_CASE("a number whose national part is all zeros is refused, with or without a region", "[normalize][ph]") {
  checkRejected(Field::Ph, {"+1 (000) 000-0000"}, region("US"));
  checkRejected(Field::Ph, {"+440000000000", "+44 0000 000000"}, region("GB"));
  checkRejected(Field::Ph, {"+1 (000) 000-0000", "+440000000000"});
}

TEST_CASE("a national part of one digit repeated is a placeholder and refused, however it is written", "[normalize][ph]") {
  auto refusedAsPlaceholder = [](const std::string& input, const Options& options) {
    INFO(input << " (region " << options.default_region << ")");
    const Result r = normalize(Field::Ph, input, options);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("placeholder") != std::string::npos);
    CHECK_FALSE(r.no_country_code);
  };
  for (const char* input : {"+10000000000", "+1 111 111 1111", "+15555555555", "(555) 555-5555", "999-999-9999"})
    refusedAsPlaceholder(input, region("US"));
  for (const char* input : {"+10000000000", "+1 555 555 5555", "+491111111111", "+49 (0)1111 111111"})
    refusedAsPlaceholder(input, Options{});
  // Also when libphonenumber knows the number as valid: a dummy shared by many customers
  // would tie them together.
  for (const char* input : {"+44 7777 777777", "+91 99999 99999", "+7 999 999 99 99"})
    refusedAsPlaceholder(input, Options{});
  refusedAsPlaceholder("99999 99999", region("IN"));
  // A repeated digit inside a number is no placeholder.
  checkAccepted(Field::Ph, {{"+1 650 555 5555", "16505555555"}, {"+49 151 11111111", "4915111111111"}});
}

TEST_CASE("a number already in E.164 form gives the same digits as any other spelling", "[normalize][ph]") {
  for (const auto& [e164, spelled] : std::vector<std::pair<std::string, std::string>>{
           {"+16505551212", "+1 (650) 555-1212"}, {"+442079460958", "+44 (0)20 7946 0958"},
           {"+4915112345678", "+49 151 12345678"}, {"+5511987654321", "+55 11 98765-4321"}}) {
    const Result a = normalize(Field::Ph, e164), b = normalize(Field::Ph, spelled);
    REQUIRE(a.ok);
    CHECK(a.normalized == e164.substr(1));
    CHECK(a.normalized == b.normalized);
    CHECK(normalize(Field::Ph, e164, region("US")).normalized == a.normalized);
  }
}

TEST_CASE("every accepted number reads back as itself when written with a leading +", "[normalize][ph]") {
  for (const auto& [input, cc] : std::vector<std::pair<std::string, std::string>>{
           {"0001820 901820", "DE"}, {"030 1234567", "DE"}, {"06 1234 5678", "IT"}, {"(650) 555-1212", "US"}}) {
    const Result once = normalize(Field::Ph, input, region(cc));
    if (!once.ok) continue;
    const Result twice = normalize(Field::Ph, "+" + once.normalized);
    CHECK(twice.normalized == once.normalized);
  }
}
