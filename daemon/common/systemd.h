#pragma once
// sd_notify(3) wrappers; every call is a no-op outside systemd (no NOTIFY_SOCKET).
#include <chrono>
#include <string>

namespace capi::systemd {

void notifyReady();
void notifyReloading();
void notifyStopping();
void notifyWatchdog();
void notifyStatus(const std::string& status);
// Half the WatchdogSec interval when the watchdog is enabled for this process, else zero.
std::chrono::microseconds watchdogPingInterval();

}  // namespace capi::systemd
