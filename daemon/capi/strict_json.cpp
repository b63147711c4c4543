#include "capi/strict_json.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Handler.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <vector>

namespace capi {
namespace {

// Builds the same tree as Poco::JSON::ParseHandler (Object and Array nodes, values as the
// parser types them), with less work per value: ParseHandler copies its parent's Var for every
// member it adds, which is an allocation each, and a separate set of seen keys would be more.
// A repeated key is found by the object's size not growing when the member is set.
class StrictTreeBuilder final : public Poco::JSON::Handler {
 public:
  void reset() override {
    open_.clear();
    key_.clear();
    root_.empty();
  }
  void startObject() override {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    Poco::JSON::Object* raw = o.get();
    add(o);
    open_.push_back({raw, nullptr});
  }
  void endObject() override { open_.pop_back(); }
  void startArray() override {
    Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
    Poco::JSON::Array* raw = a.get();
    add(a);
    open_.push_back({nullptr, raw});
  }
  void endArray() override { open_.pop_back(); }
  void key(const std::string& k) override { key_ = k; }
  void null() override { add(Poco::Dynamic::Var()); }
  void value(int v) override { add(v); }
  void value(unsigned v) override { add(v); }
  void value(Poco::Int64 v) override { add(v); }
  void value(Poco::UInt64 v) override { add(v); }
  void value(const std::string& v) override { add(v); }
  void value(double v) override { add(v); }
  void value(bool v) override { add(v); }
  Poco::Dynamic::Var asVar() const override { return root_; }

 private:
  // The innermost open container; the tree under root_ owns both.
  struct Open {
    Poco::JSON::Object* object;
    Poco::JSON::Array* array;
  };

  void add(const Poco::Dynamic::Var& v) {
    if (open_.empty()) {
      root_ = v;
      return;
    }
    const Open& top = open_.back();
    if (top.array) {
      top.array->add(v);
      return;
    }
    const size_t before = top.object->size();
    top.object->set(key_, v);
    if (top.object->size() == before)
      throw Poco::JSON::JSONException("duplicate key \"" + key_ + "\" in one object");
  }

  std::vector<Open> open_;
  std::string key_;
  Poco::Dynamic::Var root_;
};

}  // namespace

Poco::Dynamic::Var parseUntrustedJson(const std::string& text) {
  Poco::JSON::Parser parser(new StrictTreeBuilder);
  return parser.parse(text);
}

}  // namespace capi
