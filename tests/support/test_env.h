#pragma once
// Hermetic test environment: a private database per test (cloned from a migrated template),
// paths of the built binary and of the migrations.
#include <memory>
#include <string>

namespace capi::testing {

// CAPI_TEST_DATABASE_URL, set by scripts/test. Fails the test with a clear message when unset.
std::string baseDatabaseUrl();

// A fresh database created for one test and dropped after it.
class TestDatabase {
 public:
  // migrated: clone the migrated template (true) or start empty (false).
  explicit TestDatabase(bool migrated = true);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs SQL and returns the first column of the first row as text ("" when no row / NULL).
  std::string scalar(const std::string& sql) const;
  void exec(const std::string& sql) const;
  // Simulates a database outage for this database only: refuses new connections and
  // terminates the existing ones (false), or lets clients in again (true).
  void setAvailable(bool available) const;

 private:
  std::string name_;
  std::string url_;
};

// A transaction another client holds open on `url`: runs `sql` at construction and keeps its
// locks until commit() (or rollback on destruction). For tests of what concurrent writers do.
class HeldTransaction {
 public:
  HeldTransaction(const std::string& url, const std::string& sql);
  ~HeldTransaction();
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs SQL on the maintenance database "postgres".
void adminExec(const std::string& sql);

std::string migrationsDir();
std::string daemonBinary();

// Replace the database name in a libpq URI.
std::string withDatabase(const std::string& url, const std::string& dbname);

}  // namespace capi::testing
