// Meta normalization and hashing (capi/normalize/normalizer.h) and UserData, which applies it to
// user_data keys (capi/user_data.h).
//
// Input: "FIELD|REGION|HINT|VALUE" (seeds: fuzz/corpus/fuzz_normalize/): FIELD a user_data key
// ("em", "ph", ..., or a verbatim one such as "fbp"), REGION Options::default_region, HINT
// Options::country_hint. An input without three '|', or with an unknown FIELD, is a VALUE for
// every field with no options.
//
// Checked for every field and value:
//  * ok xor error; a rejected value has no normalized text or hash; no_country_code only for ph;
//  * sha256 is 64 lowercase hex digits: SHA-256 of the normalized text (computed here with
//    OpenSSL), or, for a value that arrived as 64 hex digits, that value lowercased;
//  * the normalized text is valid UTF-8 and has the field's shape (em: one '@' at least and no
//    spaces; ph: digits only; db: YYYYMMDD; ge: f or m; country: two letters; zp: 2 to 10 of
//    a-z0-9; no ASCII uppercase in any field);
//  * idempotence: normalizing the normalized text again gives it back unchanged (ph: written
//    as "+" and the E.164 digits, which is how it is meant to be read);
//  * the same input gives the same result twice;
//  * UserData::add stores exactly the hashes of accepted values, an anomaly for each rejected or
//    prehashed one, keeps verbatim keys as they are, and toJson/fromJson round-trips.
#include "capi/normalize/normalizer.h"
#include "capi/user_data.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using capi::UserData;
namespace normalize = capi::normalize;
using normalize::Field;

namespace {

// Normalizer's own bound on input; normalized text can grow past it (NFC, lowercasing).
constexpr size_t kMaxInputBytes = 1024;

[[noreturn]] void fail(Field field, const char* what) {
  std::fprintf(stderr, "fuzz_normalize: invariant broken for %s: %s\n", std::string(normalize::fieldName(field)).c_str(),
               what);
  std::abort();
}

void check(bool ok, Field field, const char* what) {
  if (!ok) fail(field, what);
}

std::string sha256Hex(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : md) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 0xF]);
  }
  return hex;
}

bool isLowerHex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool allOf(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isLowerAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z'); }
bool isLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }

bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min = len == 1 ? 0 : len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void checkShape(Field field, const normalize::Result& r) {
  const std::string& n = r.normalized;
  check(validUtf8(n), field, "normalized text is not valid UTF-8");
  check(std::none_of(n.begin(), n.end(), [](char c) { return c >= 'A' && c <= 'Z'; }), field,
        "normalized text holds ASCII uppercase");
  if (r.prehashed) {
    check(isLowerHex64(n), field, "prehashed value is not 64 lowercase hex digits");
    return;
  }
  switch (field) {
    case Field::Em:
      check(n.find('@') != std::string::npos, field, "email without '@'");
      check(n.find_first_of(" \t\r\n") == std::string::npos, field, "email with whitespace");
      break;
    case Field::Ph: check(!n.empty() && n.size() <= 17 && allOf(n, isDigit), field, "phone is not 1-17 digits"); break;
    case Field::Db: check(n.size() == 8 && allOf(n, isDigit), field, "birth date is not YYYYMMDD"); break;
    case Field::Ge: check(n == "f" || n == "m", field, "gender is not f or m"); break;
    case Field::Country: check(n.size() == 2 && allOf(n, isLowerAlpha), field, "country is not two letters"); break;
    case Field::Zp:
      check(n.size() >= 2 && n.size() <= 10 && allOf(n, isLowerAlnum), field, "postal code is not 2-10 of a-z0-9");
      break;
    case Field::Fn:
    case Field::Ln:
    case Field::Ct:
    case Field::St:
      check(n.find_first_of(" \t\r\n.,-'\"") == std::string::npos, field, "name keeps spaces or punctuation");
      break;
    case Field::ExternalId: break;
  }
}

normalize::Result checkedNormalize(Field field, std::string_view value, const normalize::Options& options) {
  const normalize::Result r = normalize::normalize(field, value, options);
  check(r.ok == r.error.empty(), field, "ok xor error");
  if (r.no_country_code) check(field == Field::Ph && !r.ok, field, "no_country_code on an accepted or non-phone value");
  if (!r.ok) {
    check(r.normalized.empty() && r.sha256.empty() && !r.prehashed, field, "a rejected value has a result");
    return r;
  }
  check(!r.normalized.empty(), field, "accepted as empty");
  check(isLowerHex64(r.sha256), field, "sha256 is not 64 lowercase hex digits");
  if (r.prehashed)
    check(r.sha256 == r.normalized, field, "prehashed value is not passed through");
  else
    check(r.sha256 == sha256Hex(r.normalized), field, "sha256 is not the SHA-256 of the normalized text");
  checkShape(field, r);
  return r;
}

void checkField(Field field, std::string_view value, const normalize::Options& options) {
  const normalize::Result r = checkedNormalize(field, value, options);
  const normalize::Result again = normalize::normalize(field, value, options);
  check(again.ok == r.ok && again.normalized == r.normalized && again.sha256 == r.sha256 && again.error == r.error,
        field, "not deterministic");
  if (!r.ok || r.prehashed || r.normalized.size() > kMaxInputBytes) return;

  const std::string reread = field == Field::Ph ? "+" + r.normalized : r.normalized;
  const normalize::Result twice = checkedNormalize(field, reread, options);
  if (!twice.ok || twice.normalized != r.normalized) {
    std::fprintf(stderr, "normalized once: \"%s\"\nnormalized twice: \"%s\" (%s)\n", r.normalized.c_str(),
                 twice.normalized.c_str(), twice.error.c_str());
    fail(field, "normalizing the normalized text changes it");
  }
}

void checkUserData(const std::string& key, const std::string& value, const normalize::Options& options) {
  UserData ud;
  const bool known = ud.add(key, value, options);
  const auto field = normalize::parseField(key);
  const Field tag = field.value_or(Field::ExternalId);
  if (normalize::isVerbatimField(key)) {
    check(known && ud.hashed.empty() && ud.anomalies.empty(), tag, "verbatim key hashed or flagged");
    check(value.empty() ? ud.verbatim.empty() : ud.verbatim.at(key) == value, tag, "verbatim value not kept as is");
  } else if (!field) {
    check(!known && ud.hashed.empty() && ud.verbatim.empty() && ud.anomalies.empty(), tag, "unknown key stored");
    return;
  } else {
    const normalize::Result r = normalize::normalize(*field, value, options);
    check(known && ud.verbatim.empty(), tag, "hashed key kept verbatim");
    if (r.ok)
      check(ud.hashed.size() == 1 && ud.hashed.at(key) == std::vector<std::string>{r.sha256}, tag,
            "accepted value not stored as its hash");
    else
      check(ud.hashed.empty(), tag, "rejected value stored");
    const bool anomaly = !r.ok || r.prehashed;
    check(ud.anomalies.size() == (anomaly ? 1u : 0u), tag, "anomaly count");
  }

  // Verbatim values come from parsed JSON, so they are UTF-8 there; bytes that are not cannot
  // round-trip through JSON text and are not the contract.
  if (!validUtf8(value)) return;
  const UserData back = UserData::fromJson(ud.toJson());
  check(back.hashed == ud.hashed && back.verbatim == ud.verbatim, tag, "toJson/fromJson does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  size_t bars[3];
  size_t found = 0;
  for (size_t i = 0; i < input.size() && found < 3; ++i)
    if (input[i] == '|') bars[found++] = i;
  std::optional<Field> field;
  std::string key;
  if (found == 3) {
    key = std::string(input.substr(0, bars[0]));
    field = normalize::parseField(key);
  }
  if (!field && !(found == 3 && normalize::isVerbatimField(key))) {
    for (Field f : normalize::allFields()) checkField(f, input, {});
    return 0;
  }

  normalize::Options options;
  options.default_region = std::string(input.substr(bars[0] + 1, bars[1] - bars[0] - 1));
  options.country_hint = std::string(input.substr(bars[1] + 1, bars[2] - bars[1] - 1));
  const std::string value(input.substr(bars[2] + 1));
  if (field) checkField(*field, value, options);
  checkUserData(key, value, options);
  return 0;
}
