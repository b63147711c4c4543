#pragma once
// POST /v1/events bodies: validation, event_time sanity, hashing of personal data on arrival.
#include "common/clock.h"
#include "capi/normalize/normalizer.h"
#include "store/records.h"

#include <string>
#include <string_view>
#include <vector>

namespace capi {

struct RequestOrigin {
  std::string client_ip;      // already resolved through server.trusted_proxies
  std::string user_agent;
};

struct EventTimePolicy {
  int max_future_skew_seconds = 300;
  int max_past_skew_seconds = 86400;
};

struct FieldProblem {
  int index = 0;              // position in data[] (0 for a single object)
  std::string field;
  std::string problem;
};

struct ClientEventBatch {
  std::vector<store::ClientEventRecord> events;   // empty when problems is not
  std::vector<FieldProblem> problems;             // any problem rejects the whole request
  std::vector<FieldProblem> warnings;             // values dropped or adjusted; events still stored
};

inline constexpr size_t kMaxEventsPerRequest = 1000;

ClientEventBatch parseClientEvents(std::string_view body, const RequestOrigin& origin, TimePoint now,
                                   const EventTimePolicy& policy, const normalize::Options& options);

// Replaces an implausible browser time: milliseconds are converted; a time in the future or too
// far before arrival becomes the arrival time. Returns the reason ("" when kept).
std::string sanitizeEventTime(int64_t reported, TimePoint received, const EventTimePolicy& policy,
                              TimePoint& effective);

}  // namespace capi
