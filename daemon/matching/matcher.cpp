#include "matching/matcher.h"

#include "capi/purchase_event.h"
#include "capi/user_data.h"
#include "store/ingest_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace capi::matching {

const char* toString(DeliveryOutcome o) {
  switch (o) {
    case DeliveryOutcome::Accepted: return "accepted";
    case DeliveryOutcome::DuplicateOrder: return "duplicate_order";
    case DeliveryOutcome::Duplicate: return "duplicate";
    case DeliveryOutcome::Ignored: return "ignored";
  }
  return "unknown";
}

Matcher::Matcher(store::IngestStore& store, const Clock& clock, MatchingSettings settings,
                 std::function<void()> wake)
    : store_(store), clock_(clock), wake_(std::move(wake)),
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

bool lendsEventId(const store::ClientEventRecord& e, const store::PaymentRecord& p) {
  return e.event_name == "Purchase" || (!p.browser_event_id.empty() && e.event_id == p.browser_event_id);
}
}  // namespace

store::MatchTx::Queued Matcher::resolve(store::MatchTx& tx, const MatchingSettings& s,
                                        const store::PaymentRecord& payment, const store::ClientEventRecord* event,
                                        bool matched, TimePoint now, std::optional<bool> event_id_taken) {
  if (!matched && s.drop_unmatched) {
    tx.resolvePayment(payment.id, "dropped", std::nullopt, now);
    spdlog::warn("payment {} {} had no browser event within {} s: dropped (matching.unmatched = drop)",
                 payment.provider, payment.payment_key, s.wait_seconds);
    return {};
  }
  PurchaseInputs in;
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
  auto useOwnId = [&] {
    in.event_id = payment.payment_key;
    in.event_time = payment.paid_at;
    matched = false;
  };
  if (!event_id_taken) event_id_taken = tx.eventIdTakenByOtherPayment(in.event_id, payment.id, pixelIds(s));
  if (*event_id_taken) {
    spdlog::warn("event_id {} is already used by another payment; payment {} uses its own id", in.event_id,
                 payment.payment_key);
    useOwnId();
  }

  auto rowsFor = [&](const std::vector<std::string>& only) {
    std::string payload;
    std::string error;
    try {
      payload = buildPurchasePayload(in);
    } catch (const std::exception& e) {
      error = std::string("invalid: ") + e.what();
      payload = "{}";
    }
    const bool expired = in.event_time + kMetaMaxEventAge - kExpiryMargin <= now;
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
  };
  const std::optional<int64_t> event_row = event != nullptr ? std::optional<int64_t>(event->id) : std::nullopt;
  auto rows = rowsFor({});
  auto queued = tx.queueAndResolve(rows, payment.id, matched ? "matched" : "unmatched", event_row, now);
  if (queued.created < static_cast<int>(rows.size()) && in.event_id != payment.payment_key) {
    // A payment whose order takes other locks claimed the same event_id between the check above
    // and the insert (the insert waited for it and then skipped the row). The pixels left
    // without a row for this payment get it under the payment's own id, or the order is lost.
    const auto have = tx.pixelsQueuedFor(payment.id);
    std::vector<std::string> missing;
    for (const auto& r : rows)
      if (std::find(have.begin(), have.end(), r.pixel_id) == have.end()) missing.push_back(r.pixel_id);
    if (!missing.empty()) {
      spdlog::warn("event_id {} was taken by another payment meanwhile; payment {} uses its own id", in.event_id,
                   payment.payment_key);
      useOwnId();
      const auto again = tx.queueAndResolve(rowsFor(missing), payment.id, "unmatched", event_row, now);
      queued.created += again.created;
      queued.pending += again.pending;
    }
  }
  return queued;
}

DeliveryResult Matcher::acceptPayment(const webhooks::PaymentFacts& facts, std::string_view raw_body) {
  auto s = settings();
  const TimePoint now = clock_.now();
  DeliveryResult result;
  store::MatchTx::Queued queued;
  store_.inTransaction([&](store::MatchTx& tx) {
    result = {};
    queued = {};
    // Concurrent webhooks for one order (checkout.session.completed and payment_intent.succeeded
    // arrive together) serialize on locks that the delivery's insert takes.
    std::vector<std::string> ids = facts.object_ids;
    if (std::find(ids.begin(), ids.end(), facts.payment_key) == ids.end()) ids.push_back(facts.payment_key);
    std::vector<std::string> locks;
    if (facts.paid)
      for (const auto& id : ids) locks.push_back(facts.provider + ":" + id);
    auto row = tx.insertDelivery(facts.provider, facts.delivery_id, facts.event_type, facts.order_ref,
                                 facts.paid ? "accepted" : "ignored", facts.ignore_reason, facts.livemode,
                                 std::string(raw_body), now, locks);
    if (!row) {
      result.outcome = DeliveryOutcome::Duplicate;
      result.detail = "delivery " + facts.delivery_id + " was already received";
      return;
    }
    if (!facts.paid) {
      result.outcome = DeliveryOutcome::Ignored;
      result.detail = facts.ignore_reason;
      return;
    }
    UserData customer = hashCustomer(facts.customer, s->normalize);
    auto existing = tx.findPayment(facts.provider, ids);
    if (existing) {
      tx.mergePayment(existing->id, facts.refs, ids, facts.order_ref, facts.browser_event_id, customer.toJson());
      tx.setDeliveryOutcome(*row, "duplicate_order", "order already known as payment " + existing->payment_key,
                            existing->id);
      result.outcome = DeliveryOutcome::DuplicateOrder;
      result.detail = "payment " + existing->payment_key + " already recorded";
      return;
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
    p.paid_at = facts.created.time_since_epoch().count() != 0 ? facts.created : now;
    p.user_data_json = customer.toJson();
    p.anomalies_json = customer.anomaliesJson();
    p.status = "waiting";
    p.match_deadline = now + std::chrono::seconds(s->wait_seconds);
    p.created_at = now;
    auto created = tx.insertPaymentAndFindEvent(p, *row, derivedEventId(p.order_ref, p.payment_key), pixelIds(*s));
    p.id = created.id;
    result.outcome = DeliveryOutcome::Accepted;
    const auto& event = created.event;
    if (event && lendsEventId(*event, p)) {
      queued = resolve(tx, *s, p, &*event, true, now, created.event_id_taken);
      result.detail = "matched browser event " + event->event_id;
    } else if (s->wait_seconds == 0) {
      queued = resolve(tx, *s, p, event ? &*event : nullptr, false, now, created.derived_event_id_taken);
      result.detail = "no browser Purchase: sent with the derived event_id";
    } else {
      result.detail = "waiting up to " + std::to_string(s->wait_seconds) + " s for the browser event";
    }
    result.outbound_created = queued.created;
  });
  if (queued.pending > 0 && wake_) wake_();
  return result;
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
    for (const auto& p : tx.claimWaitingByRefs({refs.begin(), refs.end()}, 100)) {
      auto event = tx.findClientEvent(p.refs, p.browser_event_id);
      if (!event || !lendsEventId(*event, p)) continue;
      pending += resolve(tx, *s, p, &*event, true, now).pending;
      ++resolved;
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
    for (const auto& p : tx.claimWaiting(limit, now)) {
      auto event = tx.findClientEvent(p.refs, p.browser_event_id);
      if (event && lendsEventId(*event, p)) {
        pending += resolve(tx, *s, p, &*event, true, now).pending;
        ++resolved;
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
