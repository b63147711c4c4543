#pragma once
// Helpers shared by the store's .cpp files only (includes libpqxx).
#include "common/clock.h"

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capi::store::sql {

// The connection string with connect_timeout=5 unless it sets one: an unreachable server must
// not hold a thread for the kernel's TCP timeout.
std::string withConnectTimeout(const std::string& url);
// withConnectTimeout, plus TCP keepalives and tcp_user_timeout=30000 unless the URL sets them:
// for the long-lived listener and announcer connections, which must notice a dead peer instead
// of blocking on it (and a shutdown waiting for them).
std::string withNetworkTimeouts(const std::string& url);

// A TimePoint as "<unix seconds>.<micros>", for to_timestamp($n::float8).
std::string ts(TimePoint t);
// A text[] literal with every element quoted, e.g. {"a","b\"c"}.
std::string textArray(const std::vector<std::string>& values);
// An array literal for any element type PostgreSQL reads from text ($1::bigint[], $1::float8[],
// ...): every element quoted, nullopt -> NULL. Lets one statement carry a whole batch of rows
// through unnest(...).
std::string arrayLiteral(const std::vector<std::optional<std::string>>& values);
// Runs `sql` as the prepared statement `name` on the transaction's connection. libpqxx registers
// the definition once per connection (a repeated identical definition is a lookup) and prepares
// it on the server on first use, so hot statements skip parsing and, after a few runs, planning.
// Each name must always carry the same text.
template <typename... Args>
pqxx::result prepared(pqxx::transaction_base& tx, const std::string& name, const std::string& sql,
                      Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

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
