#pragma once
// Read-only queries behind `audit` and `events show`: the figures for each of the five
// deduplication failures (SPEC §6) and everything known about one event or order.
#include "store/records.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace capi::store {

class PgPool;

struct AuditFigures {
  // 1. event_id origin, over outbound Purchases created in the window (one per pixel).
  int64_t purchases = 0;
  int64_t matched = 0;
  int64_t unmatched = 0;
  int64_t matched_other_name = 0;   // matched to a browser event whose event_name is not Purchase
  // 2. browser time -> webhook arrival, over matched payments.
  std::optional<double> delay_p50, delay_p95, delay_max;   // seconds
  int64_t browser_events = 0;
  int64_t payments = 0;
  std::map<std::string, int64_t> time_replaced;            // reason -> browser events
  // 3. events sent with a test event code.
  int64_t test_code_events = 0;
  // 4. hashing anomalies ("field:kind" -> values), browser events and payments together.
  std::map<std::string, int64_t> anomalies;
  // 5. sending.
  int64_t attempts = 0;
  int64_t failed_attempts = 0;
  std::map<std::string, int64_t> failures_by_class;
  std::map<std::string, int64_t> dead_by_reason;           // expired, invalid, max_attempts, other
  std::optional<double> oldest_pending_age;                // seconds
  int64_t paused_pixels = 0;
};

AuditFigures collectAudit(PgPool& pool, TimePoint since, TimePoint now);

struct DeliveryRow {
  int64_t payment_id = 0;
  std::string provider, delivery_id, event_type, status, status_reason;
  TimePoint received_at{};
};

struct EventTrace {
  std::vector<ClientEventRecord> browser;     // browser events with this event_id or order_ref
  std::vector<OutboundRecord> server;         // outbound events with this event_id or order_ref
  std::vector<PaymentRecord> payments;        // payments naming it
  std::vector<DeliveryRow> deliveries;        // webhooks of those payments
};

// key: an event_id or an order reference.
EventTrace findTrace(PgPool& pool, const std::string& key);

}  // namespace capi::store
