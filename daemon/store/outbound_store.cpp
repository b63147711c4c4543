#include "store/outbound_store.h"

#include "store/pg_pool.h"
#include "store/row_mapping.h"
#include "store/sql_util.h"

#include <algorithm>

namespace capi::store {
std::vector<ClaimedEvent> OutboundStore::claim(const std::string& owner, TimePoint now, std::chrono::seconds lease,
                                               int limit) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const std::string t = sql::ts(now);
    auto r = tx.exec_params(
        "WITH due AS ("
        "  SELECT id FROM outbound_events"
        "  WHERE status IN ('pending', 'retrying') AND next_attempt_at <= to_timestamp($1::float8)"
        "    AND (lease_expires_at IS NULL OR lease_expires_at < to_timestamp($1::float8))"
        "    AND pixel_id NOT IN (SELECT pixel_id FROM pixel_pauses WHERE next_probe_at > to_timestamp($1::float8))"
        "  ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE outbound_events o SET lease_owner = $3,"
        "   lease_expires_at = to_timestamp($1::float8) + make_interval(secs => $4)"
        " FROM due WHERE o.id = due.id"
        " RETURNING o.id, o.pixel_id, o.event_id, o.payload::text, o.attempts, " + sql::epoch("o.event_time"),
        t, limit, owner, static_cast<int>(lease.count()));
    tx.commit();
    std::vector<ClaimedEvent> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      ClaimedEvent e;
      e.id = row[0].as<int64_t>();
      e.pixel_id = row[1].as<std::string>();
      e.event_id = row[2].as<std::string>();
      e.payload_json = row[3].as<std::string>();
      e.attempts = row[4].as<int>();
      e.event_time = sql::toTimePoint(row[5]);
      out.push_back(std::move(e));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  });
}

void OutboundStore::complete(const std::string& owner, const std::vector<EventOutcome>& outcomes,
                             const std::vector<AttemptRecord>& attempts, TimePoint now) {
  pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const std::string t = sql::ts(now);
    for (const auto& o : outcomes) {
      const std::string http = o.http_status ? std::to_string(*o.http_status) : std::string();
      if (o.status.empty()) {
        tx.exec_params("UPDATE outbound_events SET lease_owner = NULL, lease_expires_at = NULL"
                       " WHERE id = $1 AND lease_owner = $2", o.id, owner);
        continue;
      }
      tx.exec_params(
          "UPDATE outbound_events SET status = $2, attempts = attempts + $3::int,"
          " next_attempt_at = to_timestamp($4::float8), last_error = $5, last_http_status = $6::int,"
          " fbtrace_id = coalesce($7, fbtrace_id), test_event_code = test_event_code OR $8,"
          " sent_at = CASE WHEN $2 = 'sent' THEN to_timestamp($9::float8) ELSE sent_at END,"
          " lease_owner = NULL, lease_expires_at = NULL"
          " WHERE id = $1 AND lease_owner = $10",
          o.id, o.status, o.count_attempt ? 1 : 0, sql::ts(o.next_attempt_at), sql::nullIfEmpty(o.last_error),
          sql::nullIfEmpty(http), sql::nullIfEmpty(o.fbtrace_id), o.test_event_code, t, owner);
    }
    for (const auto& a : attempts) {
      const std::string http = a.http_status ? std::to_string(*a.http_status) : std::string();
      tx.exec_params(
          "INSERT INTO send_attempts (outbound_event_id, attempted_at, http_status, graph_code, graph_subcode,"
          " error_class, message, fbtrace_id, latency_ms, batch_size)"
          " VALUES ($1, to_timestamp($2::float8), $3::int, NULLIF($4, 0), NULLIF($5, 0), $6, $7, $8, $9, $10)",
          a.outbound_event_id, sql::ts(a.attempted_at), sql::nullIfEmpty(http), a.graph_code, a.graph_subcode,
          a.error_class, sql::nullIfEmpty(a.message), sql::nullIfEmpty(a.fbtrace_id), a.latency_ms, a.batch_size);
    }
    tx.commit();
    return 0;
  });
}

void OutboundStore::pausePixel(const std::string& pixel_id, const std::string& reason, TimePoint now,
                               TimePoint next_probe) {
  pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO pixel_pauses (pixel_id, reason, paused_at, next_probe_at)"
        " VALUES ($1, $2, to_timestamp($3::float8), to_timestamp($4::float8))"
        " ON CONFLICT (pixel_id) DO UPDATE SET reason = EXCLUDED.reason, next_probe_at = EXCLUDED.next_probe_at",
        pixel_id, reason, sql::ts(now), sql::ts(next_probe));
    tx.commit();
    return 0;
  });
}

void OutboundStore::resumePixel(const std::string& pixel_id) {
  pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params("DELETE FROM pixel_pauses WHERE pixel_id = $1", pixel_id);
    tx.commit();
    return 0;
  });
}

std::vector<PixelPause> OutboundStore::pausedPixels() {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<PixelPause> out;
    for (const auto& r : tx.exec("SELECT pixel_id, reason, " + sql::epoch("paused_at") + ", " +
                                 sql::epoch("next_probe_at") + " FROM pixel_pauses ORDER BY pixel_id")) {
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), sql::toTimePoint(r[2]),
                     sql::toTimePoint(r[3])});
    }
    return out;
  });
}

void OutboundStore::probePausedNow(TimePoint now) {
  pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params("UPDATE pixel_pauses SET next_probe_at = to_timestamp($1::float8)", sql::ts(now));
    tx.commit();
    return 0;
  });
}

QueueStats OutboundStore::stats(TimePoint now) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    QueueStats s;
    for (const auto& r : tx.exec("SELECT status, count(*) FROM outbound_events GROUP BY status"))
      s.by_status[r[0].as<std::string>()] = r[1].as<int64_t>();
    auto r = tx.exec_params(
        "SELECT $1::float8 - " + sql::epoch("min(created_at)") +
            " FROM outbound_events WHERE status IN ('pending', 'retrying')",
        sql::ts(now));
    if (!r.empty() && !r[0][0].is_null()) s.oldest_pending_age_seconds = r[0][0].as<double>();
    return s;
  });
}

std::vector<OutboundRecord> OutboundStore::list(const std::string& status, int limit) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<OutboundRecord> out;
    auto r = tx.exec_params("SELECT " + outboundColumns() +
                                " FROM outbound_events WHERE ($1::text IS NULL OR status = $1)"
                                " ORDER BY (status IN ('pending', 'retrying')) DESC, next_attempt_at, id LIMIT $2",
                            sql::nullIfEmpty(status), limit);
    for (const auto& row : r) out.push_back(toOutbound(row));
    return out;
  });
}

std::optional<OutboundRecord> OutboundStore::find(int64_t id) {
  return pool_.with([&](pqxx::connection_base& c) -> std::optional<OutboundRecord> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT " + outboundColumns() + " FROM outbound_events WHERE id = $1", id);
    if (r.empty()) return std::nullopt;
    return toOutbound(r[0]);
  });
}

std::vector<AttemptRecord> OutboundStore::attempts(int64_t id) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<AttemptRecord> out;
    auto r = tx.exec_params(
        "SELECT outbound_event_id, " + sql::epoch("attempted_at") +
            ", http_status, coalesce(graph_code, 0), coalesce(graph_subcode, 0), coalesce(error_class, ''),"
            " coalesce(message, ''), coalesce(fbtrace_id, ''), coalesce(latency_ms, 0), coalesce(batch_size, 0)"
            " FROM send_attempts WHERE outbound_event_id = $1 ORDER BY attempted_at, id",
        id);
    for (const auto& row : r) {
      AttemptRecord a;
      a.outbound_event_id = row[0].as<int64_t>();
      a.attempted_at = sql::toTimePoint(row[1]);
      if (!row[2].is_null()) a.http_status = row[2].as<int>();
      a.graph_code = row[3].as<int>();
      a.graph_subcode = row[4].as<int>();
      a.error_class = row[5].as<std::string>();
      a.message = row[6].as<std::string>();
      a.fbtrace_id = row[7].as<std::string>();
      a.latency_ms = row[8].as<int>();
      a.batch_size = row[9].as<int>();
      out.push_back(std::move(a));
    }
    return out;
  });
}

int64_t OutboundStore::requeue(int64_t id, TimePoint now) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params(
        "UPDATE outbound_events SET status = 'pending', attempts = 0, next_attempt_at = to_timestamp($2::float8),"
        " lease_owner = NULL, lease_expires_at = NULL"
        " WHERE id = $1 AND status IN ('dead', 'retrying', 'dry_run')"
        "   AND (lease_expires_at IS NULL OR lease_expires_at < to_timestamp($2::float8))",
        id, sql::ts(now));
    tx.exec("SELECT pg_notify('capi_outbound', '')");
    tx.commit();
    return static_cast<int64_t>(r.affected_rows());
  });
}

int64_t OutboundStore::requeueAllDead(TimePoint now) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params(
        "UPDATE outbound_events SET status = 'pending', attempts = 0, next_attempt_at = to_timestamp($1::float8),"
        " lease_owner = NULL, lease_expires_at = NULL WHERE status = 'dead'",
        sql::ts(now));
    tx.exec("SELECT pg_notify('capi_outbound', '')");
    tx.commit();
    return static_cast<int64_t>(r.affected_rows());
  });
}

}  // namespace capi::store
