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

// How the matching worker reads the deliveries it claims.
struct DeliveryReader {
  // Reads a stored body again: the provider's parser, with the settings of the moment.
  std::function<webhooks::ParseResult(const std::string& provider, const std::string& raw_body)> read;
  // What the endpoint read from the delivery when it arrived, if this instance still holds it
  // and read it with the settings of the moment (matching/arrival_readings.h); else null. May be
  // empty.
  std::function<std::shared_ptr<const webhooks::PaymentFacts>(const store::ReceivedDelivery&)> recall;
  // Called with a batch's rows once it has committed; must not throw. May be empty.
  std::function<void(const std::vector<int64_t>& rows)> settled;
};

// What the matching worker made of the deliveries it processed.
struct MatchCounts {
  int accepted = 0;          // a new paid order (outbound rows created now or after the wait)
  int duplicate_order = 0;   // another webhook for an order already known
  int ignored = 0;           // not (or no longer) a paid event
  int failed = 0;            // could not be processed; status 'failed' with the reason
  int split_batches = 0;     // batches that failed and were matched again one delivery at a time
  int read_again = 0;        // deliveries whose stored body was fetched and read (none kept from arrival)
  int total() const { return accepted + duplicate_order + ignored + failed; }
  MatchCounts& operator+=(const MatchCounts& o);
};

class Matcher {
 public:
  // wake is called after a commit that created rows to send (in-process dispatcher wake-up and
  // the NOTIFY for other instances).
  Matcher(store::IngestStore& store, const Clock& clock, MatchingSettings settings, DeliveryReader reader,
          std::function<void()> wake);

  // The matching worker's step: up to `limit` acknowledged deliveries ('received'), oldest
  // first, become payments and outbound rows in one transaction, together with their final
  // status. Concurrent workers (other instances) take other rows. When the batch fails, its
  // deliveries are tried one by one; one that fails alone is marked 'failed' and logged, so a
  // bad delivery never blocks the queue. Throws DatabaseUnavailable (nothing changed; retry).
  MatchCounts matchReceived(int limit = 100);

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
  // batch: the payment is new (id 0): it gets a reserved id and joins the batch's insert
  // (NewPayments::write), linked to delivery_row. The result then counts the rows as if all were
  // created.
  struct NewPayments;
  store::MatchTx::Queued resolve(store::MatchTx& tx, const MatchingSettings& s, store::PaymentRecord& payment,
                                 const store::ClientEventRecord* event, bool matched, TimePoint now,
                                 std::optional<bool> event_id_taken = std::nullopt, NewPayments* batch = nullptr,
                                 int64_t delivery_row = 0);

  // One transaction over up to limit deliveries (or only_id); `claimed` receives their ids.
  MatchCounts matchBatch(int limit, std::optional<int64_t> only_id, std::vector<int64_t>& claimed);
  struct BatchPayments;
  // One delivery inside the batch's transaction. Returns the outbound rows it made sendable.
  // found: the browser event looked up for it with the batch (null: look it up now). The wait
  // for the browser event counts from when the webhook arrived, not from when it is matched.
  int matchDelivery(store::MatchTx& tx, const MatchingSettings& s, const webhooks::PaymentFacts& facts,
                    const store::ReceivedDelivery& delivery, TimePoint now, BatchPayments& known,
                    NewPayments& batch, const store::MatchTx::EventLookup* found, MatchCounts& counts);

  store::IngestStore& store_;
  const Clock& clock_;
  DeliveryReader reader_;
  std::function<void()> wake_;
  mutable std::mutex mu_;
  std::shared_ptr<const MatchingSettings> settings_;
};

}  // namespace capi::matching
