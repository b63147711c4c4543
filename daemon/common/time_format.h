#pragma once
#include "common/clock.h"

#include <string>

namespace capi {

// "2026-11-27T01:46:50Z" (UTC, whole seconds).
std::string formatIsoUtc(TimePoint t);

}  // namespace capi
