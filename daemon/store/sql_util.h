#pragma once
// Helpers shared by the store's .cpp files only (includes libpqxx).
#include "common/clock.h"

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

namespace capi::store::sql {

// The connection string with connect_timeout=5 unless it sets one: an unreachable server must
// not hold a thread for the kernel's TCP timeout.
std::string withConnectTimeout(const std::string& url);

// A TimePoint as "<unix seconds>.<micros>", for to_timestamp($n::float8).
std::string ts(TimePoint t);
// A text[] literal with every element quoted, e.g. {"a","b\"c"}.
std::string textArray(const std::vector<std::string>& values);
// Empty string -> SQL NULL.
inline const char* nullIfEmpty(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

TimePoint toTimePoint(const pqxx::field& f);      // from extract(epoch from ...)::float8 text
std::optional<TimePoint> toOptionalTimePoint(const pqxx::field& f);
std::string str(const pqxx::field& f);            // NULL -> ""
std::vector<std::string> parseTextArray(const pqxx::field& f);

// SQL fragment: epoch seconds (float8) of a timestamptz column, for toTimePoint.
inline std::string epoch(const std::string& column) {
  return "extract(epoch from " + column + ")::float8";
}

}  // namespace capi::store::sql
