#pragma once
// LISTEN capi_outbound on a dedicated connection and call on_notify for each NOTIFY, so an
// outbound row committed by any instance is picked up within milliseconds. Notifications sent
// while disconnected are lost; the dispatcher's polling covers that gap.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace capi::store {

class OutboxListener {
 public:
  OutboxListener(std::string url, std::function<void()> on_notify);
  ~OutboxListener();
  void start();
  void stop();

 private:
  void run();
  std::string url_;
  std::function<void()> on_notify_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

// Tells the dispatchers of every instance that sendable rows were committed: one
// NOTIFY capi_outbound from a connection of its own, after the commit, for however many
// announce() calls arrived meanwhile. (A NOTIFY inside each intake transaction holds a
// database-wide lock through that commit's WAL flush, so intake commits could not share a flush.)
// Thread-safe; announce() never blocks. A failed NOTIFY is dropped with a warning (at most one
// a minute): polling covers it, as it covers notifications the listener misses.
class OutboxAnnouncer {
 public:
  explicit OutboxAnnouncer(std::string url);
  ~OutboxAnnouncer();
  void start();
  void stop();
  void announce();

 private:
  void run();
  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace capi::store
