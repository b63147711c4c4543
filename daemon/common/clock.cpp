#include "common/clock.h"

namespace capi {

const Clock& systemClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace capi
