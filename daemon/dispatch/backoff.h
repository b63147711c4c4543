#pragma once
// Exponential backoff with full jitter: the n-th retry waits a uniformly random time in
// [base/2, min(cap, base * 2^(n-1))], so instances that failed together do not retry together.
#include <chrono>
#include <random>

namespace capi::dispatch {

struct BackoffPolicy {
  std::chrono::seconds base{10};
  std::chrono::seconds cap{6 * 3600};
  // 0: no limit but Meta's 7 days (event_time + 7 days), so an outage of Meta or of the network
  // lasting days loses nothing that Meta would still take.
  int max_attempts = 0;

  // attempt: 1 for the first retry. unit: a random number in [0, 1).
  std::chrono::seconds delay(int attempt, double unit) const;
};

}  // namespace capi::dispatch
