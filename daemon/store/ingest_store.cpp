#include "store/ingest_store.h"

#include "store/pg_pool.h"
#include "store/row_mapping.h"
#include "store/sql_util.h"

#include <algorithm>
#include <functional>

namespace capi::store {

struct MatchTx::Impl {
  pqxx::work& tx;
};

std::optional<int64_t> MatchTx::insertDelivery(const std::string& provider, const std::string& delivery_id,
                                               const std::string& event_type, const std::string& order_ref,
                                               const std::string& status, const std::string& reason,
                                               bool livemode, const std::string& raw_body, TimePoint now) {
  auto r = impl_.tx.exec_params(
      "INSERT INTO webhook_deliveries (provider, delivery_id, event_type, order_ref, status, status_reason,"
      " livemode, raw_payload, received_at)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, to_timestamp($9::float8))"
      " ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id",
      provider, delivery_id, event_type, sql::nullIfEmpty(order_ref), status, sql::nullIfEmpty(reason), livemode,
      raw_body, sql::ts(now));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

void MatchTx::setDeliveryOutcome(int64_t delivery_row, const std::string& status, const std::string& reason,
                                 std::optional<int64_t> payment_id) {
  const std::string pid = payment_id ? std::to_string(*payment_id) : std::string();
  impl_.tx.exec_params(
      "UPDATE webhook_deliveries SET status = $2, status_reason = $3, payment_id = $4::bigint WHERE id = $1",
      delivery_row, status, sql::nullIfEmpty(reason), sql::nullIfEmpty(pid));
}

void MatchTx::lockKeys(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const auto& k : keys)
    if (!k.empty()) impl_.tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", k);
}

std::optional<PaymentRecord> MatchTx::findPayment(const std::string& provider,
                                                  const std::vector<std::string>& object_ids) {
  auto r = impl_.tx.exec_params(
      "SELECT " + paymentColumns() +
          " FROM payments WHERE provider = $1 AND (payment_key = ANY($2::text[]) OR object_ids && $2::text[])"
          " ORDER BY id LIMIT 1 FOR UPDATE",
      provider, sql::textArray(object_ids));
  if (r.empty()) return std::nullopt;
  return toPayment(r[0]);
}

int64_t MatchTx::insertPayment(const PaymentRecord& p) {
  const std::string amount = p.amount_minor ? std::to_string(*p.amount_minor) : std::string();
  auto r = impl_.tx.exec_params(
      "INSERT INTO payments (provider, payment_key, order_ref, refs, browser_event_id, amount_minor, currency,"
      " paid_at, user_data, hash_anomalies, status, match_deadline, created_at, object_ids)"
      " VALUES ($1, $2, $3, $4::text[], $5, $6::bigint, $7, to_timestamp($8::float8), $9::jsonb, $10::jsonb, $11,"
      " to_timestamp($12::float8), to_timestamp($13::float8), $14::text[]) RETURNING id",
      p.provider, p.payment_key, sql::nullIfEmpty(p.order_ref), sql::textArray(p.refs),
      sql::nullIfEmpty(p.browser_event_id), sql::nullIfEmpty(amount), sql::nullIfEmpty(p.currency),
      sql::ts(p.paid_at), p.user_data_json, p.anomalies_json, p.status, sql::ts(p.match_deadline),
      sql::ts(p.created_at), sql::textArray(p.object_ids));
  return r[0][0].as<int64_t>();
}

void MatchTx::mergePayment(int64_t id, const std::vector<std::string>& refs, const std::vector<std::string>& object_ids,
                           const std::string& order_ref, const std::string& browser_event_id,
                           const std::string& user_data_json) {
  impl_.tx.exec_params(
      "UPDATE payments SET"
      " refs = ARRAY(SELECT DISTINCT unnest(refs || $2::text[])),"
      " object_ids = ARRAY(SELECT DISTINCT unnest(object_ids || $6::text[])),"
      " order_ref = coalesce(order_ref, $3),"
      " browser_event_id = coalesce(browser_event_id, $4),"
      " user_data = $5::jsonb || user_data"
      " WHERE id = $1",
      id, sql::textArray(refs), sql::nullIfEmpty(order_ref), sql::nullIfEmpty(browser_event_id), user_data_json,
      sql::textArray(object_ids));
}

std::optional<ClientEventRecord> MatchTx::findClientEvent(const std::vector<std::string>& refs,
                                                          const std::string& browser_event_id) {
  if (refs.empty() && browser_event_id.empty()) return std::nullopt;
  auto r = impl_.tx.exec_params(
      "SELECT " + clientEventColumns() +
          " FROM client_events WHERE event_id = ANY($1::text[]) OR order_ref = ANY($1::text[])"
          " OR event_id = $2"
          " ORDER BY (event_id = $2) DESC, (event_name = 'Purchase') DESC, event_time DESC, id DESC LIMIT 1",
      sql::textArray(refs), browser_event_id);
  if (r.empty()) return std::nullopt;
  return toClientEvent(r[0]);
}

std::vector<PaymentRecord> MatchTx::claimWaitingByRefs(const std::vector<std::string>& refs, int limit) {
  std::vector<PaymentRecord> out;
  auto r = impl_.tx.exec_params("SELECT " + paymentColumns() +
                                    " FROM payments WHERE status = 'waiting' AND refs && $1::text[]"
                                    " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                                sql::textArray(refs), limit);
  for (const auto& row : r) out.push_back(toPayment(row));
  return out;
}

std::vector<PaymentRecord> MatchTx::claimWaiting(int limit) {
  std::vector<PaymentRecord> out;
  auto r = impl_.tx.exec_params("SELECT " + paymentColumns() +
                                    " FROM payments WHERE status = 'waiting'"
                                    " ORDER BY match_deadline, id LIMIT $1 FOR UPDATE SKIP LOCKED",
                                limit);
  for (const auto& row : r) out.push_back(toPayment(row));
  return out;
}

void MatchTx::resolvePayment(int64_t id, const std::string& status, std::optional<int64_t> client_event_id,
                             TimePoint now) {
  const std::string ce = client_event_id ? std::to_string(*client_event_id) : std::string();
  impl_.tx.exec_params(
      "UPDATE payments SET status = $2, client_event_id = $3::bigint, resolved_at = to_timestamp($4::float8)"
      " WHERE id = $1",
      id, status, sql::nullIfEmpty(ce), sql::ts(now));
}

bool MatchTx::eventIdTakenByOtherPayment(const std::string& event_id, int64_t payment_id) {
  return !impl_.tx
              .exec_params("SELECT 1 FROM outbound_events WHERE event_name = 'Purchase' AND event_id = $1"
                           " AND payment_id IS DISTINCT FROM $2 LIMIT 1",
                           event_id, payment_id)
              .empty();
}

bool MatchTx::insertOutbound(const OutboundRecord& o) {
  const std::string pid = o.payment_id ? std::to_string(*o.payment_id) : std::string();
  auto r = impl_.tx.exec_params(
      "INSERT INTO outbound_events (pixel_id, event_name, event_id, event_time, order_ref, payment_id, matched,"
      " payload, status, next_attempt_at, last_error, test_event_code, created_at)"
      " VALUES ($1, $2, $3, to_timestamp($4::float8), $5, $6::bigint, $7, $8::jsonb, $9,"
      " to_timestamp($10::float8), $11, $12, to_timestamp($13::float8))"
      " ON CONFLICT DO NOTHING RETURNING id",
      o.pixel_id, o.event_name, o.event_id, sql::ts(o.event_time), sql::nullIfEmpty(o.order_ref),
      sql::nullIfEmpty(pid), o.matched, o.payload_json, o.status, sql::ts(o.next_attempt_at),
      sql::nullIfEmpty(o.last_error), o.test_event_code, sql::ts(o.created_at));
  return !r.empty();
}

void MatchTx::notifyOutbound() { impl_.tx.exec("SELECT pg_notify('capi_outbound', '')"); }

std::vector<bool> IngestStore::insertClientEvents(const std::vector<ClientEventRecord>& events) {
  return pool_.with([&](pqxx::connection_base& c) {
    std::vector<bool> inserted;
    pqxx::work tx(c);
    for (const auto& e : events) {
      auto r = tx.exec_params(
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
  pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    MatchTx::Impl impl{tx};
    MatchTx mtx(impl);
    fn(mtx);
    tx.commit();
    return 0;
  });
}

int64_t IngestStore::purge(TimePoint raw_before, TimePoint rows_before) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto raw = tx.exec_params(
        "UPDATE webhook_deliveries SET raw_payload = NULL"
        " WHERE raw_payload IS NOT NULL AND received_at < to_timestamp($1::float8)",
        sql::ts(raw_before));
    const std::string cutoff = sql::ts(rows_before);
    tx.exec_params("DELETE FROM outbound_events WHERE created_at < to_timestamp($1::float8)"
                   " AND status IN ('sent', 'dead', 'dry_run')", cutoff);
    tx.exec_params("DELETE FROM webhook_deliveries WHERE received_at < to_timestamp($1::float8)", cutoff);
    tx.exec_params("DELETE FROM payments p WHERE created_at < to_timestamp($1::float8) AND status <> 'waiting'"
                   " AND NOT EXISTS (SELECT 1 FROM outbound_events o WHERE o.payment_id = p.id)", cutoff);
    tx.exec_params("DELETE FROM client_events c WHERE received_at < to_timestamp($1::float8)"
                   " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.client_event_id = c.id)", cutoff);
    tx.commit();
    return static_cast<int64_t>(raw.affected_rows());
  });
}

}  // namespace capi::store
