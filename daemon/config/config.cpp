#include "config/config.h"

#include <algorithm>

namespace capi::config {

bool Config::dryRun() const {
  return std::none_of(pixels.begin(), pixels.end(), [](const PixelConfig& p) { return !p.access_token.empty(); });
}

}  // namespace capi::config
