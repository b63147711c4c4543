#pragma once
// Time is injected everywhere a decision depends on it (matching deadlines, backoff, the
// 7-day rule), so tests move a ManualClock instead of sleeping on the wall clock.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace capi {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

// Thread safety: implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to. Starts at the given instant.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : micros_(toMicros(start)) {}
  TimePoint now() const override { return TimePoint(std::chrono::microseconds(micros_.load())); }
  void advance(std::chrono::microseconds d) { micros_ += d.count(); }
  void set(TimePoint t) { micros_ = toMicros(t); }

 private:
  static int64_t toMicros(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  std::atomic<int64_t> micros_;
};

inline int64_t toUnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline TimePoint fromUnixSeconds(int64_t s) { return TimePoint(std::chrono::seconds(s)); }

// The process-wide real clock.
const Clock& systemClock();

}  // namespace capi
