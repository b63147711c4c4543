#include "capi/strict_json.h"

#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <unordered_set>
#include <vector>

namespace capi {
namespace {

class UniqueKeysHandler final : public Poco::JSON::ParseHandler {
 public:
  void reset() override {
    keys_.clear();
    ParseHandler::reset();
  }
  void startObject() override {
    keys_.emplace_back();
    ParseHandler::startObject();
  }
  void endObject() override {
    keys_.pop_back();
    ParseHandler::endObject();
  }
  void key(const std::string& k) override {
    if (!keys_.empty() && !keys_.back().insert(k).second)
      throw Poco::JSON::JSONException("duplicate key \"" + k + "\" in one object");
    ParseHandler::key(k);
  }

 private:
  std::vector<std::unordered_set<std::string>> keys_;   // one set per open object
};

}  // namespace

Poco::Dynamic::Var parseUntrustedJson(const std::string& text) {
  Poco::JSON::Parser parser(new UniqueKeysHandler);
  return parser.parse(text);
}

}  // namespace capi
