#pragma once
// JSON from the outside world (browser events, payment webhooks), parsed as Poco::JSON::Parser
// does with one refusal more: an object that names a key twice. RFC 8259 leaves such an
// object's meaning to each parser (Poco keeps the last value, others the first), so a proxy, a
// log reader and this daemon could each see a different event in the same body.
#include <Poco/Dynamic/Var.h>
#include <Poco/Types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capi {

// Throws Poco::JSON::JSONException (a Poco::Exception) for malformed JSON, nesting deeper than
// Poco's default limit, or a duplicate key.
Poco::Dynamic::Var parseUntrustedJson(const std::string& text);

// The same document as a tree of plain values, for the webhook's hot path (every webhook is read
// on arrival): Poco's tree costs a map node and several Dynamic::Var copies (an allocation each)
// per value, this one a vector slot. Numbers keep the type Poco's parser gives them.
class JsonNode {
 public:
  enum class Type : std::uint8_t { Null, Bool, Int, UInt, Double, String, Object, Array };

  Type type() const { return type_; }
  bool isString() const { return type_ == Type::String; }
  bool isObject() const { return type_ == Type::Object; }
  bool isBool() const { return type_ == Type::Bool; }
  bool isNull() const { return type_ == Type::Null; }
  bool isInteger() const { return type_ == Type::Int || type_ == Type::UInt; }

  // Each REQUIRES the matching type.
  const std::string& text() const { return text_; }
  bool boolean() const { return b_; }
  std::int64_t int64() const { return i_; }    // Type::Int
  std::uint64_t uint64() const { return u_; }  // Type::UInt: integers past INT64_MAX
  double real() const { return d_; }           // Type::Double

  // An object's member, or nullptr when this is no object or has no such key.
  const JsonNode* member(std::string_view key) const;
  // An object's members in document order, or an array's items (keys empty).
  const std::vector<std::pair<std::string, JsonNode>>& children() const { return children_; }

 private:
  friend class JsonTreeBuilder;
  Type type_ = Type::Null;
  bool b_ = false;
  std::int64_t i_ = 0;
  std::uint64_t u_ = 0;
  double d_ = 0;
  std::string text_;
  std::vector<std::pair<std::string, JsonNode>> children_;
  std::vector<std::uint32_t> by_key_;   // an object's member indexes sorted by key
};

// Throws as parseUntrustedJson does, for the same documents.
JsonNode parseUntrustedJsonTree(const std::string& text);

}  // namespace capi
