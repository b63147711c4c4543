#include "dispatch/backoff.h"

#include <algorithm>
#include <cmath>

namespace capi::dispatch {

std::chrono::seconds BackoffPolicy::delay(int attempt, double unit) const {
  const double b = static_cast<double>(base.count());
  const double ceiling = std::min(static_cast<double>(cap.count()), b * std::pow(2.0, std::max(0, attempt - 1)));
  const double floor = std::min(ceiling, std::max(1.0, b / 2));
  const double d = floor + (ceiling - floor) * std::clamp(unit, 0.0, 1.0);
  return std::chrono::seconds(static_cast<long long>(std::llround(d)));
}

}  // namespace capi::dispatch
