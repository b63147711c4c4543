#include "case_table.h"

#include <catch2/catch.hpp>

#include <chrono>

using namespace capi::normalize;
using capi::normalize::testing::Accepts;
using capi::normalize::testing::checkAccepted;
using capi::normalize::testing::checkRejected;

namespace {

Options countryHint(std::string c) {
  Options o;
  o.country_hint = std::move(c);
  return o;
}

int currentYear() {
  using namespace std::chrono;
  return static_cast<int>(year_month_day{floor<days>(system_clock::now())}.year());
}

}  // namespace

TEST_CASE("email addresses are trimmed and lowercased, nothing else", "[normalize][em]") {
  checkAccepted(Field::Em,
                {{"a@b.c", "a@b.c"},
                 {" Foo.Bar+Tag@Example.CO.UK ", "foo.bar+tag@example.co.uk"},
                 {"\tjohn@example.com\n", "john@example.com"},
                 {"ÉMILE@exemple.fr", "émile@exemple.fr"},
                 {"E\xCC\x81mile@exemple.fr", "émile@exemple.fr"},
                 {"user@bücher.de", "user@bücher.de"},
                 {"\"a@b\"@c.d", "\"a@b\"@c.d"},
                 {"o'brien@example.ie", "o'brien@example.ie"}});
}

TEST_CASE("values that cannot be email addresses are refused", "[normalize][em]") {
  checkRejected(Field::Em,
                {"nobody", "1234", "@b.c", "a@", "a@b", "a b@c.d", "a@b .c", "324342@@@@bar.com",
                 "a@.b.c", "a@b..c", "a@b.c.", "mailto:a@b.c", "<a@b.c>", "a@b_c.d",
                 "d41d8cd98f00b204e9800998ecf8427e"});
}

TEST_CASE("US ZIP codes keep their first five digits", "[normalize][zp]") {
  checkAccepted(Field::Zp,
                {{"94035", "94035"},
                 {"94035-1234", "94035"},
                 {"94035 1234", "94035"},
                 {"  98121", "98121"},
                 {"94035.", "94035"}});
  checkAccepted(Field::Zp, {{"940351234", "94035"}, {"02134", "02134"}}, countryHint("us"));
}

TEST_CASE("postal codes elsewhere lose spaces and dashes and keep letters", "[normalize][zp]") {
  checkAccepted(Field::Zp,
                {{"M1 1AE", "m11ae"},
                 {"SW1A 1AA", "sw1a1aa"},
                 {"NR9 5AL", "nr95al"},
                 {"K1A 0B1", "k1a0b1"},
                 {"75018", "75018"},
                 {"1987", "1987"},
                 {"01310-100", "01310100"},
                 {"100-0001", "1000001"},
                 {"1234 AB", "1234ab"},
                 {"D-10115", "d10115"},
                 {"D02 X285", "d02x285"}});
}

TEST_CASE("nine bare digits are not taken for ZIP+4 unless the customer is in the US", "[normalize][zp]") {
  checkAccepted(Field::Zp, {{"940351234", "940351234"}});
  checkAccepted(Field::Zp, {{"940351234", "94035"}}, countryHint("United States"));
}

TEST_CASE("a customer's non-US country keeps a five-digit-plus-four shape whole", "[normalize][zp]") {
  checkAccepted(Field::Zp, {{"12345-6789", "123456789"}}, countryHint("de"));
}

TEST_CASE("postal codes that cannot be real are refused", "[normalize][zp]") {
  checkRejected(Field::Zp, {"9", "-", "abcdefghijkl", "ÄÖÜ 12"});
  checkRejected(Field::Zp, {"9403", "SW1A 1AA"}, countryHint("us"));
}

TEST_CASE("dates of birth in common forms become YYYYMMDD", "[normalize][db]") {
  checkAccepted(Field::Db,
                {{"2/16/1997", "19970216"},
                 {"02/16/1997", "19970216"},
                 {"16/2/1997", "19970216"},
                 {"16.02.1997", "19970216"},
                 {"02.16.1997", "19970216"},
                 {"16-02-1997", "19970216"},
                 {"1997-02-16", "19970216"},
                 {"1997/2/16", "19970216"},
                 {"1997-02-16T10:00:00Z", "19970216"},
                 {"1997-02-16 10:00", "19970216"},
                 {"19970216", "19970216"},
                 {"02161997", "19970216"},
                 {"16021997", "19970216"},
                 {"February 16, 1997", "19970216"},
                 {"16 Feb 1997", "19970216"},
                 {"16-Feb-1997", "19970216"},
                 {"Feb. 16th, 1997", "19970216"},
                 {"16th of February 1997", "19970216"},
                 {"Sunday, February 16, 1997", "19970216"},
                 {"SEPT 1 1990", "19900901"},
                 {"Feb 29 2000", "20000229"},
                 {"1900-01-01", "19000101"}});
}

TEST_CASE("when both numbers could be the month, slashes and dashes read month first and dots day first", "[normalize][db]") {
  checkAccepted(Field::Db,
                {{"03/05/1995", "19950305"},
                 {"05-03-1995", "19950503"},
                 {"03.05.1995", "19950503"},
                 {"03051995", "19950305"}});
}

TEST_CASE("impossible, ambiguous and out-of-range dates are refused", "[normalize][db]") {
  checkRejected(Field::Db,
                {"2/30/1997", "1997-02-30", "Feb 29 1900", "13/13/1997", "1997-13-01", "0/16/1997",
                 "2/16/97", "970216", "1899-12-31", "2199-01-01", "hello", "1997", "16 1997",
                 "1 janvier 1997", "Feb 16", "Feb Mar 16 1997", "1997-02-16 or so", "19971302"});
}

TEST_CASE("the current year is the latest year of birth accepted", "[normalize][db]") {
  const int year = currentYear();
  CHECK(normalize(Field::Db, std::to_string(year) + "-01-01").ok);
  CHECK_FALSE(normalize(Field::Db, std::to_string(year + 1) + "-01-01").ok);
}

TEST_CASE("gender words become f or m", "[normalize][ge]") {
  checkAccepted(Field::Ge,
                {{"F", "f"},
                 {"f", "f"},
                 {"female", "f"},
                 {"Female ", "f"},
                 {"WOMAN", "f"},
                 {"M", "m"},
                 {"M.", "m"},
                 {"male", "m"},
                 {"Man", "m"}});
}

TEST_CASE("other gender values are refused", "[normalize][ge]") {
  checkRejected(Field::Ge, {"x", "other", "fm", "mf", "1", "unknown", "femalee"});
}

TEST_CASE("external ids are trimmed, lowercased and hashed", "[normalize][external_id]") {
  checkAccepted(Field::ExternalId,
                {{"  User-ABC  ", "user-abc"},
                 {"CUS_12345", "cus_12345"},
                 {"order 42", "order 42"},
                 {"d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e"}});
}

TEST_CASE("a 64-hex-digit value is taken as already hashed and never hashed again", "[normalize][prehashed]") {
  const std::string lower = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
  const std::string upper = "62A14E44F765419D10FEA99367361A727C12365E2520F32218D505ED9AA0F62F";
  for (Field field : allFields()) {
    for (const std::string& input : {lower, upper, "  " + upper + "\t", "\n" + lower + " "}) {
      DYNAMIC_SECTION(fieldName(field) << " '" << input << "'") {
        const Result r = normalize(field, input);
        REQUIRE(r.ok);
        CHECK(r.prehashed);
        CHECK(r.normalized == lower);
        CHECK(r.sha256 == lower);
      }
    }
  }
}

TEST_CASE("near-hashes are normalized as ordinary values", "[normalize][prehashed]") {
  const std::string hex63 = std::string(63, 'a');
  const std::string hex65 = std::string(65, 'a');
  const std::string not_hex = std::string(63, 'a') + "g";
  for (const std::string& input : {hex63, hex65, not_hex}) {
    const Result r = normalize(Field::ExternalId, input);
    REQUIRE(r.ok);
    CHECK_FALSE(r.prehashed);
    CHECK(r.sha256 == capi::sha256Hex(input));
  }
  const Result md5 = normalize(Field::ExternalId, "D41D8CD98F00B204E9800998ECF8427E");
  CHECK_FALSE(md5.prehashed);
  CHECK(md5.sha256 == capi::sha256Hex("d41d8cd98f00b204e9800998ecf8427e"));
}

TEST_CASE("empty and whitespace-only values are refused for every field", "[normalize]") {
  for (Field field : allFields()) {
    for (const std::string& input : {std::string(), std::string("   "), std::string("\t\n "),
                                     std::string("\xC2\xA0")}) {
      DYNAMIC_SECTION(fieldName(field) << " blank") {
        const Result r = normalize(field, input);
        CHECK_FALSE(r.ok);
        CHECK(r.error == "empty value");
      }
    }
  }
}

TEST_CASE("invalid UTF-8 is refused for every field", "[normalize]") {
  for (Field field : allFields()) {
    for (const std::string& input : {std::string("caf\xE9"), std::string("\xC0\xAF"),
                                     std::string("a\xED\xA0\x80" "b")}) {
      const Result r = normalize(field, input);
      CHECK_FALSE(r.ok);
      CHECK(r.error == "not valid UTF-8");
    }
  }
}

TEST_CASE("absurdly long values are refused before any work is done", "[normalize]") {
  const Result r = normalize(Field::Fn, std::string(5000, 'a'));
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("error messages never repeat the personal data they reject", "[normalize]") {
  const std::vector<std::pair<Field, std::string>> rejected = {
      {Field::Em, "secretperson"},      {Field::Ph, "secretperson"},
      {Field::Db, "secretperson"},      {Field::Ge, "secretperson"},
      {Field::Country, "secretperson"}, {Field::Zp, "secretpersonlong"}};
  for (const auto& [field, input] : rejected) {
    const Result r = normalize(field, input);
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.find("secretperson") == std::string::npos);
  }
}

TEST_CASE("field names round-trip and unknown names are refused", "[normalize]") {
  CHECK(allFields().size() == 11);
  for (Field f : allFields()) CHECK(parseField(fieldName(f)) == f);
  CHECK(parseField("external_id") == Field::ExternalId);
  CHECK(parseField("country") == Field::Country);
  CHECK_FALSE(parseField("email").has_value());
  CHECK_FALSE(parseField("EM").has_value());
  CHECK_FALSE(parseField("").has_value());
}

TEST_CASE("identifiers Meta wants verbatim are recognised and hashed fields are not", "[normalize]") {
  for (const char* name : {"client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id",
                           "fb_login_id", "lead_id", "anon_id", "madid", "page_id", "ctwa_clid"})
    CHECK(isVerbatimField(name));
  for (Field f : allFields()) CHECK_FALSE(isVerbatimField(fieldName(f)));
  CHECK_FALSE(isVerbatimField("FBC"));
}
