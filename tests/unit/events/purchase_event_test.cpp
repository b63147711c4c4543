#include "capi/purchase_event.h"
#include "capi/user_data.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

using capi::buildPurchasePayload;
using capi::PurchaseInputs;
using capi::UserData;
using Poco::JSON::Object;

namespace {

const std::string kEm1(64, 'a'), kEm2(64, 'b'), kPh(64, 'c');

Object::Ptr parse(const std::string& json) {
  Poco::JSON::Parser p;
  return p.parse(json).extract<Object::Ptr>();
}

std::vector<std::string> keysInOrder(const std::string& json) {
  const auto parsed = parse(json);
  std::vector<std::string> keys;
  // Poco's parser does not keep the order; find each member's position in the text instead.
  std::vector<std::pair<size_t, std::string>> at;
  for (const auto& [k, v] : *parsed) at.emplace_back(json.find("\"" + k + "\":"), k);
  std::sort(at.begin(), at.end());
  for (const auto& [pos, k] : at) keys.push_back(k);
  return keys;
}

PurchaseInputs sample() {
  PurchaseInputs in;
  in.event_id = "ord_1001";
  in.event_time = capi::fromUnixSeconds(1724250000);
  in.event_source_url = "https://shop.example/checkout";
  in.fbp = "fb.1.1724249000.123";
  in.fbc = "fb.1.1724249000.AbC";
  in.client_ip_address = "203.0.113.7";
  in.client_user_agent = "Mozilla/5.0 \"quoted\" \\ tab\there";
  in.browser_user_data_json = R"({"em":[")" + kEm1 + R"("],"external_id":[")" + kPh + R"("]})";
  in.payment_user_data_json = R"({"em":[")" + kEm2 + R"("],"ph":[")" + kPh + R"("]})";
  in.browser_custom_data_json =
      R"({"contents":[{"id":"sku-1","quantity":2}],"value":1.0,"currency":"usd","order_id":"x","num_items":2})";
  in.amount_minor = 4999;
  in.currency = "eur";
  in.order_id = "ord_1001";
  return in;
}

}  // namespace

TEST_CASE("the Purchase payload carries the event's fields in Meta's order", "[events][purchase]") {
  const std::string json = buildPurchasePayload(sample());
  CHECK(keysInOrder(json) ==
        std::vector<std::string>{"event_name", "event_id", "event_time", "action_source", "event_source_url",
                                 "user_data", "custom_data"});
  const auto ev = parse(json);
  CHECK(ev->getValue<std::string>("event_name") == "Purchase");
  CHECK(ev->getValue<std::string>("event_id") == "ord_1001");
  CHECK(ev->getValue<int64_t>("event_time") == 1724250000);
  CHECK(ev->getValue<std::string>("action_source") == "website");

  const auto user = ev->getObject("user_data");
  // Two hashed emails (browser and payment) stay a list; one value is a plain string.
  const auto em = user->getArray("em");
  REQUIRE(em);
  REQUIRE(em->size() == 2);
  CHECK(em->getElement<std::string>(0) == kEm1);
  CHECK(em->getElement<std::string>(1) == kEm2);
  CHECK(user->getValue<std::string>("ph") == kPh);
  CHECK(user->getValue<std::string>("external_id") == kPh);
  CHECK(user->getValue<std::string>("fbp") == "fb.1.1724249000.123");
  CHECK(user->getValue<std::string>("fbc") == "fb.1.1724249000.AbC");
  CHECK(user->getValue<std::string>("client_ip_address") == "203.0.113.7");
  CHECK(user->getValue<std::string>("client_user_agent") == "Mozilla/5.0 \"quoted\" \\ tab\there");

  const auto custom = ev->getObject("custom_data");
  // The browser's own value, currency and order_id give way to the payment's.
  CHECK(custom->getValue<double>("value") == Approx(49.99));
  CHECK(custom->getValue<std::string>("currency") == "EUR");
  CHECK(custom->getValue<std::string>("order_id") == "ord_1001");
  CHECK(custom->getValue<int>("num_items") == 2);
  const auto contents = custom->getArray("contents");
  REQUIRE(contents);
  CHECK(contents->getObject(0)->getValue<std::string>("id") == "sku-1");
  CHECK(contents->getObject(0)->getValue<int>("quantity") == 2);
}

TEST_CASE("the payload's value is the payment's decimal amount, written exactly", "[events][purchase]") {
  auto valueText = [](int64_t minor, const std::string& currency) {
    PurchaseInputs in;
    in.event_id = "e";
    in.amount_minor = minor;
    in.currency = currency;
    const std::string json = buildPurchasePayload(in);
    const auto from = json.find("\"value\":") + 8;
    return json.substr(from, json.find_first_of(",}", from) - from);
  };
  CHECK(valueText(4999, "EUR") == "49.99");
  CHECK(valueText(5000, "EUR") == "50");
  CHECK(valueText(5010, "usd") == "50.1");
  CHECK(valueText(5000, "JPY") == "5000");
  CHECK(valueText(500, "KWD") == "0.5");
  CHECK(valueText(0, "EUR") == "0");
  CHECK_THROWS_AS(valueText(100, "XYZ"), std::invalid_argument);
}

TEST_CASE("a browser field repeated by the event's own keeps one member, with the event's value",
          "[events][purchase]") {
  PurchaseInputs in;
  in.event_id = "e";
  in.browser_user_data_json = R"({"fbp":"fb.1.old","em":[")" + kEm1 + R"("]})";
  in.fbp = "fb.1.new";
  const std::string json = buildPurchasePayload(in);
  CHECK(json.find("fb.1.old") == std::string::npos);
  CHECK(parse(json)->getObject("user_data")->getValue<std::string>("fbp") == "fb.1.new");
  CHECK(json.find("\"fbp\"") == json.rfind("\"fbp\""));
  // Without a browser event and an amount, custom_data holds only what is known.
  CHECK(parse(json)->getObject("custom_data")->size() == 0);
}

TEST_CASE("stored customer data reads back as written", "[events][user_data]") {
  UserData u;
  u.hashed["ph"] = {kPh};
  u.hashed["em"] = {kEm1, kEm2};
  u.verbatim["fbp"] = "fb.1.x\"y";
  u.verbatim["client_user_agent"] = "agent \\ \n";
  const std::string json = u.toJson();
  CHECK(keysInOrder(json) == std::vector<std::string>{"client_user_agent", "em", "fbp", "ph"});
  const UserData back = UserData::fromJson(json);
  CHECK(back.hashed == u.hashed);
  CHECK(back.verbatim == u.verbatim);
  CHECK(UserData{}.toJson() == "{}");
}
