#pragma once
// LISTEN capi_outbound on a dedicated connection and call on_notify for each NOTIFY, so an
// outbound row committed by any instance is picked up within milliseconds. Notifications sent
// while disconnected are lost; the dispatcher's polling covers that gap.
#include <atomic>
#include <functional>
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

}  // namespace capi::store
