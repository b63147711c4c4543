#include "capi/strict_json.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Handler.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <typeinfo>
#include <vector>

namespace capi {
namespace {

// Poco's ParseHandler refuses a document that is a lone number, string, boolean or null (it has
// no container to set it in); both builders here refuse it too.
const char* const kScalarDocument = "a JSON document must be an object or an array";

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
      if (v.type() != typeid(Poco::JSON::Object::Ptr) && v.type() != typeid(Poco::JSON::Array::Ptr))
        throw Poco::JSON::JSONException(kScalarDocument);
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

namespace capi {

// Builds a JsonNode tree from Poco's parser events. The open containers are ancestors of the
// value being added: their children vectors do not grow meanwhile, so the pointers hold.
class JsonTreeBuilder final : public Poco::JSON::Handler {
 public:
  void reset() override {
    root_ = JsonNode();
    open_.clear();
    key_.clear();
  }
  void startObject() override { open_.push_back(&add(JsonNode::Type::Object)); }
  void endObject() override {
    indexKeys(*open_.back());
    open_.pop_back();
  }
  void startArray() override { open_.push_back(&add(JsonNode::Type::Array)); }
  void endArray() override { open_.pop_back(); }
  void key(const std::string& k) override { key_ = k; }
  void null() override { add(JsonNode::Type::Null); }
  void value(int v) override { add(JsonNode::Type::Int).i_ = v; }
  void value(unsigned v) override { add(JsonNode::Type::Int).i_ = v; }
  void value(Poco::Int64 v) override { add(JsonNode::Type::Int).i_ = v; }
  void value(Poco::UInt64 v) override { add(JsonNode::Type::UInt).u_ = v; }
  void value(const std::string& v) override { add(JsonNode::Type::String).text_ = v; }
  void value(double v) override { add(JsonNode::Type::Double).d_ = v; }
  void value(bool v) override { add(JsonNode::Type::Bool).b_ = v; }

  JsonNode take() { return std::move(root_); }

 private:
  JsonNode& add(JsonNode::Type type) {
    JsonNode* node = &root_;
    if (open_.empty() && type != JsonNode::Type::Object && type != JsonNode::Type::Array)
      throw Poco::JSON::JSONException(kScalarDocument);
    if (!open_.empty()) {
      auto& children = open_.back()->children_;
      children.emplace_back(open_.back()->type_ == JsonNode::Type::Object ? std::move(key_) : std::string(),
                            JsonNode());
      key_.clear();
      node = &children.back().second;
    }
    node->type_ = type;
    return *node;
  }

  // Sorts the members' indexes by key, for member()'s binary search; equal neighbours are a
  // repeated key.
  static void indexKeys(JsonNode& object) {
    auto& members = object.children_;
    auto& idx = object.by_key_;
    idx.resize(members.size());
    for (std::uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](std::uint32_t a, std::uint32_t b) { return members[a].first < members[b].first; });
    for (std::size_t i = 1; i < idx.size(); ++i)
      if (members[idx[i]].first == members[idx[i - 1]].first)
        throw Poco::JSON::JSONException("duplicate key \"" + members[idx[i]].first + "\" in one object");
  }

  JsonNode root_;
  std::vector<JsonNode*> open_;
  std::string key_;
};

const JsonNode* JsonNode::member(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  const auto it = std::lower_bound(by_key_.begin(), by_key_.end(), key,
                                   [&](std::uint32_t i, std::string_view k) { return children_[i].first < k; });
  if (it == by_key_.end() || children_[*it].first != key) return nullptr;
  return &children_[*it].second;
}

JsonNode parseUntrustedJsonTree(const std::string& text) {
  Poco::JSON::Handler::Ptr handler = new JsonTreeBuilder;
  Poco::JSON::Parser parser(handler);
  parser.parse(text);
  return static_cast<JsonTreeBuilder&>(*handler).take();
}

}  // namespace capi
