#include "store/outbox_listener.h"

#include "store/sql_util.h"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <optional>

namespace capi::store {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::function<void()>& fn) : notification_receiver(c, "capi_outbound"), fn_(fn) {}
  void operator()(const std::string&, int) override { fn_(); }

 private:
  std::function<void()>& fn_;
};

}  // namespace

OutboxListener::OutboxListener(std::string url, std::function<void()> on_notify)
    : url_(std::move(url)), on_notify_(std::move(on_notify)) {}

OutboxListener::~OutboxListener() { stop(); }

void OutboxListener::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] { run(); });
}

void OutboxListener::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
}

void OutboxListener::run() {
  while (running_) {
    try {
      pqxx::connection c(sql::withNetworkTimeouts(url_));
      Receiver receiver(c, on_notify_);
      // A missed notification costs at most one poll interval; wake once after (re)connecting.
      on_notify_();
      while (running_) c.await_notification(0, 500000);
    } catch (const std::exception& e) {
      spdlog::debug("outbox listener: {}; reconnecting", e.what());
      for (int i = 0; i < 20 && running_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

OutboxAnnouncer::OutboxAnnouncer(std::string url) : url_(std::move(url)) {}

OutboxAnnouncer::~OutboxAnnouncer() { stop(); }

void OutboxAnnouncer::start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void OutboxAnnouncer::stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxAnnouncer::announce() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

void OutboxAnnouncer::run() {
  std::unique_ptr<pqxx::connection> c;
  std::optional<std::chrono::steady_clock::time_point> last_warning;
  std::unique_lock lock(mu_);
  while (running_) {
    cv_.wait(lock, [&] { return pending_ || !running_; });
    if (!running_) break;
    pending_ = false;
    lock.unlock();
    try {
      if (!c || !c->is_open()) c = std::make_unique<pqxx::connection>(sql::withNetworkTimeouts(url_));
      pqxx::nontransaction tx(*c);
      tx.exec("NOTIFY capi_outbound");
    } catch (const std::exception& e) {
      // Other instances still find the rows by polling; say so once a minute, not per webhook.
      const auto t = std::chrono::steady_clock::now();
      if (!last_warning || t - *last_warning >= std::chrono::minutes(1)) {
        spdlog::warn("could not NOTIFY other instances of new outbound rows ({}); they will find them by polling",
                     e.what());
        last_warning = t;
      }
      c.reset();
    }
    lock.lock();
  }
}

}  // namespace capi::store
