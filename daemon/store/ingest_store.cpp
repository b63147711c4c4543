#include "store/ingest_store.h"

#include "common/meta_limits.h"
#include "store/pg_pool.h"
#include "store/row_mapping.h"
#include "store/sql_util.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace capi::store {

struct MatchTx::Impl {
  pqxx::work& tx;
};

namespace {

// A browser event that a payment already took (matched, or borrowed its cookies from) belongs to
// that payment's order: a customer id used as order reference must not hand a previous order's
// browser event to the next payment. c names the client_events row.
std::string notTakenByPayment(const std::string& c) {
  return "NOT EXISTS (SELECT 1 FROM payments lp WHERE lp.client_event_id = " + c + ".id)";
}

// How long before the payment's start (payments.started_at, provider clock) a browser Purchase
// of its order may have reached us: the two clocks' difference.
const char* const kStartSkew = "interval '10 minutes'";

// A browser Purchase whose order_ref another payment already has (a customer id shared by the
// customer's orders) and which was received before this payment started (less the skew) is an
// earlier order's, one no payment took: a second Purchase from a reloaded thank-you page, say.
// It is left out unless the payment names it (browser_event_id). An order reference no other
// payment has is the order's own, whenever its Purchase came (a shop that sends the Purchase
// when the order is placed and a payment link later). Other events only lend their cookies.
// started is a timestamptz expression (NULL when unknown), provider and self the payment's
// (self NULL for a payment not stored yet).
std::string notEarlierOrders(const std::string& c, const std::string& browser_event_id, const std::string& started,
                             const std::string& provider, const std::string& self) {
  return "(" + c + ".event_name <> 'Purchase' OR " + c + ".event_id = " + browser_event_id + " OR " + started +
         " IS NULL OR " + c + ".order_ref IS NULL OR " + c + ".received_at >= " + started + " - " + kStartSkew +
         " OR NOT EXISTS (SELECT 1 FROM payments op WHERE op.provider = " + provider + " AND op.order_ref = " + c +
         ".order_ref AND op.id IS DISTINCT FROM " + self + "))";
}

// The browser event a payment refers to (see MatchTx::findClientEvent), over the SQL expressions
// that hold the payment's references (text[]), its explicit browser event id (text, '' if none),
// the oldest event_time Meta still takes (float8 unix seconds: an older event can neither lend
// its event_id nor be worth its cookies), and for notEarlierOrders when the payment started
// (timestamptz or NULL), its provider and its id (NULL when not stored yet).
std::string clientEventQuery(const std::string& refs, const std::string& browser_event_id, const std::string& oldest,
                             const std::string& started, const std::string& provider, const std::string& self) {
  return "SELECT " + clientEventColumns() + " FROM client_events c WHERE (c.event_id = ANY(" + refs +
         ") OR c.order_ref = ANY(" + refs + ") OR c.event_id = " + browser_event_id + ") AND c.event_time > " +
         "to_timestamp(" + oldest + ") AND " + notTakenByPayment("c") + " AND " +
         notEarlierOrders("c", browser_event_id, started, provider, self) + " ORDER BY (c.event_id = " + browser_event_id +
         ") DESC, (c.event_name = 'Purchase') DESC, c.event_time DESC, c.id DESC LIMIT 1";
}

// The oldest event_time a Purchase sent now may carry.
std::string oldestSendable(TimePoint now) { return sql::ts(now - kMetaMaxEventAge + kExpiryMargin); }

}  // namespace

std::vector<ReceivedDelivery> MatchTx::claimReceived(int limit, std::optional<int64_t> only_id) {
  auto r = only_id ? sql::prepared(impl_.tx, "claim_received_one",
                                   "SELECT id, provider, delivery_id, " + sql::epoch("received_at") +
                                   " FROM webhook_deliveries"
                                   " WHERE id = $1 AND status = 'received' FOR UPDATE SKIP LOCKED",
                                   *only_id)
                   : sql::prepared(impl_.tx, "claim_received",
                                   "SELECT id, provider, delivery_id, " + sql::epoch("received_at") +
                                   " FROM webhook_deliveries"
                                   " WHERE status = 'received' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                                   limit);
  std::vector<ReceivedDelivery> out;
  for (const auto& row : r)
    out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                   sql::toTimePoint(row[3])});
  return out;
}

std::vector<std::string> MatchTx::rawBodies(const std::vector<int64_t>& rows) {
  std::vector<std::string> ids;
  for (const int64_t row : rows) ids.push_back(std::to_string(row));
  const auto r = sql::prepared(impl_.tx, "raw_bodies",
                               "SELECT d.raw_payload::text FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n)"
                               " LEFT JOIN webhook_deliveries d ON d.id = u.id ORDER BY u.n",
                               sql::textArray(ids));
  std::vector<std::string> out;
  for (const auto& row : r) out.push_back(sql::str(row[0]));
  return out;
}

void MatchTx::useGenericPlans() { impl_.tx.exec("SET LOCAL plan_cache_mode = force_generic_plan"); }

void MatchTx::lockKeys(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  keys.erase(std::remove(keys.begin(), keys.end(), std::string()), keys.end());
  if (keys.empty()) return;
  // unnest yields the sorted keys in order, so every transaction takes its locks in the same order.
  sql::prepared(impl_.tx, "lock_keys",
                "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
                " FROM unnest($1::text[]) AS k) AS locks",
                sql::textArray(keys));
}

void MatchTx::setDeliveryOutcome(int64_t delivery_row, const std::string& status, const std::string& reason,
                                 std::optional<int64_t> payment_id) {
  const std::string pid = payment_id ? std::to_string(*payment_id) : std::string();
  sql::prepared(impl_.tx, "set_delivery_outcome", 
      "UPDATE webhook_deliveries SET status = $2, status_reason = $3, payment_id = $4::bigint WHERE id = $1",
      delivery_row, status, sql::nullIfEmpty(reason), sql::nullIfEmpty(pid));
}

std::vector<MatchTx::KnownPayment> MatchTx::findPayments(const std::string& provider,
                                                         const std::vector<std::string>& ids) {
  // Each index on its own (a UNION), so the generic plan uses both: written as one OR, it may not.
  auto r = sql::prepared(impl_.tx, "find_payments",
                         "SELECT id, payment_key, object_ids FROM payments WHERE id IN ("
                         "   SELECT id FROM payments WHERE provider = $1 AND payment_key = ANY($2::text[])"
                         "   UNION"
                         "   SELECT id FROM payments WHERE provider = $1 AND object_ids && $2::text[])"
                         " ORDER BY id FOR UPDATE",
                         provider, sql::textArray(ids));
  std::vector<KnownPayment> out;
  for (const auto& row : r)
    out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), sql::parseTextArray(row[2])});
  return out;
}

std::vector<MatchTx::EventLookup> MatchTx::lookupEvents(const std::vector<EventQuery>& queries,
                                                         const std::vector<std::string>& pixels, TimePoint now) {
  std::vector<EventLookup> out(queries.size());
  if (queries.empty()) return out;
  // Each query's references travel flattened, tagged with the query's position.
  std::vector<std::optional<std::string>> ord, browser, derived, started, provider, ref_ord, ref;
  for (size_t i = 0; i < queries.size(); ++i) {
    ord.push_back(std::to_string(i));
    started.push_back(queries[i].started_at ? std::optional<std::string>(sql::ts(*queries[i].started_at))
                                            : std::nullopt);
    provider.push_back(queries[i].provider);
    browser.push_back(queries[i].browser_event_id.empty() ? std::nullopt
                                                          : std::optional<std::string>(queries[i].browser_event_id));
    derived.push_back(queries[i].derived_event_id);
    for (const auto& r : queries[i].refs) {
      ref_ord.push_back(std::to_string(i));
      ref.push_back(r);
    }
  }
  auto r = sql::prepared(
      impl_.tx, "lookup_events",
      "WITH q AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $8::float8[], $9::text[])"
      "           AS q(ord, browser_event_id, derived, started, provider)),"
      " r AS (SELECT ord, array_agg(ref) AS refs FROM unnest($4::int[], $5::text[]) AS r(ord, ref) GROUP BY ord)"
      " SELECT c.*, q.ord,"
      "  EXISTS (SELECT 1 FROM outbound_events o WHERE o.pixel_id = ANY($6::text[])"
      "          AND o.event_name = 'Purchase' AND o.event_id = c.event_id),"
      "  EXISTS (SELECT 1 FROM outbound_events o WHERE o.pixel_id = ANY($6::text[])"
      "          AND o.event_name = 'Purchase' AND o.event_id = q.derived)"
      " FROM q LEFT JOIN r USING (ord)"
      " LEFT JOIN LATERAL (" +
          clientEventQuery("coalesce(r.refs, '{}'::text[])", "coalesce(q.browser_event_id, '')", "$7::float8",
                           "to_timestamp(q.started)", "q.provider", "NULL::bigint") +
          ") AS c ON true",
      sql::arrayLiteral(ord), sql::arrayLiteral(browser), sql::arrayLiteral(derived), sql::arrayLiteral(ref_ord),
      sql::arrayLiteral(ref), sql::textArray(pixels), oldestSendable(now), sql::arrayLiteral(started),
      sql::arrayLiteral(provider));
  for (const auto& row : r) {
    const auto n = static_cast<pqxx::row::size_type>(row.size());
    auto& e = out.at(row[n - 3].as<size_t>());
    e.derived_event_id_taken = row[n - 1].as<bool>();
    if (!row[0].is_null()) {
      e.event = toClientEvent(row);
      e.event_id_taken = row[n - 2].as<bool>();
    }
  }
  return out;
}

namespace {

// Outbound rows as the parallel arrays the inserts unnest ($1..$13 of both statements below),
// in the order of the unique key (pixel_id, event_name, event_id): two transactions (another
// instance's batch) inserting some of the same keys take their index locks in the same order,
// so one waits for the other instead of deadlocking. The sort is stable: of two rows with one
// key, the earlier one given is still inserted and the later one skipped.
struct OutboundArrays {
  std::vector<std::optional<std::string>> pixel, name, event_id, event_time, order_ref, pid, matched, payload,
      row_status, next_at, error, test_code, created;
  explicit OutboundArrays(const std::vector<OutboundRecord>& unordered) {
    std::vector<const OutboundRecord*> rows;
    for (const auto& o : unordered) rows.push_back(&o);
    std::stable_sort(rows.begin(), rows.end(), [](const OutboundRecord* a, const OutboundRecord* b) {
      return std::tie(a->pixel_id, a->event_name, a->event_id) < std::tie(b->pixel_id, b->event_name, b->event_id);
    });
    for (const OutboundRecord* row : rows) {
      const OutboundRecord& o = *row;
      pixel.push_back(o.pixel_id);
      name.push_back(o.event_name);
      event_id.push_back(o.event_id);
      event_time.push_back(sql::ts(o.event_time));
      order_ref.push_back(o.order_ref.empty() ? std::nullopt : std::optional<std::string>(o.order_ref));
      pid.push_back(o.payment_id ? std::optional<std::string>(std::to_string(*o.payment_id)) : std::nullopt);
      matched.push_back(o.matched ? "true" : "false");
      payload.push_back(o.payload_json);
      row_status.push_back(o.status);
      next_at.push_back(sql::ts(o.next_attempt_at));
      error.push_back(o.last_error.empty() ? std::nullopt : std::optional<std::string>(o.last_error));
      test_code.push_back(o.test_event_code ? "true" : "false");
      created.push_back(sql::ts(o.created_at));
    }
  }
};

// INSERT ... SELECT over the arrays; payment_id_expr replaces the rows' payment ids when set.
std::string insertOutboundSql(const std::string& payment_id_expr) {
  return "INSERT INTO outbound_events (pixel_id, event_name, event_id, event_time, order_ref, payment_id, matched,"
         " payload, status, next_attempt_at, last_error, test_event_code, created_at)"
         " SELECT pixel_id, event_name, event_id, to_timestamp(event_time), order_ref, " +
         (payment_id_expr.empty() ? std::string("payment_id") : payment_id_expr) +
         ", matched, payload, status, to_timestamp(next_at), last_error, test_code, to_timestamp(created)"
         " FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::bigint[], $7::bool[],"
         "             $8::jsonb[], $9::text[], $10::float8[], $11::text[], $12::bool[], $13::float8[])"
         "      AS u(pixel_id, event_name, event_id, event_time, order_ref, payment_id, matched, payload, status,"
         "           next_at, last_error, test_code, created)"
         " ON CONFLICT DO NOTHING RETURNING payment_id, status";
}

}  // namespace

std::vector<int64_t> MatchTx::reservePaymentIds(int n) {
  std::vector<int64_t> out;
  if (n <= 0) return out;
  for (const auto& row : sql::prepared(impl_.tx, "reserve_payment_ids",
                                       "SELECT nextval(pg_get_serial_sequence('payments', 'id'))"
                                       " FROM generate_series(1, $1)",
                                       n))
    out.push_back(row[0].as<int64_t>());
  return out;
}

std::vector<MatchTx::Queued> MatchTx::insertPayments(const std::vector<NewPayment>& payments, TimePoint now) {
  std::vector<Queued> out(payments.size());
  if (payments.empty()) return out;
  std::vector<OutboundRecord> rows;
  std::vector<std::optional<std::string>> id, provider, key, order_ref, refs, browser, amount, currency, paid_at,
      user_data, anomalies, status, deadline, created, object_ids, client_event, resolved_at, delivery, started;
  std::map<int64_t, size_t> index_of;
  auto text = [](const std::string& v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
  for (size_t i = 0; i < payments.size(); ++i) {
    const auto& n = payments[i];
    const auto& p = n.payment;
    index_of.emplace(p.id, i);
    id.push_back(std::to_string(p.id));
    provider.push_back(p.provider);
    key.push_back(p.payment_key);
    order_ref.push_back(text(p.order_ref));
    refs.push_back(sql::textArray(p.refs));
    browser.push_back(text(p.browser_event_id));
    amount.push_back(p.amount_minor ? std::optional<std::string>(std::to_string(*p.amount_minor)) : std::nullopt);
    currency.push_back(text(p.currency));
    paid_at.push_back(sql::ts(p.paid_at));
    user_data.push_back(p.user_data_json);
    anomalies.push_back(p.anomalies_json);
    status.push_back(p.status);
    deadline.push_back(sql::ts(p.match_deadline));
    created.push_back(sql::ts(p.created_at));
    object_ids.push_back(sql::textArray(p.object_ids));
    client_event.push_back(n.client_event_id ? std::optional<std::string>(std::to_string(*n.client_event_id))
                                             : std::nullopt);
    resolved_at.push_back(p.status != "waiting" ? std::optional<std::string>(sql::ts(now)) : std::nullopt);
    delivery.push_back(std::to_string(n.delivery_row));
    started.push_back(p.started_at ? std::optional<std::string>(sql::ts(*p.started_at)) : std::nullopt);
    rows.insert(rows.end(), n.rows.begin(), n.rows.end());
  }
  const OutboundArrays a(rows);
  // refs and object_ids travel as array literals, one text per payment (unnest cannot take
  // arrays of different lengths as one array). The outbound insert comes first, so that
  // pg_stat_activity's first kilobyte of the statement names it.
  auto r = sql::prepared(
      impl_.tx, "insert_payments",
      "WITH o AS (" + insertOutboundSql("") + "),"
      " n AS (SELECT * FROM unnest($14::bigint[], $15::text[], $16::text[], $17::text[], $18::text[],"
      "   $19::text[], $20::bigint[], $21::text[], $22::float8[], $23::text[], $24::text[], $25::text[],"
      "   $26::float8[], $27::float8[], $28::text[], $29::bigint[], $30::float8[], $31::bigint[], $32::float8[])"
      "   AS n(id, provider, payment_key, order_ref, refs, browser_event_id, amount_minor, currency, paid_at,"
      "        user_data, hash_anomalies, status, match_deadline, created_at, object_ids, client_event_id,"
      "        resolved_at, delivery_row, started_at)),"
      " p AS ("
      "  INSERT INTO payments (id, provider, payment_key, order_ref, refs, browser_event_id, amount_minor, currency,"
      "   paid_at, user_data, hash_anomalies, status, match_deadline, created_at, object_ids, client_event_id,"
      "   resolved_at, started_at)"
      "  SELECT id, provider, payment_key, order_ref, refs::text[], browser_event_id, amount_minor, currency,"
      "   to_timestamp(paid_at), user_data::jsonb, hash_anomalies::jsonb, status, to_timestamp(match_deadline),"
      "   to_timestamp(created_at), object_ids::text[], client_event_id, to_timestamp(resolved_at),"
      "   to_timestamp(started_at) FROM n),"
      " d AS (UPDATE webhook_deliveries w SET payment_id = n.id, status = 'accepted', status_reason = NULL"
      "       FROM n WHERE w.id = n.delivery_row)"
      " SELECT payment_id, count(*), count(*) FILTER (WHERE status = 'pending') FROM o GROUP BY payment_id",
      sql::arrayLiteral(a.pixel), sql::arrayLiteral(a.name), sql::arrayLiteral(a.event_id),
      sql::arrayLiteral(a.event_time), sql::arrayLiteral(a.order_ref), sql::arrayLiteral(a.pid),
      sql::arrayLiteral(a.matched), sql::arrayLiteral(a.payload), sql::arrayLiteral(a.row_status),
      sql::arrayLiteral(a.next_at), sql::arrayLiteral(a.error), sql::arrayLiteral(a.test_code),
      sql::arrayLiteral(a.created), sql::arrayLiteral(id), sql::arrayLiteral(provider), sql::arrayLiteral(key),
      sql::arrayLiteral(order_ref), sql::arrayLiteral(refs), sql::arrayLiteral(browser), sql::arrayLiteral(amount),
      sql::arrayLiteral(currency), sql::arrayLiteral(paid_at), sql::arrayLiteral(user_data),
      sql::arrayLiteral(anomalies), sql::arrayLiteral(status), sql::arrayLiteral(deadline), sql::arrayLiteral(created),
      sql::arrayLiteral(object_ids), sql::arrayLiteral(client_event), sql::arrayLiteral(resolved_at),
      sql::arrayLiteral(delivery), sql::arrayLiteral(started));
  for (const auto& row : r) {
    auto& q = out.at(index_of.at(row[0].as<int64_t>()));
    q.created = row[1].as<int>();
    q.pending = row[2].as<int>();
  }
  return out;
}

void MatchTx::mergePayment(int64_t id, const std::vector<std::string>& refs, const std::vector<std::string>& object_ids,
                           const std::string& order_ref, const std::string& browser_event_id,
                           const std::string& user_data_json, std::optional<TimePoint> started_at) {
  const std::string started = started_at ? sql::ts(*started_at) : std::string();
  // started_at: the earliest object's creation (a PaymentIntent is created after its Checkout
  // Session); unknown stays unknown.
  sql::prepared(impl_.tx, "merge_payment",
      "UPDATE payments SET"
      " refs = ARRAY(SELECT DISTINCT unnest(refs || $2::text[])),"
      " object_ids = ARRAY(SELECT DISTINCT unnest(object_ids || $6::text[])),"
      " order_ref = coalesce(order_ref, $3),"
      " browser_event_id = coalesce(browser_event_id, $4),"
      " user_data = $5::jsonb || user_data,"
      " started_at = CASE WHEN started_at IS NULL THEN NULL ELSE least(started_at, to_timestamp($7::float8)) END"
      " WHERE id = $1",
      id, sql::textArray(refs), sql::nullIfEmpty(order_ref), sql::nullIfEmpty(browser_event_id), user_data_json,
      sql::textArray(object_ids), sql::nullIfEmpty(started));
}

std::optional<ClientEventRecord> MatchTx::findClientEvent(const PaymentRecord& p, TimePoint now) {
  if (p.refs.empty() && p.browser_event_id.empty()) return std::nullopt;
  const std::string started = p.started_at ? sql::ts(*p.started_at) : std::string();
  auto r = sql::prepared(impl_.tx, "find_client_event",
                         clientEventQuery("$1::text[]", "$2", "$3::float8", "to_timestamp($4::float8)", "$5",
                                          "$6::bigint"),
                         sql::textArray(p.refs), p.browser_event_id, oldestSendable(now), sql::nullIfEmpty(started),
                         p.provider, p.id);
  if (r.empty()) return std::nullopt;
  return toClientEvent(r[0]);
}

std::vector<PaymentRecord> MatchTx::claimWaitingByRefs(const std::vector<std::string>& refs, int limit) {
  std::vector<PaymentRecord> out;
  // Planned for each call's own values: a generic plan for "refs && $1 ORDER BY id LIMIT n" walks
  // the primary key through the whole table instead of using the GIN index.
  auto r = impl_.tx.exec_params("SELECT " + paymentColumns() +
                                    " FROM payments WHERE status = 'waiting' AND refs && $1::text[]"
                                    " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                                sql::textArray(refs), limit);
  for (const auto& row : r) out.push_back(toPayment(row));
  return out;
}

std::vector<PaymentRecord> MatchTx::claimWaiting(int limit, TimePoint now) {
  std::vector<PaymentRecord> out;
  // One statement, however many payments wait: only those past their deadline or with a browser
  // event that can lend its event_id (a Purchase, or the one the payment names) come back.
  auto r = sql::prepared(
      impl_.tx, "claim_waiting",
      "SELECT " + paymentColumns() +
          " FROM payments p WHERE status = 'waiting' AND (match_deadline <= to_timestamp($2::float8) OR EXISTS ("
          "   SELECT 1 FROM client_events c"
          "   WHERE (c.event_id = ANY(p.refs) OR c.order_ref = ANY(p.refs) OR c.event_id = p.browser_event_id)"
          "     AND (c.event_name = 'Purchase' OR c.event_id = p.browser_event_id)"
          "     AND c.event_time > to_timestamp($3::float8) AND " +
          notTakenByPayment("c") + " AND " +
          notEarlierOrders("c", "p.browser_event_id", "p.started_at", "p.provider", "p.id") + "))"
          " ORDER BY match_deadline, id LIMIT $1 FOR UPDATE SKIP LOCKED",
      limit, sql::ts(now), oldestSendable(now));
  for (const auto& row : r) out.push_back(toPayment(row));
  return out;
}

std::vector<std::string> MatchTx::pixelsQueuedFor(int64_t payment_id) {
  std::vector<std::string> out;
  for (const auto& row : sql::prepared(impl_.tx, "pixels_queued_for",
                                       "SELECT pixel_id FROM outbound_events WHERE payment_id = $1", payment_id))
    out.push_back(row[0].as<std::string>());
  return out;
}

bool MatchTx::eventIdTakenByOtherPayment(const std::string& event_id, int64_t payment_id,
                                         const std::vector<std::string>& pixels) {
  // Meta deduplicates per pixel, so only the pixels this payment goes to matter; the unique
  // (pixel_id, event_name, event_id) key answers that.
  return !sql::prepared(impl_.tx, "event_id_taken",
                        "SELECT 1 FROM outbound_events WHERE pixel_id = ANY($3::text[]) AND event_name = 'Purchase'"
                        " AND event_id = $1 AND payment_id IS DISTINCT FROM $2 LIMIT 1",
                        event_id, payment_id, sql::textArray(pixels))
              .empty();
}

void MatchTx::returnToWaiting(int64_t payment_id) {
  sql::prepared(impl_.tx, "return_to_waiting",
                "UPDATE payments SET status = 'waiting', client_event_id = NULL, resolved_at = NULL WHERE id = $1",
                payment_id);
}

MatchTx::Queued MatchTx::queueAndResolve(const std::vector<OutboundRecord>& rows, int64_t payment_id,
                                         const std::string& status, std::optional<int64_t> client_event_id,
                                         TimePoint now) {
  const std::string ce = client_event_id ? std::to_string(*client_event_id) : std::string();
  const OutboundArrays a(rows);
  auto r = sql::prepared(
      impl_.tx, "queue_and_resolve",
      "WITH o AS (" + insertOutboundSql("") + "),"
      " r AS (UPDATE payments SET status = $15, client_event_id = $16::bigint,"
      "       resolved_at = to_timestamp($17::float8) WHERE id = $14)"
      " SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM o",
      sql::arrayLiteral(a.pixel), sql::arrayLiteral(a.name), sql::arrayLiteral(a.event_id),
      sql::arrayLiteral(a.event_time), sql::arrayLiteral(a.order_ref), sql::arrayLiteral(a.pid),
      sql::arrayLiteral(a.matched), sql::arrayLiteral(a.payload), sql::arrayLiteral(a.row_status),
      sql::arrayLiteral(a.next_at), sql::arrayLiteral(a.error), sql::arrayLiteral(a.test_code),
      sql::arrayLiteral(a.created), payment_id, status, sql::nullIfEmpty(ce), sql::ts(now));
  return {r[0][0].as<int>(), r[0][1].as<int>()};
}

std::vector<std::optional<int64_t>> IngestStore::insertDeliveries(const std::vector<const DeliveryRecord*>& deliveries) {
  // In key order: two batches (two instances) holding the same delivery wait for each other in
  // one order only, never in a cycle. A delivery twice in the batch (Stripe sending one event to
  // two endpoints at once) is written from its first copy, which alone is told it was stored
  // (below): stable, and the later copies left out.
  auto sorted = deliveries;
  const auto key = [](const DeliveryRecord* d) { return std::tie(d->provider, d->delivery_id); };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const DeliveryRecord* a, const DeliveryRecord* b) { return key(a) < key(b); });
  sorted.erase(std::unique(sorted.begin(), sorted.end(),
                           [&](const DeliveryRecord* a, const DeliveryRecord* b) { return key(a) == key(b); }),
               sorted.end());
  std::vector<std::optional<std::string>> provider, delivery_id, event_type, order_ref, status, reason, livemode, raw,
      received;
  for (const auto* d : sorted) {
    provider.push_back(d->provider);
    delivery_id.push_back(d->delivery_id);
    event_type.push_back(d->event_type);
    order_ref.push_back(d->order_ref.empty() ? std::nullopt : std::optional<std::string>(d->order_ref));
    status.push_back(d->status);
    reason.push_back(d->status_reason.empty() ? std::nullopt : std::optional<std::string>(d->status_reason));
    livemode.push_back(d->livemode ? "true" : "false");
    raw.push_back(d->raw_body);
    received.push_back(sql::ts(d->received_at));
  }
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    // The rows travel as parallel arrays; a (provider, delivery_id) stored before is skipped and
    // missing from RETURNING.
    auto r = sql::prepared(
        tx, "insert_deliveries",
        "INSERT INTO webhook_deliveries (provider, delivery_id, event_type, order_ref, status, status_reason,"
        " livemode, raw_payload, received_at)"
        " SELECT provider, delivery_id, event_type, order_ref, status, reason, livemode, raw::jsonb, to_timestamp(at)"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[],"
        "             $8::text[], $9::float8[])"
        "      AS u(provider, delivery_id, event_type, order_ref, status, reason, livemode, raw, at)"
        " ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING provider, delivery_id, id",
        sql::arrayLiteral(provider), sql::arrayLiteral(delivery_id), sql::arrayLiteral(event_type),
        sql::arrayLiteral(order_ref), sql::arrayLiteral(status), sql::arrayLiteral(reason), sql::arrayLiteral(livemode),
        sql::arrayLiteral(raw), sql::arrayLiteral(received));
    // Read before the commit: once committed, a failure here would retry the rows one by one,
    // and each would be told it was a duplicate.
    std::map<std::pair<std::string, std::string>, int64_t> stored;
    for (const auto& row : r) stored.emplace(std::pair(row[0].as<std::string>(), row[1].as<std::string>()), row[2].as<int64_t>());
    std::vector<std::optional<int64_t>> inserted;
    for (const auto* d : deliveries) {
      const auto it = stored.find({d->provider, d->delivery_id});
      if (it == stored.end()) {
        inserted.emplace_back();
      } else {
        inserted.emplace_back(it->second);
        stored.erase(it);   // a repeat later in the batch was skipped
      }
    }
    tx.commit();
    return inserted;
  });
}

bool IngestStore::markDeliveryFailed(int64_t id, const std::string& reason) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto r = tx.exec_params("UPDATE webhook_deliveries SET status = 'failed', status_reason = $2"
                                  " WHERE id = $1 AND status = 'received'",
                                  id, reason);
    tx.commit();
    return r.affected_rows() > 0;
  });
}

IngestStore::Backlog IngestStore::receivedBacklog(TimePoint now) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT count(*), extract(epoch from to_timestamp($1::float8) - min(received_at))::float8"
                            " FROM webhook_deliveries WHERE status = 'received'",
                            sql::ts(now));
    Backlog b;
    b.received = r[0][0].as<int64_t>();
    if (!r[0][1].is_null()) b.oldest_age_seconds = std::max(0.0, r[0][1].as<double>());
    return b;
  });
}

std::vector<bool> IngestStore::insertClientEvents(const std::vector<ClientEventRecord>& events) {
  return pool_.with([&](pqxx::connection_base& c) {
    std::vector<bool> inserted;
    pqxx::work tx(c);
    for (const auto& e : events) {
      auto r = sql::prepared(tx, "insert_client_event", 
          "INSERT INTO client_events (event_id, event_name, event_time, reported_event_time, time_adjusted,"
          " order_ref, event_source_url, fbp, fbc, client_ip_address, client_user_agent, user_data, custom_data,"
          " hash_anomalies, received_at)"
          " VALUES ($1, $2, to_timestamp($3::float8), to_timestamp($4::float8), $5, $6, $7, $8, $9, $10, $11,"
          " $12::jsonb, $13::jsonb, $14::jsonb, to_timestamp($15::float8))"
          " ON CONFLICT (event_name, event_id) DO NOTHING RETURNING id",
          e.event_id, e.event_name, sql::ts(e.event_time),
          e.reported_event_time ? sql::ts(*e.reported_event_time).c_str() : nullptr,
          sql::nullIfEmpty(e.time_adjusted), sql::nullIfEmpty(e.order_ref), sql::nullIfEmpty(e.event_source_url),
          sql::nullIfEmpty(e.fbp), sql::nullIfEmpty(e.fbc), sql::nullIfEmpty(e.client_ip_address),
          sql::nullIfEmpty(e.client_user_agent), e.user_data_json, e.custom_data_json, e.anomalies_json,
          sql::ts(e.received_at));
      inserted.push_back(!r.empty());
    }
    tx.commit();
    return inserted;
  });
}

void IngestStore::inTransaction(const std::function<void(MatchTx&)>& fn) {
  try {
    pool_.with([&](pqxx::connection_base& c) {
      pqxx::work tx(c);
      MatchTx::Impl impl{tx};
      MatchTx mtx(impl);
      fn(mtx);
      tx.commit();
      return 0;
    });
  } catch (const pqxx::sql_error& e) {
    // SQLSTATE classes 22 data exception, 23 integrity constraint, 42 syntax or undefined
    // object, P0 raised by PL/pgSQL: the same data fails the same way. Everything else
    // (40 conflicts, 53 resources, 55 lock not available, 57014 timeout, 25006 read-only...)
    // is worth another try.
    const std::string state = e.sqlstate();
    for (const char* permanent : {"22", "23", "42", "P0"})
      if (state.rfind(permanent, 0) == 0) throw;
    throw TransientFailure(e.what());
  }
}

IngestStore::PurgeCounts IngestStore::purge(TimePoint raw_before, TimePoint rows_before, int batch,
                                            const std::function<bool()>& stop) {
  PurgeCounts n;
  auto stopped = [&] {
    if (!n.interrupted && stop && stop()) n.interrupted = true;
    return n.interrupted;
  };
  // Each statement touches at most `batch` rows (`batch` outbound events with their attempts)
  // and commits: a first purge after months, or after downtime, never holds locks or one huge
  // transaction on the live tables. Every step is idempotent, so an interrupted purge simply
  // continues at the next run. A delivery the matching worker has not processed yet keeps its
  // row and body: matching reads the body.
  auto inBatches = [&](const std::string& sql, const std::string& cutoff) {
    int64_t total = 0;
    while (!stopped()) {
      const auto done = pool_.with([&](pqxx::connection_base& c) {
        pqxx::work tx(c);
        const auto r = tx.exec_params(sql, cutoff, batch);
        tx.commit();
        return static_cast<int64_t>(r.affected_rows());
      });
      total += done;
      if (done < batch) break;
    }
    return total;
  };
  n.raw_bodies = inBatches(
      "UPDATE webhook_deliveries SET raw_payload = NULL WHERE id IN (SELECT id FROM webhook_deliveries"
      " WHERE raw_payload IS NOT NULL AND received_at < to_timestamp($1::float8) AND status <> 'received'"
      " LIMIT $2) AND raw_payload IS NOT NULL AND status <> 'received'",   // again on the row updated
      sql::ts(raw_before));
  const std::string cutoff = sql::ts(rows_before);
  // Finished rows of a table whose time column has no index (see 0009, 0010): walked in id
  // order, `batch` rows at a time, as ids and that time grow together (both are set as the row is
  // inserted). The walk steps over rows still in use and stops at the first batch without a row
  // older than the cutoff, so it reads the rows older than the cutoff and one batch more; rows
  // whose time is out of order (a clock stepped forward), fewer than a batch in a row, delay
  // nothing behind them. Age and status are checked on the row deleted, so a row changed
  // meanwhile (an event `requeue` sent back to the queue) is kept. `also` adds statements over
  // the deleted ids.
  auto walk = [&](const std::string& table, const std::string& time, const std::string& finished,
                  const std::string& also) {
    int64_t deleted = 0;
    for (int64_t after = 0; !stopped();) {
      const auto [scanned, last, any_old, gone] = pool_.with([&](pqxx::connection_base& c) {
        pqxx::work tx(c);
        const auto r = tx.exec_params(
            "WITH scan AS (SELECT id, " + time + " < to_timestamp($1::float8) AS old FROM " + table +
                " WHERE id > $2 ORDER BY id LIMIT $3),"
                " gone AS (DELETE FROM " + table + " o USING scan WHERE o.id = scan.id AND scan.old"
                " AND o." + time + " < to_timestamp($1::float8) AND " + finished + " RETURNING o.id)" + also +
                " SELECT count(*), coalesce(max(id), 0), coalesce(bool_or(old), false), (SELECT count(*) FROM gone)"
                " FROM scan",
            cutoff, after, batch);
        tx.commit();
        return std::make_tuple(r[0][0].as<int64_t>(), r[0][1].as<int64_t>(), r[0][2].as<bool>(),
                               r[0][3].as<int64_t>());
      });
      deleted += gone;
      if (scanned < batch || !any_old) break;
      after = last;
    }
    return deleted;
  };
  // An event's attempts go with it (send_attempts has no foreign key to cascade, see 0008).
  n.outbound_events =
      walk("outbound_events", "created_at", "o.status IN ('sent', 'dead', 'dry_run')",
           ", attempts AS (DELETE FROM send_attempts a USING gone WHERE a.outbound_event_id = gone.id)");
  // Attempts whose event went some other way: purged by a version before 0008 running beside
  // this one, or recorded by a cycle whose lease had run out after its event was finished and
  // purged. Such events are older than every event kept, so their attempts are the ones below the
  // oldest kept id: a range of send_attempts_event_idx, usually empty, read without a scan of the
  // table. (Events deleted by hand in the middle of the table leave their attempts: README.)
  // The bound is passed as a value, not a subquery, so the planner sees how few rows are below it.
  if (stopped()) return n;
  const int64_t oldest_event = pool_.with([&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec("SELECT min(id) FROM outbound_events");
    return r[0][0].is_null() ? std::numeric_limits<int64_t>::max() : r[0][0].as<int64_t>();
  });
  n.stray_attempts = inBatches(
      "DELETE FROM send_attempts WHERE id IN (SELECT id FROM send_attempts WHERE outbound_event_id < " +
          std::to_string(oldest_event) + " AND attempted_at < to_timestamp($1::float8) LIMIT $2)",
      cutoff);
  n.deliveries = walk("webhook_deliveries", "received_at", "o.status <> 'received'", "");
  n.payments = inBatches(
      "DELETE FROM payments WHERE id IN (SELECT id FROM payments p WHERE created_at < to_timestamp($1::float8)"
      " AND status <> 'waiting' AND NOT EXISTS (SELECT 1 FROM outbound_events o WHERE o.payment_id = p.id)"
      " LIMIT $2)",
      cutoff);
  n.browser_events = inBatches(
      "DELETE FROM client_events WHERE id IN (SELECT id FROM client_events c"
      " WHERE received_at < to_timestamp($1::float8)"
      " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.client_event_id = c.id) LIMIT $2)",
      cutoff);
  return n;
}

}  // namespace capi::store
