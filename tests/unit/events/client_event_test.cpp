#include "capi/client_event.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using capi::EventTimePolicy;
using capi::fromUnixSeconds;
using capi::parseClientEvents;
using capi::RequestOrigin;
using capi::TimePoint;
using capi::toUnixSeconds;

namespace {

constexpr int64_t kNow = 1724250100;

capi::ClientEventBatch parseAt(const std::string& body) {
  return parseClientEvents(body, RequestOrigin{"203.0.113.7", "test"}, fromUnixSeconds(kNow), EventTimePolicy{}, {});
}

std::string purchaseAt(const std::string& event_time) {
  return R"({"event_name": "Purchase", "event_id": "e-1", "event_time": )" + event_time + "}";
}

}  // namespace

TEST_CASE("a browser clock in the future is replaced by the arrival time and the reported time kept",
          "[events][event_time]") {
  const auto batch = parseAt(purchaseAt(std::to_string(kNow + 3600)));
  REQUIRE(batch.problems.empty());
  REQUIRE(batch.events.size() == 1);
  CHECK(batch.events[0].time_adjusted == "future");
  CHECK(toUnixSeconds(batch.events[0].event_time) == kNow);
  REQUIRE(batch.events[0].reported_event_time);
  CHECK(toUnixSeconds(*batch.events[0].reported_event_time) == kNow + 3600);
}

// Found by fuzz/fuzz_client_events: 11-digit seconds (years 2262 to 5138) overflowed the
// nanosecond TimePoint when the reported time was recorded.
TEST_CASE("a reported time beyond what TimePoint holds is kept as its last instant", "[events][event_time]") {
  const int64_t last = std::chrono::duration_cast<std::chrono::seconds>(TimePoint::max().time_since_epoch()).count();
  for (const std::string reported : {"17242500110", "99999999999", "99999999999999"}) {
    INFO(reported);
    const auto batch = parseAt(purchaseAt(reported));
    REQUIRE(batch.problems.empty());
    REQUIRE(batch.events.size() == 1);
    CHECK(batch.events[0].time_adjusted == "future");
    CHECK(toUnixSeconds(batch.events[0].event_time) == kNow);
    REQUIRE(batch.events[0].reported_event_time);
    CHECK(toUnixSeconds(*batch.events[0].reported_event_time) == last);
  }
}
