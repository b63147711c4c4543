// POST /v1/events bodies: validation, event_time policy and user_data building
// (capi/client_event.h), which is where browser-supplied personal data is normalized and hashed.
//
// Input: a request body (seeds: fuzz/corpus/fuzz_client_events/, the README's event shapes).
//
// The README's contract: a bad body is answered 400 naming the problems, nothing stored. So:
//  * no exception escapes (it would become a 500);
//  * problems and events exclude each other, and a body without problems yields 1 to 1000 events;
//  * each event has a non-empty event_name (<= 100) and event_id (<= 256), an order_ref <= 256,
//    an event_time within the policy's window around arrival, received_at = arrival;
//  * user_data_json holds only hashed fields as lists of 64 lowercase hex digits and verbatim
//    keys Meta knows (fbp, fbc, IP and user agent have their own columns); anomalies_json is a
//    JSON array and custom_data_json a JSON object;
//  * no stored string holds a NUL byte (PostgreSQL cannot store it).
#include "capi/client_event.h"
#include "capi/user_data.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

using capi::ClientEventBatch;
using capi::EventTimePolicy;
using capi::fromUnixSeconds;
using capi::RequestOrigin;
using capi::UserData;
namespace normalize = capi::normalize;

namespace {

constexpr int64_t kNow = 1724250100;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_client_events: invariant broken: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

bool isLowerHex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool jsonIs(const std::string& json, const std::type_info& type) {
  try {
    Poco::JSON::Parser parser;
    return parser.parse(json).type() == type;
  } catch (const std::exception&) {
    return false;
  }
}

void checkEvent(const capi::store::ClientEventRecord& e, const EventTimePolicy& policy) {
  for (const std::string* s : {&e.event_id, &e.event_name, &e.time_adjusted, &e.order_ref, &e.event_source_url,
                               &e.fbp, &e.fbc, &e.client_ip_address, &e.client_user_agent, &e.user_data_json,
                               &e.custom_data_json, &e.anomalies_json})
    check(s->find('\0') == std::string::npos, "a NUL byte in a stored string");
  check(!e.event_name.empty() && e.event_name.size() <= 100, "event_name empty or too long");
  check(!e.event_id.empty() && e.event_id.size() <= 256, "event_id empty or too long");
  check(e.order_ref.size() <= 256, "order_ref too long");
  check(e.client_user_agent.size() <= 1024, "user agent too long");
  check(e.received_at == fromUnixSeconds(kNow), "received_at is not the arrival time");
  const int64_t t = capi::toUnixSeconds(e.event_time);
  check(t >= kNow - policy.max_past_skew_seconds && t <= kNow + policy.max_future_skew_seconds,
        "event_time outside the policy window");

  UserData ud;
  try {
    ud = UserData::fromJson(e.user_data_json);
  } catch (const std::exception&) {
    fail("user_data_json does not read back");
  }
  for (const auto& [key, hashes] : ud.hashed) {
    check(normalize::parseField(key).has_value(), "a hashed key that is not a field");
    check(!hashes.empty(), "an empty hash list");
    for (const auto& h : hashes) check(isLowerHex64(h), "a hash that is not 64 lowercase hex digits");
  }
  for (const auto& [key, value] : ud.verbatim) {
    check(normalize::isVerbatimField(key), "a verbatim key Meta does not know");
    check(key != "fbp" && key != "fbc" && key != "client_ip_address" && key != "client_user_agent",
          "a column's identifier left in user_data");
    check(!value.empty(), "an empty verbatim value");
  }
  check(jsonIs(e.anomalies_json, typeid(Poco::JSON::Array::Ptr)), "anomalies_json is not a JSON array");
  check(jsonIs(e.custom_data_json, typeid(Poco::JSON::Object::Ptr)), "custom_data_json is not a JSON object");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const RequestOrigin kOrigin{"203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64)"};
  static const EventTimePolicy kPolicy{};
  static const normalize::Options kOptions{"US", ""};

  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ClientEventBatch batch;
  try {
    batch = capi::parseClientEvents(body, kOrigin, fromUnixSeconds(kNow), kPolicy, kOptions);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_client_events: parseClientEvents threw: %s\n", e.what());
    std::abort();
  } catch (...) {
    fail("parseClientEvents threw a non-std exception");
  }

  if (!batch.problems.empty()) {
    check(batch.events.empty(), "events stored despite problems");
    for (const auto& p : batch.problems) check(!p.field.empty() && !p.problem.empty(), "a problem without a name");
    return 0;
  }
  check(!batch.events.empty() && batch.events.size() <= capi::kMaxEventsPerRequest, "no problems but no events");
  for (const auto& e : batch.events) checkEvent(e, kPolicy);
  return 0;
}
