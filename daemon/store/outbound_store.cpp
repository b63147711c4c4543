#include "store/outbound_store.h"

#include "store/pg_pool.h"
#include "store/row_mapping.h"
#include "store/sql_util.h"

#include <algorithm>

namespace capi::store {
namespace {
// The dispatcher's bookkeeping does not wait for its commit to reach the disk. A crash of
// PostgreSQL may lose the last moments of it: a lost claim only frees its rows, and a lost
// outcome makes the send repeat after the lease, with the same event_id, which Meta
// deduplicates. Webhook and browser-event intake always commit synchronously.
void relaxedCommit(pqxx::work& tx) { tx.exec("SET LOCAL synchronous_commit = off"); }
}  // namespace

std::vector<ClaimedEvent> OutboundStore::claim(const std::string& owner, TimePoint now, std::chrono::seconds lease,
                                               int limit) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    relaxedCommit(tx);
    const std::string t = sql::ts(now);
    auto r = sql::prepared(tx, "claim_due",
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

std::vector<int64_t> OutboundStore::renewLease(const std::string& owner, const std::vector<int64_t>& ids,
                                               TimePoint until) {
  std::vector<std::optional<std::string>> id_texts;
  id_texts.reserve(ids.size());
  for (const auto id : ids) id_texts.emplace_back(std::to_string(id));
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    relaxedCommit(tx);
    const auto r = tx.exec_params("UPDATE outbound_events SET lease_expires_at = to_timestamp($3::float8)"
                                  " WHERE id = ANY($1::bigint[]) AND lease_owner = $2 RETURNING id",
                                  sql::arrayLiteral(id_texts), owner, sql::ts(until));
    tx.commit();
    std::vector<int64_t> held;
    held.reserve(r.size());
    for (const auto& row : r) held.push_back(row[0].as<int64_t>());
    return held;
  });
}

namespace {
using Column = std::vector<std::optional<std::string>>;
std::optional<std::string> optionalInt(std::optional<int> v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}
std::optional<std::string> optionalText(const std::string& v) {
  return v.empty() ? std::nullopt : std::optional<std::string>(v);
}
std::optional<std::string> nonZero(int v) { return v != 0 ? optionalInt(v) : std::nullopt; }
}  // namespace

// One UPDATE and one INSERT per batch, whatever its size: the rows travel as parallel arrays
// through unnest(). Per-row statements made bookkeeping, not sending, the dispatcher's limit.
void OutboundStore::complete(const std::string& owner, const std::vector<EventOutcome>& outcomes,
                             const std::vector<AttemptRecord>& attempts, TimePoint now) {
  Column released;
  Column id, status, add, next_at, error, http, trace, test_code;
  for (const auto& o : outcomes) {
    if (o.status.empty()) {
      released.push_back(std::to_string(o.id));
      continue;
    }
    id.push_back(std::to_string(o.id));
    status.push_back(o.status);
    add.push_back(o.count_attempt ? "1" : "0");
    next_at.push_back(sql::ts(o.next_attempt_at));
    error.push_back(optionalText(o.last_error));
    http.push_back(optionalInt(o.http_status));
    trace.push_back(optionalText(o.fbtrace_id));
    test_code.push_back(o.test_event_code ? "true" : "false");
  }
  Column a_id, a_at, a_http, a_code, a_sub, a_class, a_msg, a_trace, a_latency, a_batch;
  for (const auto& a : attempts) {
    a_id.push_back(std::to_string(a.outbound_event_id));
    a_at.push_back(sql::ts(a.attempted_at));
    a_http.push_back(optionalInt(a.http_status));
    a_code.push_back(nonZero(a.graph_code));
    a_sub.push_back(nonZero(a.graph_subcode));
    a_class.push_back(a.error_class);
    a_msg.push_back(optionalText(a.message));
    a_trace.push_back(optionalText(a.fbtrace_id));
    a_latency.push_back(std::to_string(a.latency_ms));
    a_batch.push_back(std::to_string(a.batch_size));
  }
  pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    relaxedCommit(tx);
    // Planned once: the arrays' sizes vary from call to call, and PostgreSQL kept planning the
    // statements below for each (planning cost as much as running them at moderate rates).
    tx.exec("SET LOCAL plan_cache_mode = force_generic_plan");
    if (!released.empty())
      tx.exec_params("UPDATE outbound_events SET lease_owner = NULL, lease_expires_at = NULL"
                     " WHERE id = ANY($1::bigint[]) AND lease_owner = $2",
                     sql::arrayLiteral(released), owner);
    if (!id.empty())
      sql::prepared(tx, "complete_batch",
          "UPDATE outbound_events o SET status = u.status, attempts = o.attempts + u.add,"
          " next_attempt_at = to_timestamp(u.next_at), last_error = u.error, last_http_status = u.http,"
          " fbtrace_id = coalesce(u.trace, o.fbtrace_id), test_event_code = o.test_event_code OR u.test_code,"
          " sent_at = CASE WHEN u.status = 'sent' THEN to_timestamp($9::float8) ELSE o.sent_at END,"
          " lease_owner = NULL, lease_expires_at = NULL"
          " FROM unnest($1::bigint[], $2::text[], $3::int[], $4::float8[], $5::text[], $6::int[], $7::text[],"
          "             $8::bool[]) AS u(id, status, add, next_at, error, http, trace, test_code)"
          " WHERE o.id = u.id AND o.lease_owner = $10",
          sql::arrayLiteral(id), sql::arrayLiteral(status), sql::arrayLiteral(add), sql::arrayLiteral(next_at),
          sql::arrayLiteral(error), sql::arrayLiteral(http), sql::arrayLiteral(trace), sql::arrayLiteral(test_code),
          sql::ts(now), owner);
    if (!a_id.empty())
      sql::prepared(tx, "record_attempts",
          "INSERT INTO send_attempts (outbound_event_id, attempted_at, http_status, graph_code, graph_subcode,"
          " error_class, message, fbtrace_id, latency_ms, batch_size)"
          " SELECT id, to_timestamp(at), http, code, subcode, class, message, trace, latency, batch"
          " FROM unnest($1::bigint[], $2::float8[], $3::int[], $4::int[], $5::int[], $6::text[], $7::text[],"
          "             $8::text[], $9::int[], $10::int[])"
          "      AS a(id, at, http, code, subcode, class, message, trace, latency, batch)",
          sql::arrayLiteral(a_id), sql::arrayLiteral(a_at), sql::arrayLiteral(a_http), sql::arrayLiteral(a_code),
          sql::arrayLiteral(a_sub), sql::arrayLiteral(a_class), sql::arrayLiteral(a_msg), sql::arrayLiteral(a_trace),
          sql::arrayLiteral(a_latency), sql::arrayLiteral(a_batch));
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

void OutboundStore::makeDueNow(const std::vector<std::string>& pixel_ids, const std::string& error_prefix,
                               TimePoint now) {
  if (pixel_ids.empty()) return;
  std::vector<std::optional<std::string>> pixels(pixel_ids.begin(), pixel_ids.end());
  pool_.with([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params("UPDATE outbound_events SET next_attempt_at = to_timestamp($3::float8)"
                   " WHERE status IN ('pending', 'retrying') AND pixel_id = ANY($1::text[])"
                   " AND starts_with(last_error, $2) AND next_attempt_at > to_timestamp($3::float8)",
                   sql::arrayLiteral(pixels), error_prefix, sql::ts(now));
    tx.commit();
    return 0;
  });
}

QueueStats OutboundStore::stats(TimePoint now) {
  return pool_.with([&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    QueueStats s;
    // Runs on every /metrics scrape. Unsent rows are counted from their partial index; sent ones,
    // nearly the whole table, as the total (an index-only scan of the narrowest index) minus the
    // rest, in one statement so both counts share a snapshot.
    int64_t total = 0, unsent = 0;
    for (const auto& r : tx.exec("SELECT status, count(*) FROM outbound_events WHERE status <> 'sent' GROUP BY status"
                                 " UNION ALL SELECT NULL, count(*) FROM outbound_events")) {
      if (r[0].is_null()) {
        total = r[1].as<int64_t>();
      } else {
        s.by_status[r[0].as<std::string>()] = r[1].as<int64_t>();
        unsent += r[1].as<int64_t>();
      }
    }
    if (total > unsent) s.by_status["sent"] = total - unsent;
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
