// parseUntrustedJson builds its tree with its own handler: it must give what Poco's own
// ParseHandler gives for every valid document, and refuse an object that names a key twice.
#include "capi/strict_json.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

namespace {

std::string stringify(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(v, out);
  return out.str();
}

std::string viaPoco(const std::string& text) {
  Poco::JSON::Parser parser;
  return stringify(parser.parse(text));
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The message of the exception parseUntrustedJson throws, or "" when it parses.
std::string parseError(const std::string& text) {
  try {
    capi::parseUntrustedJson(text);
  } catch (const Poco::Exception& e) {
    return e.displayText();
  }
  return {};
}

// The same document as Poco's tree: every value of the same kind, number type and value.
bool sameTree(const Poco::Dynamic::Var& poco, const capi::JsonNode& mine) {
  using T = capi::JsonNode::Type;
  if (poco.isEmpty()) return mine.isNull();
  if (poco.type() == typeid(Poco::JSON::Object::Ptr)) {
    const auto o = poco.extract<Poco::JSON::Object::Ptr>();
    if (!mine.isObject() || mine.children().size() != o->size()) return false;
    for (const auto& [key, value] : *o) {
      const capi::JsonNode* m = mine.member(key);
      if (!m || !sameTree(value, *m)) return false;
    }
    return true;
  }
  if (poco.type() == typeid(Poco::JSON::Array::Ptr)) {
    const auto a = poco.extract<Poco::JSON::Array::Ptr>();
    if (mine.type() != T::Array || mine.children().size() != a->size()) return false;
    for (std::size_t i = 0; i < a->size(); ++i)
      if (!mine.children()[i].first.empty() || !sameTree(a->get(static_cast<unsigned>(i)), mine.children()[i].second))
        return false;
    return true;
  }
  if (poco.isBoolean()) return mine.isBool() && mine.boolean() == poco.extract<bool>();
  if (poco.isString()) return mine.isString() && mine.text() == poco.extract<std::string>();
  if (poco.type() == typeid(Poco::UInt64)) return mine.type() == T::UInt && mine.uint64() == poco.extract<Poco::UInt64>();
  if (poco.isInteger()) return mine.type() == T::Int && mine.int64() == poco.convert<Poco::Int64>();
  if (poco.type() == typeid(double)) return mine.type() == T::Double && mine.real() == poco.extract<double>();
  return false;
}

// Documents both readers must read as Poco does: nesting, number types at their limits,
// escapes, empty containers, and a full Stripe event.
std::vector<std::string> documents() {
  const std::string full = readFile(std::string(CAPI_TEST_SOURCE_DIR) + "/fuzz/corpus/fuzz_stripe_event/checkout_session_completed.json");
  REQUIRE(full.size() > 1000);
  return {
      R"({})",
      R"([])",
      R"({"a":{"b":{"c":[1,{"d":null},[true,false]]}},"e":"x"})",
      R"([{"k":1},{"k":2},[{"k":3}]])",
      R"({"int":2147483647,"past_int":2147483648,"negative":-9223372036854775808,"unsigned":18446744073709551615,)"
      R"("double":1.5e3,"text":"\u00e9\"\\","empty":"","nested_empty":{"o":{},"a":[]}})",
      full,
  };
}

}  // namespace

TEST_CASE("parseUntrustedJsonTree reads every document as Poco's parser does") {
  for (const std::string& d : documents()) {
    INFO(d);
    Poco::JSON::Parser parser;
    CHECK(sameTree(parser.parse(d), capi::parseUntrustedJsonTree(d)));
  }
  // A sabotaged tree is told apart: the comparison itself can fail.
  Poco::JSON::Parser parser;
  CHECK_FALSE(sameTree(parser.parse(R"({"a":1})"), capi::parseUntrustedJsonTree(R"({"a":2})")));
  CHECK_FALSE(sameTree(parser.parse(R"({"a":1})"), capi::parseUntrustedJsonTree(R"({"a":"1"})")));
}

TEST_CASE("parseUntrustedJsonTree finds every member of a large object and refuses a key twice in it") {
  std::string big = "{";
  for (int i = 0; i < 2000; ++i) big += (i ? ",\"k" : "\"k") + std::to_string(i * 7919 % 2000) + "\":" + std::to_string(i);
  big += "}";
  const auto tree = capi::parseUntrustedJsonTree(big);
  REQUIRE(tree.children().size() == 2000);
  for (int i = 0; i < 2000; ++i) {
    const capi::JsonNode* m = tree.member("k" + std::to_string(i * 7919 % 2000));
    REQUIRE(m);
    CHECK(m->int64() == i);
  }
  CHECK(tree.member("k2000") == nullptr);
  CHECK(tree.member("") == nullptr);
  CHECK(tree.member("k1")->member("k1") == nullptr);   // a number has no members
  const std::string repeated = big.substr(0, big.size() - 1) + ",\"k1999\":0}";
  CHECK_THROWS_AS(capi::parseUntrustedJsonTree(repeated), Poco::Exception);
  for (const char* d : {R"({"id":"a","id":"b"})", R"({"list":[{"k":1},{"k":1,"k":2}]})", R"([[{"a":{},"a":[]}]])", "{", "[1,"}) {
    INFO(d);
    CHECK_THROWS_AS(capi::parseUntrustedJsonTree(d), Poco::Exception);
  }
  CHECK_NOTHROW(capi::parseUntrustedJsonTree(R"({"a":{"a":{"a":1}},"x":[{"k":1},{"k":1}]})"));
}

TEST_CASE("parseUntrustedJson gives the tree Poco's ParseHandler gives") {
  for (const std::string& d : documents()) {
    INFO(d);
    CHECK(stringify(capi::parseUntrustedJson(d)) == viaPoco(d));
  }

  // Value types as Poco's handler stores them, so readers that test isInteger or isString agree.
  const std::string scalars = R"({"i":7,"big":4294967296,"huge":18446744073709551615,"s":"7","b":true,"n":null,"f":0.5})";
  const auto mine = capi::parseUntrustedJson(scalars).extract<Poco::JSON::Object::Ptr>();
  Poco::JSON::Parser parser;
  const auto poco = parser.parse(scalars).extract<Poco::JSON::Object::Ptr>();
  REQUIRE(mine->size() == 7);
  for (const auto& [key, value] : *poco) {
    INFO(key);
    CHECK(mine->get(key).type() == value.type());
  }
  CHECK(mine->get("s").isString());
  CHECK(mine->get("b").isBoolean());
  CHECK(mine->get("n").isEmpty());
}

TEST_CASE("parseUntrustedJson refuses an object that names a key twice, at any depth") {
  for (const char* d : {R"({"id":"a","id":"b"})", R"({"data":{"object":{"amount":1,"x":2,"amount":100}}})",
                        R"({"list":[{"k":1},{"k":1,"k":2}]})", R"([[{"a":{},"a":[]}]])"}) {
    INFO(d);
    CHECK_THAT(parseError(d), Catch::Contains("duplicate key"));
  }
  // The same key in sibling objects, or at another depth, is no repetition.
  for (const char* d : {R"({"a":{"a":{"a":1}}})", R"([{"k":1},{"k":1}])", R"({"x":{"k":1},"y":{"k":1}})"}) {
    INFO(d);
    CHECK(parseError(d).empty());
  }
}

TEST_CASE("parseUntrustedJson refuses what Poco's parser refuses") {
  for (const char* d : {"", "{", R"({"a":})", R"({"a":1,})", "[1,2", R"({"a" 1})", "nul", "42", R"("text")", "null",
                        "true"}) {
    INFO(d);
    Poco::JSON::Parser parser;
    CHECK_THROWS_AS(parser.parse(d), Poco::Exception);
    CHECK_FALSE(parseError(d).empty());
    CHECK_THROWS_AS(capi::parseUntrustedJsonTree(d), Poco::Exception);
  }
}
