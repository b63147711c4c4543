#include "capi/normalize/normalizer.h"

#include "capi/normalize/birth_date.h"
#include "capi/normalize/field_result.h"
#include "capi/normalize/phone.h"
#include "capi/normalize/places.h"
#include "capi/normalize/unicode_text.h"
#include "common/crypto.h"

#include <array>
#include <chrono>
#include <utility>

namespace capi::normalize {
namespace {

using detail::FieldOutcome;

// Longer than any real value of these fields; keeps a hostile request from making us
// normalize megabytes.
constexpr size_t kMaxInputBytes = 1024;

constexpr std::array<std::pair<Field, std::string_view>, 11> kFieldNames = {{
    {Field::Em, "em"},
    {Field::Ph, "ph"},
    {Field::Fn, "fn"},
    {Field::Ln, "ln"},
    {Field::Ct, "ct"},
    {Field::St, "st"},
    {Field::Zp, "zp"},
    {Field::Country, "country"},
    {Field::Db, "db"},
    {Field::Ge, "ge"},
    {Field::ExternalId, "external_id"},
}};

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Only SHA-256: a 32-hex value may be an MD5, but it may just as well be a customer's token or
// order number, and Meta hashes MD5 values again anyway.
bool looksLikeSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!isHexDigit(c)) return false;
  return true;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int currentUtcYear() {
  using namespace std::chrono;
  const year_month_day today{floor<days>(system_clock::now())};
  return static_cast<int>(today.year());
}

// Plausibility, not RFC 5322: enough to refuse what cannot be delivered to (no '@', no domain
// dot, spaces) without refusing unusual but real addresses. A quoted local part may hold '@'.
FieldOutcome normalizeEmail(std::string_view trimmed) {
  // NFC is not in Meta's rule; for ASCII it changes nothing, and for internationalized
  // addresses it makes composed and decomposed spellings hash alike (RFC 6532 asks for NFC).
  std::string email = detail::toLower(detail::toNfc(trimmed));
  if (detail::containsSpaceOrControl(email))
    return FieldOutcome::fail("not an email address: contains spaces");
  const size_t at = email.rfind('@');
  if (at == std::string::npos) return FieldOutcome::fail("not an email address: no '@'");
  const std::string_view local = std::string_view(email).substr(0, at);
  const std::string_view domain = std::string_view(email).substr(at + 1);
  if (local.empty()) return FieldOutcome::fail("not an email address: nothing before '@'");
  if (domain.empty()) return FieldOutcome::fail("not an email address: no domain after '@'");
  const bool quoted = local.size() >= 2 && local.front() == '"' && local.back() == '"';
  if (!quoted && local.find_first_of("@\"(),:;<>[\\]") != std::string_view::npos)
    return FieldOutcome::fail("not an email address: invalid characters before '@'");
  if (domain.find('.') == std::string_view::npos)
    return FieldOutcome::fail("not an email address: the domain has no '.'");
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return FieldOutcome::fail("not an email address: empty part in the domain");
  for (unsigned char c : domain)
    if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return FieldOutcome::fail("not an email address: invalid characters in the domain");
  return FieldOutcome::ok(std::move(email));
}

// Names keep digits ("remove punctuation and spaces" says nothing about them); cities and
// regions drop them, as Meta's SDKs do ("Seattle-98121" -> "seattle").
FieldOutcome normalizeName(std::string_view trimmed, detail::Keep keep) {
  std::string name = detail::lettersOf(trimmed, keep);
  if (name.empty())
    return FieldOutcome::fail("nothing left after removing punctuation, symbols and spaces");
  if (!detail::containsLetter(name)) return FieldOutcome::fail("contains no letters");
  return FieldOutcome::ok(std::move(name));
}

std::optional<std::string> countryOfHint(std::string_view hint) {
  if (hint.empty() || !detail::isValidUtf8(hint)) return std::nullopt;
  return detail::countryCode(hint);
}

FieldOutcome normalizeState(std::string_view trimmed, const Options& options) {
  const auto country = countryOfHint(options.country_hint);
  if (!country || *country == "us" || *country == "ca") {
    const auto table = !country            ? detail::StateTable::UsAndCanada
                       : *country == "us" ? detail::StateTable::UnitedStates
                                          : detail::StateTable::Canada;
    if (auto code = detail::stateCode(trimmed, table)) return FieldOutcome::ok(std::move(*code));
    if (country)
      return FieldOutcome::fail(*country == "us" ? "not a US state, district or territory"
                                                 : "not a Canadian province or territory");
  }
  return normalizeName(trimmed, detail::Keep::LettersOnly);
}

bool isAsciiDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// ZIP or ZIP+4 written the US way: 12345, 12345-6789, 12345 6789.
bool looksLikeUsZip(std::string_view lowered) {
  if (lowered.size() == 5) return isAsciiDigits(lowered);
  if (lowered.size() == 10 && (lowered[5] == '-' || lowered[5] == ' '))
    return isAsciiDigits(lowered.substr(0, 5)) && isAsciiDigits(lowered.substr(6));
  return false;
}

FieldOutcome normalizePostalCode(std::string_view trimmed, const Options& options) {
  const std::string lowered = detail::toLower(trimmed);
  // Spaces and dashes go, as Meta asks, and so does any other punctuation ("94035.",
  // "D-10115" is kept as "d10115"): no country's postal codes use it. What remains must be
  // ASCII letters and digits, which every country's postal codes are.
  std::string code = detail::lettersOf(lowered, detail::Keep::LettersAndDigits);
  for (unsigned char c : code)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return FieldOutcome::fail("not a postal code: only letters a-z and digits are possible");
  if (code.size() < 2) return FieldOutcome::fail("not a postal code: too short");
  if (code.size() > 10) return FieldOutcome::fail("not a postal code: too long");

  const auto country = countryOfHint(options.country_hint);
  const bool us = country ? *country == "us" : looksLikeUsZip(lowered);
  if (!us) return FieldOutcome::ok(std::move(code));
  if (code.size() < 5 || !isAsciiDigits(code.substr(0, 5)))
    return FieldOutcome::fail("not a US ZIP code: needs five digits");
  return FieldOutcome::ok(code.substr(0, 5));
}

FieldOutcome normalizeCountry(std::string_view trimmed) {
  if (auto code = detail::countryCode(trimmed)) return FieldOutcome::ok(std::move(*code));
  return FieldOutcome::fail("unknown country: use an ISO 3166-1 code or the country's name");
}

FieldOutcome normalizeGender(std::string_view trimmed) {
  const std::string word = detail::lettersOf(trimmed, detail::Keep::LettersOnly);
  if (word == "f" || word == "female" || word == "woman") return FieldOutcome::ok("f");
  if (word == "m" || word == "male" || word == "man") return FieldOutcome::ok("m");
  return FieldOutcome::fail("gender must be f or m (or female, male, woman, man)");
}

FieldOutcome normalizeField(Field field, std::string_view trimmed, const Options& options) {
  switch (field) {
    case Field::Em: return normalizeEmail(trimmed);
    case Field::Ph: return detail::normalizePhone(trimmed, options.default_region);
    case Field::Fn:
    case Field::Ln: return normalizeName(trimmed, detail::Keep::LettersAndDigits);
    case Field::Ct: return normalizeName(trimmed, detail::Keep::LettersOnly);
    case Field::St: return normalizeState(trimmed, options);
    case Field::Zp: return normalizePostalCode(trimmed, options);
    case Field::Country: return normalizeCountry(trimmed);
    case Field::Db: return detail::normalizeBirthDate(trimmed, currentUtcYear());
    case Field::Ge: return normalizeGender(trimmed);
    case Field::ExternalId: return FieldOutcome::ok(detail::toLower(trimmed));
  }
  return FieldOutcome::fail("unknown field");
}

Result rejected(std::string error) {
  Result r;
  r.error = std::move(error);
  return r;
}

}  // namespace

std::optional<Field> parseField(std::string_view name) {
  for (const auto& [field, text] : kFieldNames)
    if (text == name) return field;
  return std::nullopt;
}

std::string_view fieldName(Field f) {
  for (const auto& [field, text] : kFieldNames)
    if (field == f) return text;
  return "unknown";
}

const std::vector<Field>& allFields() {
  static const std::vector<Field> fields = [] {
    std::vector<Field> out;
    for (const auto& entry : kFieldNames) out.push_back(entry.first);
    return out;
  }();
  return fields;
}

bool isVerbatimField(std::string_view name) {
  static constexpr std::string_view kVerbatim[] = {
      "client_ip_address", "client_user_agent", "fbc",     "fbp",
      "subscription_id",   "fb_login_id",       "lead_id", "anon_id",
      "madid",             "page_id",           "page_scoped_user_id",
      "ctwa_clid",         "ig_account_id",     "ig_sid"};
  for (std::string_view v : kVerbatim)
    if (v == name) return true;
  return false;
}

Result normalize(Field field, std::string_view input, const Options& options) {
  if (input.size() > kMaxInputBytes) return rejected("value too long");
  if (!detail::isValidUtf8(input)) return rejected("not valid UTF-8");
  const std::string trimmed = detail::trim(input);
  if (trimmed.empty()) return rejected("empty value");

  Result r;
  if (looksLikeSha256(trimmed)) {
    r.ok = true;
    r.prehashed = true;
    r.normalized = lowerAscii(trimmed);
    r.sha256 = r.normalized;
    return r;
  }

  FieldOutcome outcome = normalizeField(field, trimmed, options);
  if (outcome.failed()) {
    r.error = std::move(outcome.error);
    r.no_country_code = outcome.no_country_code;
    return r;
  }
  r.ok = true;
  r.normalized = std::move(outcome.value);
  r.sha256 = sha256Hex(r.normalized);
  return r;
}

}  // namespace capi::normalize
