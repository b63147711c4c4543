#include "store/migrator.h"

#include "common/crypto.h"
#include "store/pg_pool.h"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace capi::store {
namespace {

constexpr long long kMigrationLockKey = 0x6361706952454321;  // "capiREC!"

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read migration " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void ensureTable(pqxx::connection& c) {
  pqxx::nontransaction tx(c);
  tx.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
}

std::map<int, std::string> appliedChecksums(pqxx::connection& c) {
  std::map<int, std::string> out;
  pqxx::read_transaction tx(c);
  auto exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return out;
  for (const auto& row : tx.exec("SELECT version, checksum FROM schema_migrations"))
    out[row[0].as<int>()] = row[1].as<std::string>();
  return out;
}

}  // namespace

std::vector<MigrationFile> listMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error("migrations folder not found: " + dir);
  std::vector<MigrationFile> files;
  std::set<int> seen;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    // NNNN_description.sql, description of letters, digits, '_' and '-'.
    const auto digits = name.find_first_not_of("0123456789");
    const std::string stem = name.substr(0, name.size() - 4);
    const bool well_formed = digits != std::string::npos && digits > 0 && digits <= 9 && name[digits] == '_' &&
                             stem.size() > digits + 1 &&
                             stem.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
                                                    digits + 1) == std::string::npos;
    if (!well_formed) throw std::runtime_error("migration file name must be NNNN_description.sql: " + name);
    MigrationFile f;
    f.version = std::stoi(name.substr(0, digits));
    f.name = name;
    f.path = entry.path().string();
    f.checksum = sha256Hex(readFile(f.path));
    if (!seen.insert(f.version).second)
      throw std::runtime_error("two migrations share version " + std::to_string(f.version));
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.version < b.version; });
  return files;
}

std::set<int> appliedVersions(PgPool& pool) {
  return pool.with([](pqxx::connection_base& c) {
    std::set<int> out;
    pqxx::read_transaction tx(c);
    if (!tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>()) return out;
    for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) out.insert(row[0].as<int>());
    return out;
  });
}

Migrator::Migrator(std::string database_url, std::string migrations_dir, MigrationLockPolicy locks)
    : url_(std::move(database_url)), files_(listMigrations(migrations_dir)), locks_(locks) {}

std::vector<std::string> Migrator::pending() {
  pqxx::connection c(url_);
  auto applied = appliedChecksums(c);
  std::vector<std::string> out;
  for (const auto& f : files_)
    if (!applied.count(f.version)) out.push_back(f.name);
  return out;
}

std::vector<std::string> Migrator::migrate() {
  pqxx::connection c(url_);
  {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
  }
  std::vector<std::string> applied_now;
  try {
    ensureTable(c);
    auto applied = appliedChecksums(c);
    for (const auto& f : files_) {
      auto it = applied.find(f.version);
      if (it != applied.end()) {
        if (it->second != f.checksum)
          throw std::runtime_error("migration " + f.name +
                                   " was changed after it was applied; add a new migration instead");
        continue;
      }
      const std::string sql = readFile(f.path);
      for (int attempt = 1;; ++attempt) {
        try {
          pqxx::work tx(c);
          tx.exec("SET LOCAL lock_timeout = " + std::to_string(locks_.lock_timeout.count()));
          tx.exec(sql);
          tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                         f.version, f.name, f.checksum);
          tx.commit();
          break;
        } catch (const pqxx::sql_error& e) {
          if (e.sqlstate() != "55P03") throw std::runtime_error("migration " + f.name + " failed: " + e.what());
          if (attempt >= locks_.attempts)
            throw std::runtime_error(
                "migration " + f.name + " could not take the locks it needs: " + std::to_string(attempt) +
                " waits of " + std::to_string(locks_.lock_timeout.count()) +
                " ms each, all behind another transaction (an idle session in a transaction, a long query or "
                "dump); nothing of it was applied. Find it with SELECT pid, state, xact_start, left(query, 60) "
                "FROM pg_stat_activity WHERE xact_start IS NOT NULL ORDER BY xact_start, end it, and run migrate "
                "again");
          spdlog::warn("migration {}: waited {} ms for a lock held by another transaction; gave way, trying again "
                       "({} of {})",
                       f.name, locks_.lock_timeout.count(), attempt, locks_.attempts);
          std::this_thread::sleep_for(locks_.pause);
        }
      }
      spdlog::info("applied migration {}", f.name);
      applied_now.push_back(f.name);
    }
  } catch (...) {
    try {
      pqxx::nontransaction tx(c);
      tx.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    } catch (...) {
    }
    throw;
  }
  pqxx::nontransaction tx(c);
  tx.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
  return applied_now;
}

}  // namespace capi::store
