#pragma once
// A fixed-size pool of libpqxx connections. One connection serves one thread at a time
// (libpqxx has no internal locking). Connections are opened lazily and dropped when broken,
// so the pool survives a database restart without restarting the daemon.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace capi::store {

// The database cannot be reached (connect failed, connection lost, too many connections).
// Callers facing the network answer 503; background loops back off and retry.
class DatabaseUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The transaction failed for a reason that passes: a deadlock or serialization failure, a
// statement or lock timeout, a lack of resources, a server in recovery or read-only during a
// failover. Nothing was written; running it again later is safe.
class TransientFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Connections are pqxx::connection objects; only pqxx::connection_base is visible here.
struct ConnectionDeleter {
  void operator()(pqxx::connection_base* c) const noexcept;
};
using ConnectionPtr = std::unique_ptr<pqxx::connection_base, ConnectionDeleter>;

class PgPool {
 public:
  // statement_timeout_ms is applied to every connection (0: none).
  PgPool(std::string url, int size, int statement_timeout_ms);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  class Lease {
   public:
    Lease(PgPool* pool, ConnectionPtr conn);
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection_base& conn() { return *conn_; }
    // The connection is unusable (broken_connection seen): close it instead of returning it.
    void discard() { discard_ = true; }

   private:
    PgPool* pool_;
    ConnectionPtr conn_;
    bool discard_ = false;
  };

  // Waits up to `wait` for a free slot. Throws DatabaseUnavailable when none frees up or the
  // connection cannot be opened.
  Lease acquire(std::chrono::milliseconds wait = std::chrono::seconds(5));

  // Runs fn(pqxx::connection_base&) on a leased connection, translating connection loss into
  // DatabaseUnavailable (and discarding the connection). Other exceptions propagate.
  template <typename Fn>
  auto with(Fn&& fn) -> decltype(fn(std::declval<pqxx::connection_base&>()));

  // SELECT 1 on a pooled connection.
  bool ping() noexcept;

  const std::string& url() const { return url_; }

 private:
  friend class Lease;
  void release(ConnectionPtr conn, bool discard);
  ConnectionPtr open();
  [[noreturn]] static void rethrowAsUnavailable(const std::exception& e);
  static bool isConnectionLoss(const std::exception& e);

  std::string url_;
  int size_;
  int statement_timeout_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ConnectionPtr> idle_;
  int in_use_ = 0;
};

template <typename Fn>
auto PgPool::with(Fn&& fn) -> decltype(fn(std::declval<pqxx::connection_base&>())) {
  Lease lease = acquire();
  try {
    return fn(lease.conn());
  } catch (const std::exception& e) {
    if (isConnectionLoss(e)) {
      lease.discard();
      rethrowAsUnavailable(e);
    }
    throw;
  }
}

}  // namespace capi::store
