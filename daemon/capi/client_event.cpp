#include "capi/client_event.h"

#include "capi/strict_json.h"
#include "capi/user_data.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

namespace capi {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

bool isObject(const Var& v) { return v.type() == typeid(Object::Ptr); }
bool isArray(const Var& v) { return v.type() == typeid(Array::Ptr); }

// Strings, or integers rendered as strings (order numbers are often numeric).
bool asIdentifier(const Var& v, std::string& out) {
  if (v.isEmpty()) return false;
  if (v.isString()) {
    out = v.toString();
    return true;
  }
  if (v.isInteger()) {
    out = v.toString();
    return true;
  }
  return false;
}

bool asInteger(const Var& v, int64_t& out) {
  try {
    if (v.isInteger()) {
      out = v.convert<Poco::Int64>();
      return true;
    }
    if (v.isNumeric()) {
      const double d = v.convert<double>();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) return false;
      out = static_cast<int64_t>(d);
      return true;
    }
    if (v.isString()) {
      const std::string s = v.toString();
      if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
      out = std::stoll(s);
      return true;
    }
  } catch (const Poco::Exception&) {
  }
  return false;
}

std::string stringify(const Var& v) {
  std::ostringstream s;
  if (isObject(v))
    v.extract<Object::Ptr>()->stringify(s);
  else
    Poco::JSON::Stringifier::stringify(v, s);
  return s.str();
}

void parseOne(const Object::Ptr& ev, int index, const RequestOrigin& origin, TimePoint now,
              const EventTimePolicy& policy, const normalize::Options& options, ClientEventBatch& out) {
  auto problem = [&](const std::string& field, const std::string& what) {
    out.problems.push_back({index, field, what});
  };
  store::ClientEventRecord rec;
  rec.received_at = now;

  if (!asIdentifier(ev->get("event_name"), rec.event_name) || rec.event_name.empty())
    problem("event_name", "required: a non-empty string such as \"Purchase\"");
  else if (rec.event_name.size() > 100)
    problem("event_name", "longer than 100 characters");

  if (!asIdentifier(ev->get("event_id"), rec.event_id) || rec.event_id.empty())
    problem("event_id", "required: the eventID the pixel sent for this event");
  else if (rec.event_id.size() > 256)
    problem("event_id", "longer than 256 characters");

  int64_t reported = 0;
  // Up to year 5138 in seconds or in milliseconds; beyond that it is not a time.
  if (!ev->has("event_time") || !asInteger(ev->get("event_time"), reported) || reported <= 0 ||
      reported >= 100000000000000LL) {
    problem("event_time", "required: unix time in seconds (an integer)");
  } else {
    rec.time_adjusted = sanitizeEventTime(reported, now, policy, rec.event_time);
    if (!rec.time_adjusted.empty()) {
      // TimePoint counts nanoseconds in int64, so it ends in 2262; a browser clock later than that
      // (an 11-digit value in seconds, up to year 5138) is kept as the last instant it can hold.
      constexpr int64_t kMaxSeconds =
          std::chrono::duration_cast<std::chrono::seconds>(TimePoint::max().time_since_epoch()).count();
      const int64_t reported_seconds = reported >= 100000000000LL ? reported / 1000 : reported;
      rec.reported_event_time = fromUnixSeconds(std::min(reported_seconds, kMaxSeconds));
      out.warnings.push_back({index, "event_time", "replaced: " + rec.time_adjusted});
    }
  }

  if (ev->has("order_ref") && !ev->get("order_ref").isEmpty()) {
    if (!asIdentifier(ev->get("order_ref"), rec.order_ref))
      problem("order_ref", "must be a string");
    else if (rec.order_ref.size() > 256)
      problem("order_ref", "longer than 256 characters");
  }

  if (ev->has("event_source_url") && !ev->get("event_source_url").isEmpty()) {
    const Var& u = ev->get("event_source_url");
    if (!u.isString())
      problem("event_source_url", "must be a string");
    else {
      rec.event_source_url = u.toString();
      if (rec.event_source_url.rfind("http://", 0) != 0 && rec.event_source_url.rfind("https://", 0) != 0)
        problem("event_source_url", "must be an http(s) URL");
      else if (rec.event_source_url.size() > 2048)
        problem("event_source_url", "longer than 2048 characters");
    }
  }

  UserData ud;
  if (ev->has("user_data") && !ev->get("user_data").isEmpty()) {
    const Var& u = ev->get("user_data");
    if (!isObject(u)) {
      problem("user_data", "must be an object");
    } else {
      for (const auto& [key, value] : *u.extract<Object::Ptr>()) {
        std::vector<std::string> values;
        if (isArray(value)) {
          auto arr = value.extract<Array::Ptr>();
          for (size_t i = 0; i < arr->size(); ++i) {
            std::string s;
            if (asIdentifier(arr->get(i), s)) values.push_back(s);
            else problem("user_data." + key, "list elements must be strings");
          }
        } else if (!value.isEmpty()) {
          std::string s;
          if (asIdentifier(value, s)) values.push_back(s);
          else problem("user_data." + key, "must be a string or a list of strings");
        }
        for (const auto& v : values) {
          if (v.size() > 1024) {
            problem("user_data." + key, "longer than 1024 characters");
            continue;
          }
          if (!ud.add(key, v, options))
            out.warnings.push_back({index, "user_data." + key, "unknown field ignored"});
        }
      }
    }
  }
  for (const auto& a : ud.anomalies)
    if (a.kind != "prehashed") out.warnings.push_back({index, "user_data." + a.field, a.detail});

  if (ev->has("custom_data") && !ev->get("custom_data").isEmpty()) {
    if (!isObject(ev->get("custom_data")))
      problem("custom_data", "must be an object");
    else
      rec.custom_data_json = stringify(ev->get("custom_data"));
  }

  // Identifiers Meta wants verbatim live in their own columns, not in user_data.
  auto take = [&](const char* key, std::string& dest) {
    auto it = ud.verbatim.find(key);
    if (it != ud.verbatim.end()) {
      dest = it->second;
      ud.verbatim.erase(it);
    }
  };
  take("fbp", rec.fbp);
  take("fbc", rec.fbc);
  take("client_ip_address", rec.client_ip_address);
  take("client_user_agent", rec.client_user_agent);
  if (rec.client_ip_address.empty()) rec.client_ip_address = origin.client_ip;
  if (rec.client_user_agent.empty()) rec.client_user_agent = origin.user_agent;
  if (rec.client_user_agent.size() > 1024) rec.client_user_agent.resize(1024);

  rec.user_data_json = ud.toJson();
  rec.anomalies_json = ud.anomaliesJson();
  out.events.push_back(std::move(rec));
}

}  // namespace

std::string sanitizeEventTime(int64_t reported, TimePoint received, const EventTimePolicy& policy,
                              TimePoint& effective) {
  // 13-digit values are JavaScript's Date.now() milliseconds, the most common browser mistake.
  std::string reason;
  if (reported >= 100000000000LL) {
    reported /= 1000;
    reason = "milliseconds";
  }
  const int64_t arrival = toUnixSeconds(received);
  if (reported > arrival + policy.max_future_skew_seconds) {
    effective = received;
    return "future";
  }
  if (reported < arrival - policy.max_past_skew_seconds) {
    effective = received;
    return "too_old";
  }
  effective = fromUnixSeconds(reported);
  return reason;
}

ClientEventBatch parseClientEvents(std::string_view body, const RequestOrigin& origin, TimePoint now,
                                   const EventTimePolicy& policy, const normalize::Options& options) {
  ClientEventBatch out;
  // PostgreSQL cannot store NUL in text or jsonb, and libpq would cut identifiers at it.
  if (body.find('\0') != std::string_view::npos || body.find("\\u0000") != std::string_view::npos) {
    out.problems.push_back({0, "body", "contains a NUL character"});
    return out;
  }
  Var root;
  try {
    root = parseUntrustedJson(std::string(body));
  } catch (const Poco::Exception& e) {
    out.problems.push_back({0, "body", "not valid JSON: " + e.message()});
    return out;
  }
  if (!isObject(root)) {
    out.problems.push_back({0, "body", "must be a JSON object (an event, or {\"data\": [events]})"});
    return out;
  }
  auto obj = root.extract<Object::Ptr>();
  std::vector<Object::Ptr> events;
  if (obj->has("data")) {
    const Var& data = obj->get("data");
    if (!isArray(data)) {
      out.problems.push_back({0, "data", "must be a list of events"});
      return out;
    }
    auto arr = data.extract<Array::Ptr>();
    if (arr->size() == 0) out.problems.push_back({0, "data", "is empty"});
    if (arr->size() > kMaxEventsPerRequest)
      out.problems.push_back({0, "data", "more than 1000 events in one request"});
    if (!out.problems.empty()) return out;
    for (size_t i = 0; i < arr->size(); ++i) {
      if (!isObject(arr->get(i))) {
        out.problems.push_back({static_cast<int>(i), "data[" + std::to_string(i) + "]", "must be an object"});
        continue;
      }
      events.push_back(arr->getObject(static_cast<unsigned>(i)));
    }
  } else {
    events.push_back(obj);
  }
  for (size_t i = 0; i < events.size(); ++i)
    parseOne(events[i], static_cast<int>(i), origin, now, policy, options, out);
  if (!out.problems.empty()) out.events.clear();
  return out;
}

}  // namespace capi
