#include "store/audit_store.h"

#include "store/pg_pool.h"
#include "store/row_mapping.h"
#include "store/sql_util.h"

namespace capi::store {

AuditFigures collectAudit(PgPool& pool, TimePoint since, TimePoint now) {
  return pool.with([&](pqxx::connection_base& c) {
    AuditFigures f;
    pqxx::read_transaction tx(c);
    const std::string s = sql::ts(since), n = sql::ts(now);

    auto r = tx.exec_params(
        "SELECT count(*), count(*) FILTER (WHERE o.matched), count(*) FILTER (WHERE NOT o.matched),"
        " count(*) FILTER (WHERE o.matched AND ce.event_name <> 'Purchase')"
        " FROM outbound_events o LEFT JOIN payments p ON p.id = o.payment_id"
        " LEFT JOIN client_events ce ON ce.id = p.client_event_id"
        " WHERE o.created_at >= to_timestamp($1::float8) AND o.event_name = 'Purchase'",
        s);
    f.purchases = r[0][0].as<int64_t>();
    f.matched = r[0][1].as<int64_t>();
    f.unmatched = r[0][2].as<int64_t>();
    f.matched_other_name = r[0][3].as<int64_t>();

    r = tx.exec_params(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.95) WITHIN GROUP (ORDER BY d), max(d)"
        " FROM (SELECT extract(epoch from p.created_at - ce.event_time)::float8 AS d FROM payments p"
        "       JOIN client_events ce ON ce.id = p.client_event_id"
        "       WHERE p.created_at >= to_timestamp($1::float8)) x",
        s);
    if (!r[0][0].is_null()) f.delay_p50 = r[0][0].as<double>();
    if (!r[0][1].is_null()) f.delay_p95 = r[0][1].as<double>();
    if (!r[0][2].is_null()) f.delay_max = r[0][2].as<double>();

    f.browser_events = tx.exec_params("SELECT count(*) FROM client_events WHERE received_at >= to_timestamp($1::float8)",
                                      s)[0][0].as<int64_t>();
    f.payments = tx.exec_params("SELECT count(*) FROM payments WHERE created_at >= to_timestamp($1::float8)",
                                s)[0][0].as<int64_t>();
    for (const auto& row : tx.exec_params(
             "SELECT time_adjusted, count(*) FROM client_events WHERE received_at >= to_timestamp($1::float8)"
             " AND time_adjusted IS NOT NULL GROUP BY 1", s))
      f.time_replaced[row[0].as<std::string>()] = row[1].as<int64_t>();

    f.test_code_events = tx.exec_params(
        "SELECT count(*) FROM outbound_events WHERE created_at >= to_timestamp($1::float8) AND test_event_code",
        s)[0][0].as<int64_t>();

    for (const auto& row : tx.exec_params(
             "SELECT a->>'field' || ':' || (a->>'kind'), count(*) FROM ("
             "  SELECT jsonb_array_elements(hash_anomalies) a FROM client_events WHERE received_at >= to_timestamp($1::float8)"
             "  UNION ALL"
             "  SELECT jsonb_array_elements(hash_anomalies) FROM payments WHERE created_at >= to_timestamp($1::float8)) x"
             " GROUP BY 1", s))
      f.anomalies[row[0].as<std::string>()] = row[1].as<int64_t>();

    for (const auto& row : tx.exec_params(
             // The dispatcher records one class for every transient failure; the operator needs to
             // know whether the network, Meta's servers or rate limits were behind it.
             "SELECT CASE WHEN error_class = 'transient' THEN"
             "   CASE WHEN http_status IS NULL THEN 'network' WHEN http_status >= 500 THEN 'server'"
             "        WHEN http_status = 429 OR graph_code IN (4, 17, 341, 613, 80003, 80004) THEN 'throttled'"
             "        ELSE 'transient' END"
             " ELSE coalesce(error_class, 'unknown') END, count(*) FROM send_attempts"
             " WHERE attempted_at >= to_timestamp($1::float8) GROUP BY 1", s)) {
      const auto cls = row[0].as<std::string>();
      const auto count = row[1].as<int64_t>();
      f.attempts += count;
      if (cls != "ok") {
        f.failed_attempts += count;
        f.failures_by_class[cls] = count;
      }
    }
    for (const auto& row : tx.exec_params(
             "SELECT CASE WHEN last_error LIKE 'expired%' THEN 'expired' WHEN last_error LIKE 'invalid%' THEN 'invalid'"
             " WHEN last_error LIKE 'gave up%' THEN 'max_attempts' ELSE 'other' END, count(*)"
             " FROM outbound_events WHERE status = 'dead' AND created_at >= to_timestamp($1::float8) GROUP BY 1", s))
      f.dead_by_reason[row[0].as<std::string>()] = row[1].as<int64_t>();

    r = tx.exec_params("SELECT $1::float8 - " + sql::epoch("min(created_at)") +
                           " FROM outbound_events WHERE status IN ('pending', 'retrying')", n);
    if (!r[0][0].is_null()) f.oldest_pending_age = r[0][0].as<double>();
    f.paused_pixels = tx.exec("SELECT count(*) FROM pixel_pauses")[0][0].as<int64_t>();
    return f;
  });
}

EventTrace findTrace(PgPool& pool, const std::string& key) {
  return pool.with([&](pqxx::connection_base& c) {
    EventTrace t;
    pqxx::read_transaction tx(c);
    for (const auto& r : tx.exec_params(
             "SELECT " + clientEventColumns() +
                 " FROM client_events WHERE event_id = $1 OR order_ref = $1"
                 " OR id IN (SELECT client_event_id FROM payments WHERE $1 = ANY(refs) OR payment_key = $1)"
                 " ORDER BY received_at, id",
             key))
      t.browser.push_back(toClientEvent(r));
    for (const auto& r : tx.exec_params(
             "SELECT " + paymentColumns() +
                 " FROM payments WHERE $1 = ANY(refs) OR payment_key = $1 OR order_ref = $1"
                 " OR id IN (SELECT payment_id FROM outbound_events WHERE event_id = $1) ORDER BY id",
             key))
      t.payments.push_back(toPayment(r));
    for (const auto& r : tx.exec_params(
             "SELECT " + outboundColumns() +
                 " FROM outbound_events WHERE event_id = $1 OR order_ref = $1"
                 " OR payment_id IN (SELECT id FROM payments WHERE $1 = ANY(refs) OR payment_key = $1)"
                 " ORDER BY id",
             key))
      t.server.push_back(toOutbound(r));
    for (const auto& p : t.payments) {
      for (const auto& r : tx.exec_params(
               "SELECT provider, delivery_id, event_type, status, coalesce(status_reason, ''), " +
                   sql::epoch("received_at") + " FROM webhook_deliveries WHERE payment_id = $1 ORDER BY received_at",
               p.id))
        t.deliveries.push_back({p.id, r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                                r[3].as<std::string>(), r[4].as<std::string>(), sql::toTimePoint(r[5])});
    }
    return t;
  });
}

}  // namespace capi::store
