// Meta's worked examples (SPEC §5, reference/meta-capi.md §3) with their published hashes.
#include "capi/normalize/normalizer.h"

#include <catch2/catch.hpp>

using capi::normalize::Field;
using capi::normalize::normalize;
using capi::normalize::Options;
using capi::normalize::Result;

namespace {

void checkExample(Field field, const std::string& input, const std::string& normalized,
                  const std::string& sha256, const Options& options = {}) {
  const Result r = normalize(field, input, options);
  INFO("error: " << r.error);
  REQUIRE(r.ok);
  CHECK(r.normalized == normalized);
  CHECK(r.sha256 == sha256);
  CHECK_FALSE(r.prehashed);
}

}  // namespace

TEST_CASE("an email address is trimmed and lowercased exactly as in Meta's example", "[normalize][meta]") {
  checkExample(Field::Em, "John_Smith@gmail.com", "john_smith@gmail.com",
               "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f");
  checkExample(Field::Em, "  John_Smith@GMAIL.com \t", "john_smith@gmail.com",
               "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f");
}

TEST_CASE("a US national phone number becomes digits with country code as in Meta's example", "[normalize][meta]") {
  checkExample(Field::Ph, "(650)555-1212", "16505551212",
               "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
               Options{.default_region = "US", .country_hint = ""});
}

TEST_CASE("an accented first name keeps its accent in composed form as in Meta's example", "[normalize][meta]") {
  const std::string hash = "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c";
  checkExample(Field::Fn, "Valéry", "valéry", hash);                  // U+00E9
  checkExample(Field::Fn, "Vale\xCC\x81ry", "valéry", hash);          // e + U+0301 (NFD)
  checkExample(Field::Ln, "VALÉRY", "valéry", hash);
}

TEST_CASE("Meta's other first-name examples hash as published", "[normalize][meta]") {
  checkExample(Field::Fn, "Mary", "mary",
               "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec");
  checkExample(Field::Fn, "정", "정",
               "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14");
}

TEST_CASE("a US-style date of birth becomes YYYYMMDD as in Meta's example", "[normalize][meta]") {
  checkExample(Field::Db, "2/16/1997", "19970216",
               "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c");
}

TEST_CASE("a country name becomes its lowercase ISO code as in Meta's example", "[normalize][meta]") {
  checkExample(Field::Country, "United States", "us",
               "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621");
}

TEST_CASE("a UK postcode loses its space and case as in Meta's example", "[normalize][meta]") {
  checkExample(Field::Zp, "M1 1AE", "m11ae",
               "1dc694c2070e697769fb959b50671d76cafd430d8ca191fbdd0affcaea344ac5");
}

TEST_CASE("a city loses its spaces as in Meta's example", "[normalize][meta]") {
  checkExample(Field::Ct, "New York", "newyork",
               "350c754ba4d38897693aa077ef43072a859d23f613443133fecbbd90a3512ca5");
}

TEST_CASE("gender initials hash as Meta computes them", "[normalize][meta]") {
  checkExample(Field::Ge, "m", "m", "62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a");
  checkExample(Field::Ge, "f", "f", "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111");
}
