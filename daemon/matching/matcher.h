#pragma once
// Payment -> browser event. Each paid order becomes exactly one outbound Purchase per pixel,
// carrying the browser's event_id and event_time when the browser event is known, and after
// matching.wait_seconds a derived event_id (or nothing, with matching.unmatched = drop).
#include "capi/client_event.h"
#include "capi/normalize/normalizer.h"
#include "common/clock.h"
#include "common/meta_limits.h"
#include "store/ingest_store.h"
#include "webhooks/payment.h"

#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace capi::matching {

struct PixelTarget {
  std::string pixel_id;
  bool has_token = false;    // false: rows end dry_run
};

struct MatchingSettings {
  int wait_seconds = 600;
  bool drop_unmatched = false;
  std::vector<PixelTarget> pixels;
  std::string fallback_event_source_url;
  normalize::Options normalize;
};

enum class DeliveryOutcome {
  Accepted,         // a new paid order (outbound rows created now or after matching)
  DuplicateOrder,   // another webhook for an order already known
  Duplicate,        // this delivery id was already recorded
  Ignored,          // not a paid event; recorded for the operator
};
const char* toString(DeliveryOutcome o);

struct DeliveryResult {
  DeliveryOutcome outcome = DeliveryOutcome::Accepted;
  std::string detail;
  int outbound_created = 0;
};

class Matcher {
 public:
  // wake is called after a commit that created rows to send (in-process dispatcher wake-up and
  // the NOTIFY for other instances).
  Matcher(store::IngestStore& store, const Clock& clock, MatchingSettings settings, std::function<void()> wake);

  // One transaction: delivery row, payment, match, outbound rows. Throws DatabaseUnavailable.
  DeliveryResult acceptPayment(const webhooks::PaymentFacts& facts, std::string_view raw_body);

  // After browser events were stored: resolve waiting payments that name them. Returns the number
  // of payments resolved. Throws DatabaseUnavailable.
  int onBrowserEvents(const std::vector<store::ClientEventRecord>& events);

  // Matches waiting payments whose browser event arrived, and resolves those past their deadline.
  int sweep(int limit = 500);

  void updateSettings(MatchingSettings settings);

 private:
  std::shared_ptr<const MatchingSettings> settings() const;
  // event: the browser event found for the payment, or null. matched: its event_id and
  // event_time are used (else the derived id and the payment's time, with the event's
  // identifiers such as fbp/fbc still used when it exists).
  store::MatchTx::Queued resolve(store::MatchTx& tx, const MatchingSettings& s, const store::PaymentRecord& payment,
              const store::ClientEventRecord* event, bool matched, TimePoint now,
              std::optional<bool> event_id_taken = std::nullopt);

  store::IngestStore& store_;
  const Clock& clock_;
  std::function<void()> wake_;
  mutable std::mutex mu_;
  std::shared_ptr<const MatchingSettings> settings_;
};

}  // namespace capi::matching
