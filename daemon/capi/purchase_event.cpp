#include "capi/purchase_event.h"

#include "capi/currency.h"
#include "capi/user_data.h"
#include "common/json_text.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace capi {

std::string derivedEventId(const std::string& order_ref, const std::string& payment_key) {
  return order_ref.empty() ? payment_key : order_ref;
}

namespace {

// A JSON object whose members keep the order they were first set in; setting a key again
// replaces its value in place (as Poco::JSON::Object with JSON_PRESERVE_KEY_ORDER does). Values
// are JSON text. The event is written directly rather than through a JSON document: this runs
// for every payment matched, and building and stringifying Poco objects was a fifth of the
// matching threads' CPU.
class OrderedObject {
 public:
  void set(std::string_view key, std::string json_value) {
    for (auto& m : members_)
      if (m.first == key) {
        m.second = std::move(json_value);
        return;
      }
    members_.emplace_back(std::string(key), std::move(json_value));
  }
  void setString(std::string_view key, std::string_view value) { set(key, jsonQuote(value)); }
  std::string text() const {
    std::string out = "{";
    for (const auto& [k, v] : members_) {
      if (out.size() > 1) out += ',';
      appendJsonString(out, k);
      out += ':';
      out += v;
    }
    out += '}';
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

// "49.99", "50.00", "0.500" -> 49.99, 50, 0.5: the decimal amount as a JSON number, without
// passing through a binary double.
std::string jsonNumber(std::string decimal) {
  if (decimal.find('.') != std::string::npos) {
    while (decimal.back() == '0') decimal.pop_back();
    if (decimal.back() == '.') decimal.pop_back();
  }
  return decimal;
}

}  // namespace

std::string buildPurchasePayload(const PurchaseInputs& in) {
  OrderedObject ev;
  ev.setString("event_name", "Purchase");
  ev.setString("event_id", in.event_id);
  ev.set("event_time", std::to_string(toUnixSeconds(in.event_time)));
  ev.setString("action_source", "website");
  if (!in.event_source_url.empty()) ev.setString("event_source_url", in.event_source_url);

  UserData merged = UserData::fromJson(in.browser_user_data_json);
  merged.mergeHashed(UserData::fromJson(in.payment_user_data_json));
  OrderedObject user;
  for (const auto& [key, values] : merged.hashed) {
    if (values.empty()) continue;
    if (values.size() == 1) {
      user.setString(key, values.front());
    } else {
      std::string list = "[";
      for (const auto& v : values) {
        if (list.size() > 1) list += ',';
        appendJsonString(list, v);
      }
      user.set(key, list + "]");
    }
  }
  for (const auto& [key, value] : merged.verbatim) user.setString(key, value);
  if (!in.fbp.empty()) user.setString("fbp", in.fbp);
  if (!in.fbc.empty()) user.setString("fbc", in.fbc);
  if (!in.client_ip_address.empty()) user.setString("client_ip_address", in.client_ip_address);
  if (!in.client_user_agent.empty()) user.setString("client_user_agent", in.client_user_agent);
  ev.set("user_data", user.text());

  OrderedObject custom;
  if (!in.browser_custom_data_json.empty() && in.browser_custom_data_json != "{}") {
    Poco::JSON::Parser parser;
    auto browser = parser.parse(in.browser_custom_data_json).extract<Poco::JSON::Object::Ptr>();
    for (const auto& [k, v] : *browser) {
      if (k == "value" || k == "currency" || k == "order_id") continue;
      std::ostringstream value;
      Poco::JSON::Stringifier::stringify(v, value);
      custom.set(k, value.str());
    }
  }
  if (in.amount_minor && !in.currency.empty()) {
    if (!currencyExponent(in.currency))
      throw std::invalid_argument("unknown currency '" + in.currency + "'");
    custom.set("value", jsonNumber(formatMinorUnits(*in.amount_minor, in.currency)));
    std::string upper = in.currency;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    custom.setString("currency", upper);
  }
  if (!in.order_id.empty()) custom.setString("order_id", in.order_id);
  ev.set("custom_data", custom.text());
  return ev.text();
}

}  // namespace capi
