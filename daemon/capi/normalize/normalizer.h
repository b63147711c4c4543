#pragma once
// Meta's customer-information normalization and SHA-256 hashing (SPEC §5), in one place.
// Written rules from Meta's "Customer information parameters" page win where the official SDKs
// disagree with them. Pure functions; thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capi::normalize {

enum class Field { Em, Ph, Fn, Ln, Ct, St, Zp, Country, Db, Ge, ExternalId };

// "em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id".
std::optional<Field> parseField(std::string_view name);
std::string_view fieldName(Field f);
const std::vector<Field>& allFields();

// user_data keys that Meta wants verbatim, never hashed (client_ip_address, client_user_agent,
// fbc, fbp, subscription_id, fb_login_id, lead_id, anon_id, madid, page_id, ctwa_clid, ...).
bool isVerbatimField(std::string_view name);

struct Options {
  std::string default_region;   // ISO 3166 alpha-2 for national phone numbers; may be empty
  std::string country_hint;     // the customer's country when known (zip: US → 5 digits)
};

struct Result {
  bool ok = false;
  std::string normalized;       // the value that was hashed (or the pre-hashed value, lowercased)
  std::string sha256;           // lowercase hex; equals normalized when prehashed
  std::string error;            // why the value was rejected, for a person; empty when ok
  bool prehashed = false;       // input was already 64 hex digits
  bool no_country_code = false; // ph: national number with no region to complete it
};

// Normalizes and hashes one value. Never throws for bad input: returns ok=false with an error.
Result normalize(Field field, std::string_view input, const Options& options = {});

}  // namespace capi::normalize
