#include "matching/matcher.h"

#include "capi/purchase_event.h"
#include "capi/user_data.h"
#include "store/ingest_store.h"
#include "store/pg_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace capi::matching {

MatchCounts& MatchCounts::operator+=(const MatchCounts& o) {
  accepted += o.accepted;
  duplicate_order += o.duplicate_order;
  ignored += o.ignored;
  failed += o.failed;
  split_batches += o.split_batches;
  read_again += o.read_again;
  return *this;
}

Matcher::Matcher(store::IngestStore& store, const Clock& clock, MatchingSettings settings, DeliveryReader reader,
                 std::function<void()> wake)
    : store_(store), clock_(clock), reader_(std::move(reader)), wake_(std::move(wake)),
      settings_(std::make_shared<const MatchingSettings>(std::move(settings))) {}

void Matcher::updateSettings(MatchingSettings settings) {
  std::lock_guard lock(mu_);
  settings_ = std::make_shared<const MatchingSettings>(std::move(settings));
}

std::shared_ptr<const MatchingSettings> Matcher::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

namespace {

UserData hashCustomer(const webhooks::CustomerData& c, const normalize::Options& base) {
  normalize::Options opts = base;
  opts.country_hint = c.country;
  UserData u;
  auto add = [&](const char* key, const std::string& v) {
    if (!v.empty()) u.add(key, v, opts);
  };
  add("em", c.email);
  add("ph", c.phone);
  add("fn", c.first_name);
  add("ln", c.last_name);
  add("ct", c.city);
  add("st", c.state);
  add("zp", c.zip);
  add("country", c.country);
  return u;
}

}  // namespace

// Meta deduplicates only events with the same event_name: a browser Purchase, or the event the
// payment names explicitly (metadata.capi_event_id), lends its event_id. Any other browser event
// (InitiateCheckout, ...) is not settled on at once: the pixel's Purchase may still arrive.
namespace {
std::vector<std::string> pixelIds(const MatchingSettings& s) {
  std::vector<std::string> ids;
  for (const auto& pixel : s.pixels) ids.push_back(pixel.pixel_id);
  return ids;
}

// An event past Meta's 7 days lends nothing either: Meta would refuse the Purchase, and its 48
// hours of deduplication are long over. (The lookups leave such events out already; this
// holds for an event that crossed the limit since.)
bool lendsEventId(const store::ClientEventRecord& e, const store::PaymentRecord& p, TimePoint now) {
  return (e.event_name == "Purchase" || (!p.browser_event_id.empty() && e.event_id == p.browser_event_id)) &&
         !tooOldForMeta(e.event_time, now);
}
}  // namespace

namespace {

// A resolution's outbound rows: one per configured pixel (only those in `only`, when given).
std::vector<store::OutboundRecord> purchaseRows(const MatchingSettings& s, const store::PaymentRecord& payment,
                                                const PurchaseInputs& in, bool matched, TimePoint now,
                                                const std::vector<std::string>& only = {}) {
  std::string payload;
  std::string error;
  try {
    payload = buildPurchasePayload(in);
  } catch (const std::exception& e) {
    error = std::string("invalid: ") + e.what();
    payload = "{}";
  }
  const bool expired = tooOldForMeta(in.event_time, now);
  if (expired && error.empty())
    error = "expired: event_time is more than 7 days old, Meta would reject it (code 100, subcode 2804003)";
  std::vector<store::OutboundRecord> rows;
  for (const auto& pixel : s.pixels) {
    if (!only.empty() && std::find(only.begin(), only.end(), pixel.pixel_id) == only.end()) continue;
    store::OutboundRecord o;
    o.pixel_id = pixel.pixel_id;
    o.event_name = "Purchase";
    o.event_id = in.event_id;
    o.event_time = in.event_time;
    o.order_ref = payment.order_ref;
    o.payment_id = payment.id;
    o.matched = matched;
    o.payload_json = payload;
    o.status = !error.empty() ? "dead" : pixel.has_token ? "pending" : "dry_run";
    o.last_error = error;
    o.next_attempt_at = now;
    o.created_at = now;
    rows.push_back(std::move(o));
  }
  return rows;
}

// The payment's own id as event_id, with its own time: its order's reference or browser event
// is another payment's.
void useOwnId(const store::PaymentRecord& payment, PurchaseInputs& in, bool& matched) {
  in.event_id = payment.payment_key;
  in.event_time = payment.paid_at;
  matched = false;
}

// What settleSkipped did.
struct Settled {
  store::MatchTx::Queued queued;
  enum { AsPlanned, OwnId, WaitsAgain } how = AsPlanned;
};

// After a resolution's rows were inserted: the pixels whose row was skipped get one under the
// payment's own id, or a matched payment that queued nothing goes back to waiting.
Settled settleSkipped(store::MatchTx& tx, const MatchingSettings& s, const store::PaymentRecord& payment,
                                     PurchaseInputs in, bool matched, std::optional<int64_t> event_row,
                                     const std::vector<store::OutboundRecord>& rows, store::MatchTx::Queued queued,
                                     TimePoint now) {
  if (queued.created >= static_cast<int>(rows.size()) || in.event_id == payment.payment_key) return {queued};
  // A payment whose order takes other locks claimed the same event_id between the check before
  // and the insert (the insert waited for it and then skipped the row), or a payment before it
  // in the same batch did. The pixels left without a row for this payment get it under the
  // payment's own id, or the order is lost.
  const auto have = tx.pixelsQueuedFor(payment.id);
  std::vector<std::string> missing;
  for (const auto& r : rows)
    if (std::find(have.begin(), have.end(), r.pixel_id) == have.end()) missing.push_back(r.pixel_id);
  if (!missing.empty() && matched && have.empty() && payment.match_deadline > now) {
    // Another order of the same references (a customer id) took this browser event in a
    // concurrent transaction: this one goes back to waiting for its own, as if it had seen that.
    tx.returnToWaiting(payment.id);
    spdlog::info("browser event {} was taken by another payment meanwhile; payment {} waits for its own",
                 in.event_id, payment.payment_key);
    store::MatchTx::Queued none;
    none.waits_again = true;
    return {none, Settled::WaitsAgain};
  }
  if (!missing.empty()) {
    spdlog::warn("event_id {} was taken by another payment meanwhile; payment {} uses its own id", in.event_id,
                 payment.payment_key);
    useOwnId(payment, in, matched);
    const auto again = tx.queueAndResolve(purchaseRows(s, payment, in, false, now, missing), payment.id, "unmatched",
                                          event_row, now);
    queued.created += again.created;
    queued.pending += again.pending;
    return {queued, Settled::OwnId};
  }
  return {queued};
}

}  // namespace

// The new payments of one batch. Their ids are reserved from the sequence when the first one is
// needed, so later deliveries of the batch can refer to them at once; the payments, the
// deliveries' links and the outbound rows are written for all of them in one statement
// (MatchTx::insertPayments), at the end of the batch or before a statement that must see them.
// One statement per batch instead of one per order: round 9 of bench/RESULTS.md.
struct Matcher::NewPayments {
  struct Resolution {   // what settleSkipped needs once the rows are written
    PurchaseInputs in;
    bool matched = false;
    std::optional<int64_t> event_row;
    std::string accepted;   // the delivery's log line, written once the outcome is known (if logged)
    std::string detail;
  };
  std::vector<store::MatchTx::NewPayment> rows;
  std::vector<Resolution> resolutions;
  std::vector<int64_t> free_ids;   // reserved, not used yet (highest first)
  int reserve = 1;                 // how many to reserve at once: the batch's deliveries

  int64_t takeId(store::MatchTx& tx) {
    if (free_ids.empty()) {
      free_ids = tx.reservePaymentIds(std::max(reserve, 1));
      std::reverse(free_ids.begin(), free_ids.end());
    }
    const int64_t id = free_ids.back();
    free_ids.pop_back();
    return id;
  }
  // Writes the payments so far in one statement; returns the outbound rows made sendable.
  int write(store::MatchTx& tx, const MatchingSettings& s, TimePoint now);
};

store::MatchTx::Queued Matcher::resolve(store::MatchTx& tx, const MatchingSettings& s, store::PaymentRecord& payment,
                                        const store::ClientEventRecord* event, bool matched, TimePoint now,
                                        std::optional<bool> event_id_taken, NewPayments* batch,
                                        int64_t delivery_row) {
  const bool deferred = batch != nullptr && payment.id == 0;
  if (deferred) payment.id = batch->takeId(tx);
  const std::optional<int64_t> event_row = event != nullptr ? std::optional<int64_t>(event->id) : std::nullopt;
  // Records the resolution with these rows: a new payment joins the batch's insert (counted as
  // if every row were created; settleSkipped looks again once they are written), a stored one is
  // updated.
  auto queue = [&](const std::vector<store::OutboundRecord>& rows, const std::string& status,
                   std::optional<int64_t> client_event_id, const PurchaseInputs& in, bool is_matched) {
    if (deferred) {
      store::MatchTx::NewPayment n;
      n.payment = payment;
      n.payment.status = status;
      n.delivery_row = delivery_row;
      n.client_event_id = client_event_id;
      n.rows = rows;
      batch->rows.push_back(std::move(n));
      batch->resolutions.push_back({in, is_matched, client_event_id, {}, {}});
      store::MatchTx::Queued q;
      q.created = static_cast<int>(rows.size());
      q.pending = static_cast<int>(std::count_if(rows.begin(), rows.end(), [](const auto& o) { return o.status == "pending"; }));
      return q;
    }
    return tx.queueAndResolve(rows, payment.id, status, client_event_id, now);
  };
  PurchaseInputs in;
  if (!matched && s.drop_unmatched) {
    queue({}, "dropped", std::nullopt, in, false);
    spdlog::warn("payment {} {} had no browser event within {} s: dropped (matching.unmatched = drop)",
                 payment.provider, payment.payment_key, s.wait_seconds);
    return {};
  }
  in.payment_user_data_json = payment.user_data_json;
  in.amount_minor = payment.amount_minor;
  in.currency = payment.currency;
  in.order_id = payment.order_ref.empty() ? payment.payment_key : payment.order_ref;
  in.event_id = derivedEventId(payment.order_ref, payment.payment_key);
  in.event_time = payment.paid_at;
  if (event != nullptr) {
    if (matched) {
      in.event_id = event->event_id;
      in.event_time = event->event_time;
    }
    in.event_source_url = event->event_source_url;
    in.fbp = event->fbp;
    in.fbc = event->fbc;
    in.client_ip_address = event->client_ip_address;
    in.client_user_agent = event->client_user_agent;
    in.browser_user_data_json = event->user_data_json;
    in.browser_custom_data_json = event->custom_data_json;
  }
  if (in.event_source_url.empty()) in.event_source_url = s.fallback_event_source_url;
  // An order reference shared by several payments (a client_reference_id that is really a
  // customer id) must not merge distinct orders into one event_id: Meta would drop all but one.
  if (!event_id_taken) event_id_taken = tx.eventIdTakenByOtherPayment(in.event_id, payment.id, pixelIds(s));
  if (*event_id_taken) {
    spdlog::warn("event_id {} is already used by another payment; payment {} uses its own id", in.event_id,
                 payment.payment_key);
    useOwnId(payment, in, matched);
  }
  auto rows = purchaseRows(s, payment, in, matched, now);
  auto queued = queue(rows, matched ? "matched" : "unmatched", event_row, in, matched);
  if (deferred) return queued;
  return settleSkipped(tx, s, payment, in, matched, event_row, rows, queued, now).queued;
}

int Matcher::NewPayments::write(store::MatchTx& tx, const MatchingSettings& s, TimePoint now) {
  if (rows.empty()) return 0;
  const auto queued = tx.insertPayments(rows, now);
  auto written = std::move(rows);
  auto settled = std::move(resolutions);
  rows.clear();
  resolutions.clear();
  int pending = 0;
  for (size_t i = 0; i < written.size(); ++i) {
    const auto& r = settled[i];
    const auto done =
        settleSkipped(tx, s, written[i].payment, r.in, r.matched, r.event_row, written[i].rows, queued[i], now);
    pending += done.queued.pending;
    if (r.accepted.empty()) continue;
    if (done.how == Settled::AsPlanned)
      spdlog::info("{} ({})", r.accepted, r.detail);
    else
      spdlog::info("{} (event_id {} taken meanwhile: {})", r.accepted, r.in.event_id,
                   done.how == Settled::WaitsAgain ? "waiting for its own browser event" : "sent under its own id");
  }
  return pending;
}

namespace {
// When the customer started to pay, if the provider says; never after the webhook's arrival
// (a provider clock ahead of ours would leave out the order's own Purchase).
std::optional<TimePoint> startedAt(const webhooks::PaymentFacts& facts, TimePoint arrived) {
  if (facts.started_at.time_since_epoch().count() == 0) return std::nullopt;
  return std::min(facts.started_at, arrived);
}

// The provider objects a paid webhook names; webhooks sharing any of them are one order.
std::vector<std::string> objectIds(const webhooks::PaymentFacts& facts) {
  std::vector<std::string> ids = facts.object_ids;
  if (std::find(ids.begin(), ids.end(), facts.payment_key) == ids.end()) ids.push_back(facts.payment_key);
  return ids;
}
}  // namespace

// The payments of a batch's orders, by provider and id (payment key or object id): those stored
// before (found and locked in one statement), and those the batch creates, so that a second
// webhook for an order in the same batch finds the first one's payment.
struct Matcher::BatchPayments {
  std::map<std::pair<std::string, std::string>, int64_t> by_id;
  std::map<int64_t, std::string> key_of;
  // Browser events (client_events.id) a payment of this batch has taken: the batch's lookup ran
  // before, so another new payment may have found the same one.
  std::set<int64_t> events_taken;

  void add(const std::string& provider, int64_t id, const std::string& key, const std::vector<std::string>& ids) {
    key_of.emplace(id, key);
    by_id.emplace(std::make_pair(provider, key), id);
    for (const auto& i : ids) by_id.emplace(std::make_pair(provider, i), id);
  }
  // The lowest payment id known by any of ids.
  std::optional<int64_t> find(const std::string& provider, const std::vector<std::string>& ids) const {
    std::optional<int64_t> best;
    for (const auto& i : ids) {
      const auto it = by_id.find({provider, i});
      if (it != by_id.end() && (!best || it->second < *best)) best = it->second;
    }
    return best;
  }
};

MatchCounts Matcher::matchReceived(int limit) {
  std::vector<int64_t> claimed;
  for (int attempt = 1;; ++attempt) {
    try {
      return matchBatch(limit, std::nullopt, claimed);
    } catch (const store::DatabaseUnavailable&) {
      throw;
    } catch (const store::TransientFailure& e) {
      // A deadlock with the sweep or another instance, a timeout...: nothing was written, and
      // running the batch again normally settles it.
      if (attempt < 3) continue;
      spdlog::warn("matching a batch of deliveries failed {} times ({}); matching them one at a time", attempt,
                   e.what());
    } catch (const std::exception& e) {
      if (claimed.empty()) throw;
      spdlog::warn("matching a batch of {} deliveries failed ({}); matching them one at a time", claimed.size(),
                   e.what());
    }
    break;
  }
  MatchCounts total;
  total.split_batches = 1;
  for (const int64_t id : claimed) {
    std::vector<int64_t> one;
    try {
      total += matchBatch(1, id, one);
    } catch (const store::DatabaseUnavailable&) {
      throw;
    } catch (const store::TransientFailure& e) {
      // Left 'received': the next round takes it again. Only an error that would repeat with
      // the same data marks an acknowledged webhook failed.
      spdlog::warn("webhook delivery {} not matched this time, retrying: {}", id, e.what());
    } catch (const std::exception& e) {
      if (store_.markDeliveryFailed(id, std::string("matching failed: ") + e.what())) {
        spdlog::error("webhook delivery {} cannot be matched and is marked failed: {}", id, e.what());
        ++total.failed;
      }
    }
  }
  return total;
}

MatchCounts Matcher::matchBatch(int limit, std::optional<int64_t> only_id, std::vector<int64_t>& claimed) {
  auto s = settings();
  const TimePoint now = clock_.now();
  MatchCounts counts;
  int pending = 0;
  store_.inTransaction([&](store::MatchTx& tx) {
    counts = {};
    pending = 0;
    claimed.clear();
    tx.useGenericPlans();
    const auto deliveries = tx.claimReceived(limit, only_id);
    // What the endpoint read on arrival when this instance still holds it; the other bodies are
    // fetched (one statement) and read again.
    std::vector<webhooks::ParseResult> parsed(deliveries.size());
    std::vector<int64_t> unread_rows;
    std::vector<std::size_t> unread;
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
      claimed.push_back(deliveries[i].id);
      const auto held = reader_.recall ? reader_.recall(deliveries[i]) : nullptr;
      if (held) {
        parsed[i].status = webhooks::ParseStatus::Ok;
        parsed[i].facts = *held;
      } else {
        unread.push_back(i);
        unread_rows.push_back(deliveries[i].id);
      }
    }
    counts.read_again = static_cast<int>(unread.size());
    if (!unread.empty()) {
      const auto bodies = tx.rawBodies(unread_rows);
      if (bodies.size() != unread.size()) throw std::logic_error("stored bodies do not match the deliveries claimed");
      for (std::size_t k = 0; k < unread.size(); ++k)
        parsed[unread[k]] = reader_.read(deliveries[unread[k]].provider, bodies[k]);
    }
    std::vector<std::string> locks;
    for (const auto& r : parsed)
      if (r.status == webhooks::ParseStatus::Ok && r.facts.paid)
        for (const auto& id : objectIds(r.facts)) locks.push_back(r.facts.provider + ":" + id);
    // Webhooks for one order (checkout.session.completed and payment_intent.succeeded arrive
    // together) may be in two workers' batches: they serialize on these locks.
    tx.lockKeys(locks);
    BatchPayments known;
    std::map<std::string, std::vector<std::string>> ids_by_provider;
    for (const auto& r : parsed)
      if (r.status == webhooks::ParseStatus::Ok && r.facts.paid)
        for (const auto& id : objectIds(r.facts)) ids_by_provider[r.facts.provider].push_back(id);
    for (const auto& [provider, ids] : ids_by_provider)
      for (const auto& p : tx.findPayments(provider, ids)) known.add(provider, p.id, p.payment_key, p.object_ids);
    // The browser events of the orders that are new, in one statement too.
    std::vector<store::MatchTx::EventQuery> queries;
    std::vector<int> query_of(deliveries.size(), -1);
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
      const auto& f = parsed[i].facts;
      if (parsed[i].status != webhooks::ParseStatus::Ok || !f.paid || known.find(f.provider, objectIds(f))) continue;
      query_of[i] = static_cast<int>(queries.size());
      const auto started = startedAt(f, std::min(deliveries[i].received_at, now));
      queries.push_back({f.refs, f.browser_event_id, derivedEventId(f.order_ref, f.payment_key), started, f.provider});
    }
    const auto events = tx.lookupEvents(queries, pixelIds(*s), now);
    NewPayments batch;
    batch.reserve = static_cast<int>(queries.size());
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
      const auto& d = deliveries[i];
      if (parsed[i].status != webhooks::ParseStatus::Ok) {
        // It was read when it arrived, so this is a changed parser or a damaged row.
        tx.setDeliveryOutcome(d.id, "failed", "cannot be read again: " + parsed[i].error, std::nullopt);
        spdlog::error("{} delivery {} cannot be read again and is marked failed: {}", d.provider, d.delivery_id,
                      parsed[i].error);
        ++counts.failed;
        continue;
      }
      pending += matchDelivery(tx, *s, parsed[i].facts, d, now, known, batch,
                               query_of[i] >= 0 ? &events[static_cast<size_t>(query_of[i])] : nullptr, counts);
    }
    pending += batch.write(tx, *s, now);
  });
  if (pending > 0 && wake_) wake_();
  if (reader_.settled) reader_.settled(claimed);
  return counts;
}

int Matcher::matchDelivery(store::MatchTx& tx, const MatchingSettings& s, const webhooks::PaymentFacts& facts,
                           const store::ReceivedDelivery& delivery, TimePoint now, BatchPayments& known,
                           NewPayments& batch, const store::MatchTx::EventLookup* found, MatchCounts& counts) {
  const int64_t row = delivery.id;
  const TimePoint arrived = std::min(delivery.received_at, now);
  if (!facts.paid) {
    // Paid when it arrived, but the paid event types have changed since.
    tx.setDeliveryOutcome(row, "ignored", facts.ignore_reason, std::nullopt);
    ++counts.ignored;
    return 0;
  }
  const auto ids = objectIds(facts);
  UserData customer = hashCustomer(facts.customer, s.normalize);
  if (const auto existing = known.find(facts.provider, ids)) {
    const std::string& key = known.key_of.at(*existing);
    // A payment of this batch is written first, so the merge finds it.
    const bool unwritten = std::any_of(batch.rows.begin(), batch.rows.end(),
                                       [&](const auto& n) { return n.payment.id == *existing; });
    const int pending = unwritten ? batch.write(tx, s, now) : 0;
    tx.mergePayment(*existing, facts.refs, ids, facts.order_ref, facts.browser_event_id, customer.toJson(),
                    startedAt(facts, arrived));
    tx.setDeliveryOutcome(row, "duplicate_order", "order already known as payment " + key, *existing);
    known.add(facts.provider, *existing, key, ids);
    spdlog::info("{} {} {}: duplicate_order (payment {} already recorded)", facts.provider, facts.event_type,
                 facts.delivery_id, key);
    ++counts.duplicate_order;
    return pending;
  }
  store::PaymentRecord p;
  p.provider = facts.provider;
  p.payment_key = facts.payment_key;
  p.order_ref = facts.order_ref;
  p.refs = facts.refs;
  p.object_ids = ids;
  p.browser_event_id = facts.browser_event_id;
  p.amount_minor = facts.amount_minor;
  p.currency = facts.currency;
  // Never after the arrival: a provider clock ahead of ours must not make a future event_time,
  // which Meta refuses.
  p.paid_at = facts.paid_at.time_since_epoch().count() != 0 ? std::min(facts.paid_at, arrived) : arrived;
  p.user_data_json = customer.toJson();
  p.anomalies_json = customer.anomaliesJson();
  p.status = "waiting";
  p.match_deadline = arrived + std::chrono::seconds(s.wait_seconds);
  p.created_at = now;
  p.started_at = startedAt(facts, arrived);
  // A payment sharing its derived id with another new payment of this batch finds the id free
  // here; the batch's insert then skips the row and settleSkipped falls back to the payment's own
  // id, as for a concurrent transaction.
  store::MatchTx::EventLookup lookup;
  int pending = 0;
  if (found == nullptr || (found->event && known.events_taken.count(found->event->id) > 0)) {
    // Looked up again, this transaction's own links now visible (the batch's payments so far are
    // written first): an earlier payment of the batch took the event found (a customer id as
    // reference), so this one looks for its own.
    pending += batch.write(tx, s, now);
    lookup = tx.lookupEvents(
        {{p.refs, p.browser_event_id, derivedEventId(p.order_ref, p.payment_key), p.started_at, p.provider}},
                             pixelIds(s), now)
                 .at(0);
    found = &lookup;
  }
  ++counts.accepted;
  const auto& event = found->event;
  std::string detail;
  bool waits = false;
  // The payment joins the batch's insert; a row skipped there is settled when it is written, and
  // NewPayments::write logs the outcome.
  if (event && lendsEventId(*event, p, now)) {
    resolve(tx, s, p, &*event, true, now, found->event_id_taken, &batch, row);
    detail = found->event_id_taken
                 ? "browser event " + event->event_id + " found, its event_id another payment's: sent under its own id"
                 : "matched browser event " + event->event_id;
  } else if (p.match_deadline <= now) {   // no wait configured, or it passed while the webhook was queued
    resolve(tx, s, p, event ? &*event : nullptr, false, now, found->derived_event_id_taken, &batch, row);
    detail = s.drop_unmatched                ? "no browser Purchase: dropped (matching.unmatched = drop)"
             : found->derived_event_id_taken ? "no browser Purchase, the derived event_id another payment's: sent "
                                               "under its own id"
                                             : "no browser Purchase: sent with the derived event_id";
  } else {
    waits = true;
    p.id = batch.takeId(tx);
    store::MatchTx::NewPayment n;
    n.payment = p;
    n.delivery_row = row;
    batch.rows.push_back(std::move(n));
    batch.resolutions.emplace_back();
    detail = "waiting up to " + std::to_string(s.wait_seconds) + " s for the browser event";
  }
  known.add(p.provider, p.id, p.payment_key, ids);
  if (event && !waits) known.events_taken.insert(event->id);
  auto& logged = batch.resolutions.back();
  if (spdlog::should_log(spdlog::level::info))
    logged.accepted = fmt::format("{} {} {}: accepted, payment {}", facts.provider, facts.event_type,
                                facts.delivery_id, p.payment_key);
  logged.detail = std::move(detail);
  return pending;
}

int Matcher::onBrowserEvents(const std::vector<store::ClientEventRecord>& events) {
  std::set<std::string> refs;
  for (const auto& e : events) {
    refs.insert(e.event_id);
    if (!e.order_ref.empty()) refs.insert(e.order_ref);
  }
  if (refs.empty()) return 0;
  auto s = settings();
  const TimePoint now = clock_.now();
  int resolved = 0;
  int pending = 0;
  store_.inTransaction([&](store::MatchTx& tx) {
    resolved = pending = 0;
    for (auto& p : tx.claimWaitingByRefs({refs.begin(), refs.end()}, 100)) {
      auto event = tx.findClientEvent(p, now);
      if (!event || !lendsEventId(*event, p, now)) continue;
      const auto q = resolve(tx, *s, p, &*event, true, now);
      pending += q.pending;
      if (!q.waits_again) ++resolved;
    }
  });
  if (pending > 0 && wake_) wake_();
  return resolved;
}

int Matcher::sweep(int limit) {
  auto s = settings();
  const TimePoint now = clock_.now();
  int resolved = 0;
  int pending = 0;
  store_.inTransaction([&](store::MatchTx& tx) {
    resolved = pending = 0;
    for (auto& p : tx.claimWaiting(limit, now)) {
      auto event = tx.findClientEvent(p, now);
      if (event && lendsEventId(*event, p, now)) {
        const auto q = resolve(tx, *s, p, &*event, true, now);
        pending += q.pending;
        if (!q.waits_again) ++resolved;
      } else if (p.match_deadline <= now) {
        pending += resolve(tx, *s, p, event ? &*event : nullptr, false, now).pending;
        ++resolved;
      }
    }
  });
  if (pending > 0 && wake_) wake_();
  return resolved;
}

}  // namespace capi::matching
