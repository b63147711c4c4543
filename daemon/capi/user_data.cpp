#include "capi/user_data.h"

#include "common/json_text.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <sstream>

namespace capi {

bool UserData::add(const std::string& key, const std::string& raw, const normalize::Options& options) {
  if (normalize::isVerbatimField(key)) {
    if (!raw.empty()) verbatim[key] = raw;
    return true;
  }
  auto field = normalize::parseField(key);
  if (!field) return false;
  auto r = normalize::normalize(*field, raw, options);
  if (!r.ok) {
    anomalies.push_back({key, r.no_country_code ? "no_country_code" : "invalid", r.error});
    return true;
  }
  if (r.prehashed) anomalies.push_back({key, "prehashed", "value arrived already hashed"});
  auto& list = hashed[key];
  if (std::find(list.begin(), list.end(), r.sha256) == list.end()) list.push_back(r.sha256);
  return true;
}

void UserData::mergeHashed(const UserData& other) {
  for (const auto& [k, values] : other.hashed) {
    auto& list = hashed[k];
    for (const auto& v : values)
      if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
  }
  for (const auto& [k, v] : other.verbatim) verbatim.emplace(k, v);
}

// Keys in order, as one JSON object ({"em":["..."],"fbp":"..."}); written directly, since it
// runs for every payment matched.
std::string UserData::toJson() const {
  std::string out = "{";
  auto member = [&](const std::string& key) {
    if (out.size() > 1) out += ',';
    appendJsonString(out, key);
    out += ':';
  };
  auto h = hashed.begin();
  auto v = verbatim.begin();
  while (h != hashed.end() || v != verbatim.end()) {
    if (v == verbatim.end() || (h != hashed.end() && h->first < v->first)) {
      member(h->first);
      out += '[';
      for (size_t i = 0; i < h->second.size(); ++i) {
        if (i) out += ',';
        appendJsonString(out, h->second[i]);
      }
      out += ']';
      ++h;
    } else {
      if (h != hashed.end() && h->first == v->first) ++h;   // one key, one value: the verbatim one
      member(v->first);
      appendJsonString(out, v->second);
      ++v;
    }
  }
  out += '}';
  return out;
}

std::string UserData::anomaliesJson() const {
  Poco::JSON::Array a;
  for (const auto& an : anomalies) {
    Poco::JSON::Object o;
    o.set("field", an.field);
    o.set("kind", an.kind);
    o.set("detail", an.detail);
    a.add(o);
  }
  std::ostringstream s;
  a.stringify(s);
  return s.str();
}

UserData UserData::fromJson(const std::string& json) {
  UserData u;
  if (json.empty()) return u;
  Poco::JSON::Parser parser;
  auto obj = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
  for (const auto& [k, v] : *obj) {
    if (v.type() == typeid(Poco::JSON::Array::Ptr)) {
      auto arr = v.extract<Poco::JSON::Array::Ptr>();
      for (size_t i = 0; i < arr->size(); ++i) u.hashed[k].push_back(arr->getElement<std::string>(i));
    } else if (v.isString()) {
      u.verbatim[k] = v.toString();
    }
  }
  return u;
}

}  // namespace capi
