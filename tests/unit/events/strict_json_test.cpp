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

}  // namespace

TEST_CASE("parseUntrustedJson gives the tree Poco's ParseHandler gives") {
  const std::string full = readFile(std::string(CAPI_TEST_SOURCE_DIR) + "/fuzz/corpus/fuzz_stripe_event/checkout_session_completed.json");
  REQUIRE(full.size() > 1000);
  const char* docs[] = {
      R"({})",
      R"([])",
      R"({"a":{"b":{"c":[1,{"d":null},[true,false]]}},"e":"x"})",
      R"([{"k":1},{"k":2},[{"k":3}]])",
      R"({"int":2147483647,"past_int":2147483648,"negative":-9223372036854775808,"unsigned":18446744073709551615,)"
      R"("double":1.5e3,"text":"\u00e9\"\\","empty":"","nested_empty":{"o":{},"a":[]}})",
  };
  for (const char* d : docs) {
    INFO(d);
    CHECK(stringify(capi::parseUntrustedJson(d)) == viaPoco(d));
  }
  CHECK(stringify(capi::parseUntrustedJson(full)) == viaPoco(full));

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
  for (const char* d : {"", "{", R"({"a":})", R"({"a":1,})", "[1,2", R"({"a" 1})", "nul"}) {
    INFO(d);
    CHECK_FALSE(parseError(d).empty());
  }
}
