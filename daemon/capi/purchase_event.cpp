#include "capi/purchase_event.h"

#include "capi/currency.h"
#include "capi/user_data.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace capi {

std::string derivedEventId(const std::string& order_ref, const std::string& payment_key) {
  return order_ref.empty() ? payment_key : order_ref;
}

std::string buildPurchasePayload(const PurchaseInputs& in) {
  using Poco::JSON::Object;
  Object ev(Poco::JSON_PRESERVE_KEY_ORDER);
  ev.set("event_name", "Purchase");
  ev.set("event_id", in.event_id);
  ev.set("event_time", static_cast<Poco::Int64>(toUnixSeconds(in.event_time)));
  ev.set("action_source", "website");
  if (!in.event_source_url.empty()) ev.set("event_source_url", in.event_source_url);

  UserData merged = UserData::fromJson(in.browser_user_data_json);
  merged.mergeHashed(UserData::fromJson(in.payment_user_data_json));
  Object user(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [key, values] : merged.hashed) {
    if (values.empty()) continue;
    if (values.size() == 1) {
      user.set(key, values.front());
    } else {
      Poco::JSON::Array a;
      for (const auto& v : values) a.add(v);
      user.set(key, a);
    }
  }
  for (const auto& [key, value] : merged.verbatim) user.set(key, value);
  if (!in.fbp.empty()) user.set("fbp", in.fbp);
  if (!in.fbc.empty()) user.set("fbc", in.fbc);
  if (!in.client_ip_address.empty()) user.set("client_ip_address", in.client_ip_address);
  if (!in.client_user_agent.empty()) user.set("client_user_agent", in.client_user_agent);
  ev.set("user_data", user);

  Object custom(Poco::JSON_PRESERVE_KEY_ORDER);
  if (!in.browser_custom_data_json.empty() && in.browser_custom_data_json != "{}") {
    Poco::JSON::Parser parser;
    auto browser = parser.parse(in.browser_custom_data_json).extract<Object::Ptr>();
    for (const auto& [k, v] : *browser)
      if (k != "value" && k != "currency" && k != "order_id") custom.set(k, v);
  }
  if (in.amount_minor && !in.currency.empty()) {
    if (!currencyExponent(in.currency))
      throw std::invalid_argument("unknown currency '" + in.currency + "'");
    custom.set("value", std::stod(formatMinorUnits(*in.amount_minor, in.currency)));
    std::string upper = in.currency;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    custom.set("currency", upper);
  }
  if (!in.order_id.empty()) custom.set("order_id", in.order_id);
  ev.set("custom_data", custom);

  std::ostringstream s;
  ev.stringify(s);
  return s.str();
}

}  // namespace capi
