#include "store/row_mapping.h"

#include "store/sql_util.h"

namespace capi::store {

const std::string& paymentColumns() {
  static const std::string columns =
    "id, provider, payment_key, coalesce(order_ref, ''), refs, coalesce(browser_event_id, ''), amount_minor, "
    "coalesce(currency, ''), " + sql::epoch("paid_at") + ", user_data::text, hash_anomalies::text, status, " +
    sql::epoch("match_deadline") + ", " + sql::epoch("created_at") + ", " + sql::epoch("started_at");

  return columns;
}

PaymentRecord toPayment(const pqxx::row& r) {
  PaymentRecord p;
  p.id = r[0].as<int64_t>();
  p.provider = r[1].as<std::string>();
  p.payment_key = r[2].as<std::string>();
  p.order_ref = r[3].as<std::string>();
  p.refs = sql::parseTextArray(r[4]);
  p.browser_event_id = r[5].as<std::string>();
  if (!r[6].is_null()) p.amount_minor = r[6].as<int64_t>();
  p.currency = r[7].as<std::string>();
  p.paid_at = sql::toTimePoint(r[8]);
  p.user_data_json = r[9].as<std::string>();
  p.anomalies_json = r[10].as<std::string>();
  p.status = r[11].as<std::string>();
  p.match_deadline = sql::toTimePoint(r[12]);
  p.created_at = sql::toTimePoint(r[13]);
  p.started_at = sql::toOptionalTimePoint(r[14]);
  return p;
}

const std::string& clientEventColumns() {
  static const std::string columns =
    "id, event_id, event_name, " + sql::epoch("event_time") + ", " + sql::epoch("reported_event_time") +
    ", coalesce(time_adjusted, ''), coalesce(order_ref, ''), coalesce(event_source_url, ''), "
    "coalesce(fbp, ''), coalesce(fbc, ''), coalesce(client_ip_address, ''), coalesce(client_user_agent, ''), "
    "user_data::text, custom_data::text, hash_anomalies::text, " + sql::epoch("received_at");

  return columns;
}

ClientEventRecord toClientEvent(const pqxx::row& r) {
  ClientEventRecord e;
  e.id = r[0].as<int64_t>();
  e.event_id = r[1].as<std::string>();
  e.event_name = r[2].as<std::string>();
  e.event_time = sql::toTimePoint(r[3]);
  e.reported_event_time = sql::toOptionalTimePoint(r[4]);
  e.time_adjusted = r[5].as<std::string>();
  e.order_ref = r[6].as<std::string>();
  e.event_source_url = r[7].as<std::string>();
  e.fbp = r[8].as<std::string>();
  e.fbc = r[9].as<std::string>();
  e.client_ip_address = r[10].as<std::string>();
  e.client_user_agent = r[11].as<std::string>();
  e.user_data_json = r[12].as<std::string>();
  e.custom_data_json = r[13].as<std::string>();
  e.anomalies_json = r[14].as<std::string>();
  e.received_at = sql::toTimePoint(r[15]);
  return e;
}

const std::string& outboundColumns() {
  static const std::string columns =
    "id, pixel_id, event_name, event_id, " + sql::epoch("event_time") +
    ", coalesce(order_ref, ''), payment_id, matched, payload::text, status, attempts, " +
    sql::epoch("next_attempt_at") + ", coalesce(last_error, ''), last_http_status, coalesce(fbtrace_id, ''), " +
    "test_event_code, " + sql::epoch("created_at") + ", " + sql::epoch("sent_at");

  return columns;
}

OutboundRecord toOutbound(const pqxx::row& r) {
  OutboundRecord o;
  o.id = r[0].as<int64_t>();
  o.pixel_id = r[1].as<std::string>();
  o.event_name = r[2].as<std::string>();
  o.event_id = r[3].as<std::string>();
  o.event_time = sql::toTimePoint(r[4]);
  o.order_ref = r[5].as<std::string>();
  if (!r[6].is_null()) o.payment_id = r[6].as<int64_t>();
  o.matched = r[7].as<bool>();
  o.payload_json = r[8].as<std::string>();
  o.status = r[9].as<std::string>();
  o.attempts = r[10].as<int>();
  o.next_attempt_at = sql::toTimePoint(r[11]);
  o.last_error = r[12].as<std::string>();
  if (!r[13].is_null()) o.last_http_status = r[13].as<int>();
  o.fbtrace_id = r[14].as<std::string>();
  o.test_event_code = r[15].as<bool>();
  o.created_at = sql::toTimePoint(r[16]);
  o.sent_at = sql::toOptionalTimePoint(r[17]);
  return o;
}

}  // namespace capi::store
