#pragma once
// SQL for the outbox (outbound_events), its attempt log (send_attempts) and paused pixels.
// Claims are leases: a row claimed by an instance that dies is claimable again once
// lease_expires_at passes, and FOR UPDATE SKIP LOCKED keeps two instances off the same row.
#include "store/records.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace capi::store {

class PgPool;

struct ClaimedEvent {
  int64_t id = 0;
  std::string pixel_id;
  std::string event_id;
  std::string payload_json;
  int attempts = 0;
  TimePoint event_time{};
};

// The new state of one claimed row after a send (or a decision not to send).
struct EventOutcome {
  int64_t id = 0;
  std::string status;              // sent, retrying, dead; "" = release the claim unchanged
  bool count_attempt = true;
  TimePoint next_attempt_at{};
  std::string last_error;
  std::optional<int> http_status;
  std::string fbtrace_id;
  bool test_event_code = false;
};

struct AttemptRecord {
  int64_t outbound_event_id = 0;
  TimePoint attempted_at{};
  std::optional<int> http_status;
  int graph_code = 0;
  int graph_subcode = 0;
  std::string error_class;
  std::string message;
  std::string fbtrace_id;
  int latency_ms = 0;
  int batch_size = 0;
};

struct PixelPause {
  std::string pixel_id;
  std::string reason;
  TimePoint paused_at{};
  TimePoint next_probe_at{};
};

struct QueueStats {
  std::map<std::string, int64_t> by_status;     // status -> rows
  std::optional<double> oldest_pending_age_seconds;
};

class OutboundStore {
 public:
  explicit OutboundStore(PgPool& pool) : pool_(pool) {}

  // Claims up to limit due rows (pending/retrying, next_attempt_at <= now, not leased, pixel not
  // paused unless its probe is due), oldest first.
  std::vector<ClaimedEvent> claim(const std::string& owner, TimePoint now, std::chrono::seconds lease, int limit);

  // Extends owner's lease on these rows to `until`; returns the ids it still held.
  std::vector<int64_t> renewLease(const std::string& owner, const std::vector<int64_t>& ids, TimePoint until);

  // Applies outcomes and appends attempts in one transaction; clears the leases of owner.
  void complete(const std::string& owner, const std::vector<EventOutcome>& outcomes,
                const std::vector<AttemptRecord>& attempts, TimePoint now);

  void pausePixel(const std::string& pixel_id, const std::string& reason, TimePoint now, TimePoint next_probe);
  void resumePixel(const std::string& pixel_id);
  std::vector<PixelPause> pausedPixels();
  // Makes every paused pixel due for a probe now (after a configuration reload).
  void probePausedNow(TimePoint now);
  // Makes due now the unsent events of these pixels whose last_error starts with
  // error_prefix (events that waited for an access token, once a reload brings one).
  void makeDueNow(const std::vector<std::string>& pixel_ids, const std::string& error_prefix, TimePoint now);

  QueueStats stats(TimePoint now);

  // Operator commands.
  std::vector<OutboundRecord> list(const std::string& status, int limit);
  std::optional<OutboundRecord> find(int64_t id);
  std::vector<AttemptRecord> attempts(int64_t id);
  // dead/retrying/dry_run -> pending, attempts reset, due now. Returns rows changed.
  int64_t requeue(int64_t id, TimePoint now);
  int64_t requeueAllDead(TimePoint now);

 private:
  PgPool& pool_;
};

}  // namespace capi::store
