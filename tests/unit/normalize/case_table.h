#pragma once
// Table-driven checks shared by the normalization tests: each row is reported as its own
// section, so a failure names the input.
#include "capi/normalize/normalizer.h"
#include "common/crypto.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace capi::normalize::testing {

struct Accepts {
  std::string input;
  std::string normalized;
};

inline void checkAccepted(Field field, const std::vector<Accepts>& rows,
                          const Options& options = {}) {
  for (const Accepts& row : rows) {
    DYNAMIC_SECTION(fieldName(field) << " '" << row.input << "' -> '" << row.normalized << "'") {
      const Result r = normalize(field, row.input, options);
      INFO("error: " << r.error);
      REQUIRE(r.ok);
      CHECK(r.normalized == row.normalized);
      CHECK(r.sha256 == sha256Hex(row.normalized));
      CHECK_FALSE(r.prehashed);
      CHECK(r.error.empty());
    }
  }
}

inline void checkRejected(Field field, const std::vector<std::string>& inputs,
                          const Options& options = {}) {
  for (const std::string& input : inputs) {
    DYNAMIC_SECTION(fieldName(field) << " rejects '" << input << "'") {
      const Result r = normalize(field, input, options);
      INFO("normalized: " << r.normalized);
      CHECK_FALSE(r.ok);
      CHECK_FALSE(r.error.empty());
      CHECK(r.normalized.empty());
      CHECK(r.sha256.empty());
    }
  }
}

}  // namespace capi::normalize::testing
