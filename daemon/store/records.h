#pragma once
// Rows as the rest of the daemon sees them: plain values, JSON as serialized text.
#include "common/clock.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace capi::store {

struct ClientEventRecord {
  int64_t id = 0;
  std::string event_id;
  std::string event_name;
  TimePoint event_time{};
  std::optional<TimePoint> reported_event_time;   // set when event_time was replaced
  std::string time_adjusted;                      // "", "future", "too_old", "milliseconds"
  std::string order_ref;
  std::string event_source_url;
  std::string fbp, fbc, client_ip_address, client_user_agent;
  std::string user_data_json = "{}";              // hashed fields only
  std::string custom_data_json = "{}";
  std::string anomalies_json = "[]";
  TimePoint received_at{};
};

// A provider webhook as the endpoint stores it, before any matching.
struct DeliveryRecord {
  std::string provider;
  std::string delivery_id;
  std::string event_type;
  std::string order_ref;
  std::string status;          // "received" (the worker matches it) or "ignored"
  std::string status_reason;
  bool livemode = true;
  std::string raw_body;        // JSON, as signed by the provider
  TimePoint received_at{};
};

// A stored delivery waiting for the matching worker (its body is fetched apart: MatchTx::rawBodies).
struct ReceivedDelivery {
  int64_t id = 0;
  std::string provider;
  std::string delivery_id;
  TimePoint received_at{};
};

struct PaymentRecord {
  int64_t id = 0;
  std::string provider;
  std::string payment_key;
  std::string order_ref;
  std::vector<std::string> refs;
  std::vector<std::string> object_ids;
  std::string browser_event_id;
  std::optional<int64_t> amount_minor;
  std::string currency;
  TimePoint paid_at{};
  std::string user_data_json = "{}";
  std::string anomalies_json = "[]";
  std::string status = "waiting";
  TimePoint match_deadline{};
  TimePoint created_at{};
  std::optional<TimePoint> started_at;   // when the customer started to pay (payments.started_at)
};

struct OutboundRecord {
  int64_t id = 0;
  std::string pixel_id;
  std::string event_name;
  std::string event_id;
  TimePoint event_time{};
  std::string order_ref;
  std::optional<int64_t> payment_id;
  bool matched = false;
  std::string payload_json;
  std::string status;          // pending, sent, retrying, dead, dry_run
  int attempts = 0;
  TimePoint next_attempt_at{};
  std::string last_error;
  std::optional<int> last_http_status;
  std::string fbtrace_id;
  bool test_event_code = false;
  TimePoint created_at{};
  std::optional<TimePoint> sent_at;
};

}  // namespace capi::store
