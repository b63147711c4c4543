#include "common/time_format.h"

#include <ctime>

namespace capi {

std::string formatIsoUtc(TimePoint t) {
  const std::time_t tt = static_cast<std::time_t>(toUnixSeconds(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace capi
