#pragma once
// Customer data as Meta receives it: hashed fields (as lists of SHA-256 hex) plus verbatim
// identifiers, and a record of every value that could not be used (for `audit`).
#include "capi/normalize/normalizer.h"

#include <map>
#include <string>
#include <vector>

namespace capi {

struct HashAnomaly {
  std::string field;
  std::string kind;     // "invalid", "no_country_code", "prehashed"
  std::string detail;
};

struct UserData {
  std::map<std::string, std::vector<std::string>> hashed;   // em -> [sha256...]
  std::map<std::string, std::string> verbatim;              // fbp, fbc, client_ip_address, ...
  std::vector<HashAnomaly> anomalies;

  // Normalizes and hashes `raw` for a hashed field, or keeps it verbatim for a verbatim one.
  // Unusable values are recorded as anomalies and dropped. Unknown keys are ignored (false).
  bool add(const std::string& key, const std::string& raw, const normalize::Options& options);
  // Adds already-hashed values (from storage), without duplicates.
  void mergeHashed(const UserData& other);

  // {"em":["..."],...,"fbp":"..."}: hashed lists plus verbatim strings.
  std::string toJson() const;
  std::string anomaliesJson() const;
  static UserData fromJson(const std::string& json);
};

}  // namespace capi
