#pragma once
// SQL for the intake path: browser events, provider deliveries, payments and the outbound rows
// they produce. MatchTx is one open transaction; the matching module drives it so that a
// delivery, its payment and its outbound rows commit together (2xx only after that commit).
#include "store/records.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace capi::store {

class PgPool;

class MatchTx {
 public:
  struct Impl;
  explicit MatchTx(Impl& impl) : impl_(impl) {}

  // The oldest deliveries still 'received' (acknowledged, not yet matched), locked, skipping rows
  // another worker holds. With only_id, that delivery alone if it still waits.
  std::vector<ReceivedDelivery> claimReceived(int limit, std::optional<int64_t> only_id = std::nullopt);
  // The stored bodies of `rows` (claimed), in their order; "" for one missing or purged.
  std::vector<std::string> rawBodies(const std::vector<int64_t>& rows);
  // Transaction-scoped advisory locks on keys, taken in sorted order in one statement, so two
  // transactions locking overlapping sets never deadlock on them. Read what they protect in a
  // later statement: this one's snapshot predates them.
  void lockKeys(std::vector<std::string> keys);
  // For the rest of this transaction, prepared statements run their generic plan instead of
  // being planned again for each call's values (PostgreSQL's choice for the lookups below, which
  // cost more to plan than to run). The statements are written so the generic plan uses their
  // indexes.
  void useGenericPlans();
  void setDeliveryOutcome(int64_t delivery_row, const std::string& status, const std::string& reason,
                          std::optional<int64_t> payment_id);

  struct KnownPayment {
    int64_t id = 0;
    std::string payment_key;
    std::vector<std::string> object_ids;
  };
  // The provider's payments known by any of these ids (as payment_key or among object_ids),
  // locked, lowest id first: one statement for a whole batch of deliveries.
  std::vector<KnownPayment> findPayments(const std::string& provider, const std::vector<std::string>& ids);
  struct EventLookup {
    std::optional<ClientEventRecord> event;   // what findClientEvent(refs, browser_event_id) finds
    bool event_id_taken = false;              // event's event_id is already a Purchase's on one of pixels
    bool derived_event_id_taken = false;      // derived_event_id is already a Purchase's on one of pixels
  };
  struct EventQuery {
    std::vector<std::string> refs;
    std::string browser_event_id;
    std::string derived_event_id;
    std::optional<TimePoint> started_at;   // when the payment started (see findClientEvent)
    std::string provider;
  };
  // For each query, findClientEvent and whether the event_ids a new payment might use are
  // taken on one of pixels: one statement for a whole batch. result[i] answers queries[i]; rows
  // this transaction inserts later are not seen (the outbound insert skips a taken one).
  std::vector<EventLookup> lookupEvents(const std::vector<EventQuery>& queries, const std::vector<std::string>& pixels,
                                        TimePoint now);
  struct Queued {
    int created = 0;   // rows inserted: a (pixel, event) or (pixel, payment) that had one is skipped
    int pending = 0;   // of those, rows a dispatcher will send
    bool waits_again = false;   // nothing queued: the payment went back to waiting (Matcher::resolve)
  };
  // n ids for payments this transaction will insert (insertPayments), from payments' sequence in
  // one statement: a batch knows its new payments' ids before they are written, so later
  // deliveries of the batch can name them. Ids left unused are gaps, as a rolled-back insert leaves.
  std::vector<int64_t> reservePaymentIds(int n);
  struct NewPayment {
    PaymentRecord payment;   // id reserved, status final ('waiting' when it waits)
    int64_t delivery_row = 0;
    std::optional<int64_t> client_event_id;
    std::vector<OutboundRecord> rows;   // payment_id is payment.id
  };
  // Inserts new payments in their final state (client_event_id and resolved_at unless waiting),
  // links the deliveries that announced them (status 'accepted') and inserts their outbound
  // rows, in one statement for all of them: a payment resolved on arrival is written once, never
  // updated. result[i] counts payments[i]'s rows; a row whose (pixel, event) another row already
  // has, an earlier one of this call included, is skipped.
  std::vector<Queued> insertPayments(const std::vector<NewPayment>& payments, TimePoint now);
  // Adds references and object ids, and fills order_ref / customer data the earlier webhooks lacked.
  // started_at moves earlier when this webhook's object was created first (unknown stays unknown).
  void mergePayment(int64_t id, const std::vector<std::string>& refs, const std::vector<std::string>& object_ids,
                    const std::string& order_ref, const std::string& browser_event_id,
                    const std::string& user_data_json, std::optional<TimePoint> started_at);

  // The browser event a payment refers to: an explicit browser event id first, then a Purchase,
  // then the latest event carrying any of the references (as event_id or order_ref). Events
  // another payment already took (payments.client_event_id) are skipped: with a customer id as
  // reference, they belong to that customer's earlier orders. So are events Meta would no
  // longer take at `now` (older than 7 days), and, when p.started_at is known, a Purchase whose
  // order_ref another payment has, received more than 10 minutes before p started (an earlier
  // order's that no payment took), unless p names it (browser_event_id).
  std::optional<ClientEventRecord> findClientEvent(const PaymentRecord& p, TimePoint now);

  // Waiting payments whose references include any of refs (locked, skipping locked rows).
  std::vector<PaymentRecord> claimWaitingByRefs(const std::vector<std::string>& refs, int limit);
  // Waiting payments that can be resolved now: past their deadline at `now`, or with a browser
  // event findClientEvent would offer that lends its event_id (and is within Meta's 7 days).
  // Oldest deadline first, locked, skipping locked rows.
  std::vector<PaymentRecord> claimWaiting(int limit, TimePoint now);

  // The pixels that already have an outbound row for this payment.
  std::vector<std::string> pixelsQueuedFor(int64_t payment_id);
  // True when another payment's outbound Purchase to one of these pixels already uses this event_id.
  bool eventIdTakenByOtherPayment(const std::string& event_id, int64_t payment_id,
                                  const std::vector<std::string>& pixels);

  // Undoes a resolution made in this transaction that queued nothing: the payment waits again,
  // linked to no browser event.
  void returnToWaiting(int64_t payment_id);

  // Inserts a stored payment's outbound rows and resolves it (status, client_event_id,
  // resolved_at) in one statement; with no rows, only resolves it.
  Queued queueAndResolve(const std::vector<OutboundRecord>& rows, int64_t payment_id, const std::string& status,
                         std::optional<int64_t> client_event_id, TimePoint now);

 private:
  Impl& impl_;
};

class IngestStore {
 public:
  explicit IngestStore(PgPool& pool) : pool_(pool) {}

  // Inserts deliveries in one statement and one transaction (synchronous commit); result[i] is
  // delivery i's row, or nothing when it was already recorded (or repeats an earlier one in the
  // batch).
  std::vector<std::optional<int64_t>> insertDeliveries(const std::vector<const DeliveryRecord*>& deliveries);
  // Marks a delivery the worker could not process, so the queue moves on; an operator reads why.
  // False when it was no longer waiting (another worker took it meanwhile).
  bool markDeliveryFailed(int64_t id, const std::string& reason);
  struct Backlog {
    int64_t received = 0;                         // deliveries acknowledged, not yet matched
    std::optional<double> oldest_age_seconds;     // of the oldest of them
  };
  Backlog receivedBacklog(TimePoint now);

  // Inserts browser events in one transaction; result[i] is false when event i was a duplicate
  // (same event_name and event_id already stored).
  std::vector<bool> insertClientEvents(const std::vector<ClientEventRecord>& events);

  // Runs fn in one transaction and commits when it returns. Throws DatabaseUnavailable when
  // the database cannot be reached and TransientFailure for any error but one that would
  // repeat with the same data (data exceptions, constraint violations, an error raised by a
  // trigger, SQL the server does not know); the transaction is then rolled back.
  void inTransaction(const std::function<void(MatchTx&)>& fn);

  // What one purge removed. A delivery whose body is cleared and which is then deleted counts in
  // both raw_bodies and deliveries; attempts deleted with their event are not counted.
  struct PurgeCounts {
    int64_t raw_bodies = 0;        // raw webhook bodies cleared (the rows stay)
    int64_t outbound_events = 0;   // with their send attempts
    int64_t stray_attempts = 0;    // attempts whose event was already gone
    int64_t deliveries = 0;
    int64_t payments = 0;
    int64_t browser_events = 0;
    bool interrupted = false;      // stop() said so: the next purge goes on from there
  };
  // Clears raw webhook bodies older than raw_before and deletes finished rows older than
  // rows_before. Works through at most `batch` rows per transaction, and asks stop() (when
  // given) before each: a first purge after months must not hold up a shutdown.
  PurgeCounts purge(TimePoint raw_before, TimePoint rows_before, int batch = 5000,
                    const std::function<bool()>& stop = {});

 private:
  PgPool& pool_;
};

}  // namespace capi::store
