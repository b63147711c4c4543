#include "support/test_env.h"

#include "store/migrator.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unistd.h>

namespace capi::testing {
namespace {

std::string adminUrl() { return withDatabase(baseDatabaseUrl(), "postgres"); }

// One migrated template per test process; each TestDatabase clones it.
const std::string& migratedTemplate() {
  static std::once_flag once;
  static std::string name;
  std::call_once(once, [] {
    name = "capi_tmpl_" + std::to_string(::getpid());
    adminExec("DROP DATABASE IF EXISTS " + name);
    adminExec("CREATE DATABASE " + name);
    capi::store::Migrator(withDatabase(baseDatabaseUrl(), name), migrationsDir()).migrate();
    std::atexit([] {
      try {
        adminExec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      } catch (...) {
      }
    });
  });
  return name;
}

}  // namespace

struct HeldTransaction::Impl {
  pqxx::connection connection;
  pqxx::work tx;
  explicit Impl(const std::string& url) : connection(url), tx(connection) {}
};

HeldTransaction::HeldTransaction(const std::string& url, const std::string& sql)
    : impl_(std::make_unique<Impl>(url)) {
  impl_->tx.exec(sql);
}

HeldTransaction::~HeldTransaction() = default;

void HeldTransaction::commit() { impl_->tx.commit(); }

void adminExec(const std::string& sql) {
  pqxx::connection c(adminUrl());
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

void TestDatabase::setAvailable(bool available) const {
  adminExec("ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS " + (available ? "true" : "false"));
  if (!available)
    adminExec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_ +
              "' AND pid <> pg_backend_pid()");
}

std::string baseDatabaseUrl() {
  const char* url = std::getenv("CAPI_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0')
    FAIL("CAPI_TEST_DATABASE_URL is not set: run the tests through scripts/test");
  return url;
}

std::string withDatabase(const std::string& url, const std::string& dbname) {
  auto slash = url.find('/', url.find("://") + 3);
  auto q = url.find('?', slash == std::string::npos ? 0 : slash);
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  std::string query = q == std::string::npos ? "" : url.substr(q);
  return base + "/" + dbname + query;
}

TestDatabase::TestDatabase(bool migrated) {
  static std::atomic<int> counter{0};
  name_ = "capi_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  adminExec("DROP DATABASE IF EXISTS " + name_);
  if (migrated)
    adminExec("CREATE DATABASE " + name_ + " TEMPLATE " + migratedTemplate());
  else
    adminExec("CREATE DATABASE " + name_);
  url_ = withDatabase(baseDatabaseUrl(), name_);
}

TestDatabase::~TestDatabase() {
  try {
    adminExec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

std::string TestDatabase::scalar(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

void TestDatabase::exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

std::string migrationsDir() { return CAPI_TEST_MIGRATIONS_DIR; }
std::string daemonBinary() { return CAPI_TEST_BINARY; }

}  // namespace capi::testing
