#include "store/pg_pool.h"

#include "store/sql_util.h"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace capi::store {

void ConnectionDeleter::operator()(pqxx::connection_base* c) const noexcept {
  delete static_cast<pqxx::connection*>(c);
}

PgPool::PgPool(std::string url, int size, int statement_timeout_ms)
    : url_(std::move(url)), size_(size), statement_timeout_ms_(statement_timeout_ms) {}

PgPool::~PgPool() = default;

PgPool::Lease::Lease(PgPool* pool, ConnectionPtr conn)
    : pool_(pool), conn_(std::move(conn)) {}

PgPool::Lease::Lease(Lease&& o) noexcept
    : pool_(o.pool_), conn_(std::move(o.conn_)), discard_(o.discard_) {
  o.pool_ = nullptr;
}

PgPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->release(std::move(conn_), discard_);
}

ConnectionPtr PgPool::open() {
  try {
    ConnectionPtr c(new pqxx::connection(sql::withConnectTimeout(url_)));
    if (statement_timeout_ms_ > 0)
      c->set_variable("statement_timeout", std::to_string(statement_timeout_ms_));
    // A crashed client must not pin the MVCC horizon of the queue tables.
    c->set_variable("idle_in_transaction_session_timeout", "60000");
    return c;
  } catch (const std::exception& e) {
    rethrowAsUnavailable(e);
  }
}

PgPool::Lease PgPool::acquire(std::chrono::milliseconds wait) {
  ConnectionPtr conn;
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return !idle_.empty() || in_use_ < size_; }))
      throw DatabaseUnavailable("database pool exhausted: no connection free within " +
                                std::to_string(wait.count()) + " ms");
    ++in_use_;
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!conn || !conn->is_open()) {
    try {
      conn = open();
    } catch (...) {
      std::lock_guard lock(mu_);
      --in_use_;
      cv_.notify_one();
      throw;
    }
  }
  return Lease(this, std::move(conn));
}

void PgPool::release(ConnectionPtr conn, bool discard) {
  std::lock_guard lock(mu_);
  --in_use_;
  if (conn && !discard && conn->is_open()) idle_.push_back(std::move(conn));
  cv_.notify_one();
}

bool PgPool::ping() noexcept {
  try {
    return with([](pqxx::connection_base& c) {
      pqxx::nontransaction tx(c);
      tx.exec("SELECT 1");
      return true;
    });
  } catch (const std::exception&) {
    return false;
  }
}

bool PgPool::isConnectionLoss(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  // The connection broke during COMMIT: the outcome is unknown, and the caller's answer is the
  // same as for any lost connection (503, or retry); redeliveries and leases are idempotent.
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return true;
  if (dynamic_cast<const DatabaseUnavailable*>(&e) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, class 08 connection.
    return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
  }
  return false;
}

void PgPool::rethrowAsUnavailable(const std::exception& e) {
  // libpq messages carry host and user but never the password.
  throw DatabaseUnavailable(std::string("database unavailable: ") + e.what());
}

}  // namespace capi::store
