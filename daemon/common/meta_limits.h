#pragma once
// Meta's time limits that decide whether an event may still be sent.
#include <chrono>

namespace capi {

// Meta refuses a request when any event_time is more than 7 days old (code 100, subcode 2804003).
inline constexpr std::chrono::seconds kMetaMaxEventAge = std::chrono::hours(24 * 7);
// Events are given up this long before that limit, so a send in flight never crosses it.
inline constexpr std::chrono::seconds kExpiryMargin = std::chrono::minutes(10);

// True when an event of event_time can no longer be sent at `now`.
template <class TimePoint>
constexpr bool tooOldForMeta(TimePoint event_time, TimePoint now) {
  return event_time + kMetaMaxEventAge - kExpiryMargin <= now;
}

}  // namespace capi
