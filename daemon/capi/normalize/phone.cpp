#include "capi/normalize/phone.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <optional>
#include <string>

// How a value is read, and why:
//  * "+44 20 7946 0958" (or the region's international prefix, e.g. 011 from the US): the number
//    says its country; accepted when its length is possible for that country.
//  * National forms with a default region: libphonenumber reads them for that region (it also
//    recognises the region's own country code written without '+', as in "1 650 555 1212" for
//    US). A valid national number wins. If it is not valid there but the same digits are a valid
//    international number (a foreign customer's number written as E.164 without '+'), that
//    reading is taken. Otherwise a number whose length is possible for the region is accepted,
//    because libphonenumber's validity tables lag behind newly opened number ranges.
//  * No default region: a number without '+' cannot be completed (no_country_code) with two
//    exceptions that are not guesses in practice: "00" followed by a valid international number,
//    and 11 to 15 bare digits that form a valid number when read with a leading '+'. Ten digits
//    or fewer are refused because that is what national numbers look like in the NANP and in
//    many countries without a trunk prefix ("4585551234" is Oregon nationally and Denmark
//    internationally); with a region set, such numbers are read nationally.
// Possible-length checks demand a complete number: a "local only" number (US seven digits
// without area code) is refused, since E.164 cannot be formed from it.

namespace capi::normalize::detail {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const PhoneNumberUtil& util() { return *PhoneNumberUtil::GetInstance(); }

constexpr const char* kNoCountryCode =
    "no country code: write the number with a leading + and country code, or set a default region";
constexpr const char* kUnknownRegion = "unknown default region for phone numbers";

std::string upperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool startsWithPlus(std::string_view s) {
  return s.starts_with('+') || s.starts_with("\xEF\xBC\x8B");  // '+' or FULLWIDTH PLUS SIGN
}

// Digits of a number written only with digits and common separators; nullopt otherwise
// (letters, '+', extensions, ...).
std::optional<std::string> bareDigits(std::string_view s) {
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9')
      digits.push_back(c);
    else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '/')
      return std::nullopt;
  }
  if (digits.empty()) return std::nullopt;
  return digits;
}

std::string e164WithoutPlus(const PhoneNumber& n) {
  std::string out;
  util().Format(n, PhoneNumberUtil::E164, &out);
  return out.substr(1);
}

// A national part of six or more digits that are all the same ("+1 000 000 0000",
// "+1 555 555 5555", "+91 99999 99999") is what a checkout form gets when a phone number is
// required and the customer has none to give: hashed, it would tie together every customer who
// typed it. Such a number can also be valid and sold to someone ("+44 7777 777777"); it is
// refused all the same, deliberately: that customer loses one match key (email and the rest
// remain), whereas a shared dummy would mislink many customers.
bool isPlaceholder(const PhoneNumber& n) {
  std::string national;
  util().GetNationalSignificantNumber(n, &national);
  return national.size() >= 6 && national.find_first_not_of(national.front()) == std::string::npos;
}

// The E.164 digits, provided they read back as the same number. A number let through on its
// length alone can keep leading zeros after its country code that reading "+<E.164>" strips
// again as a national prefix ("0001820 901820" in DE would give 49001820901820, which reads as
// 4901820901820): no country numbers its phones that way, and its hash would match no other
// spelling of the number.
// Placeholders are refused (isPlaceholder).
// `written` is the input: when it already is "+<those digits>", reading it back is the parse
// that produced n, and is skipped (most stored numbers arrive in E.164; parsing is the costly
// part of normalizing a phone number). Not for a national number of 0: libphonenumber formats
// that as the raw input kept by ParseAndKeepRawInput, separators included.
FieldOutcome e164Outcome(const PhoneNumber& n, std::string_view written = {}) {
  if (isPlaceholder(n))
    return FieldOutcome::fail("a placeholder, not a phone number: its digits after the country code are all the same");
  std::string digits = e164WithoutPlus(n);
  // E.164 allows 15 digits, country code included; libphonenumber formats longer national parts
  // it kept on their length alone ("008 10 09094 90189 30 918" in DE gave 18 digits).
  if (digits.size() > 15) return FieldOutcome::fail("too long to be a phone number: E.164 has at most 15 digits");
  if (n.national_number() != 0 && written.size() == digits.size() + 1 && written.front() == '+' &&
      written.substr(1) == digits && digits.find_first_not_of("0123456789") == std::string::npos)
    return FieldOutcome::ok(std::move(digits));
  PhoneNumber reread;
  if (util().Parse("+" + digits, "ZZ", &reread) != PhoneNumberUtil::NO_PARSING_ERROR ||
      e164WithoutPlus(reread) != digits)
    return FieldOutcome::fail("not a phone number: the digits after the country code cannot start that way");
  return FieldOutcome::ok(std::move(digits));
}

std::string describe(PhoneNumberUtil::ErrorType e) {
  switch (e) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return "unknown country calling code";
    case PhoneNumberUtil::NOT_A_NUMBER: return "not a phone number";
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD: return "too short after the international prefix";
    case PhoneNumberUtil::TOO_SHORT_NSN: return "too short to be a phone number";
    case PhoneNumberUtil::TOO_LONG_NSN: return "too long to be a phone number";
    case PhoneNumberUtil::NO_PARSING_ERROR: break;
  }
  return "not a phone number";
}

std::string describe(PhoneNumberUtil::ValidationResult r) {
  switch (r) {
    case PhoneNumberUtil::TOO_SHORT: return "too short for its country";
    case PhoneNumberUtil::TOO_LONG: return "too long for its country";
    case PhoneNumberUtil::INVALID_LENGTH: return "impossible length for its country";
    case PhoneNumberUtil::INVALID_COUNTRY_CODE: return "unknown country calling code";
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY: return "local number without area code";
    case PhoneNumberUtil::IS_POSSIBLE: break;
  }
  return "not a possible phone number";
}

bool isPossible(const PhoneNumber& n) {
  return util().IsPossibleNumberWithReason(n) == PhoneNumberUtil::IS_POSSIBLE;
}

FieldOutcome possibleOrError(const PhoneNumber& n, std::string_view written) {
  const auto reason = util().IsPossibleNumberWithReason(n);
  if (reason != PhoneNumberUtil::IS_POSSIBLE) return FieldOutcome::fail(describe(reason));
  return e164Outcome(n, written);
}

std::optional<PhoneNumber> validWithPlus(std::string_view digits) {
  if (digits.empty() || digits.front() == '0') return std::nullopt;
  PhoneNumber n;
  if (util().Parse("+" + std::string(digits), "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  if (!util().IsValidNumber(n)) return std::nullopt;
  return n;
}

// Bare digits read as E.164 without '+': only long enough to not be a national number.
std::optional<PhoneNumber> bareInternationalReading(std::string_view digits) {
  if (digits.size() < 11 || digits.size() > 15) return std::nullopt;
  return validWithPlus(digits);
}

size_t countDigits(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (c >= '0' && c <= '9') ? 1 : 0;
  return n;
}

FieldOutcome withoutRegion(const std::string& input) {
  if (startsWithPlus(input)) {
    PhoneNumber n;
    const auto err = util().Parse(input, "ZZ", &n);
    if (err != PhoneNumberUtil::NO_PARSING_ERROR) return FieldOutcome::fail(describe(err));
    return possibleOrError(n, input);
  }
  if (const auto digits = bareDigits(input)) {
    if (digits->starts_with("00")) {
      if (const auto n = validWithPlus(std::string_view(*digits).substr(2)))
        return e164Outcome(*n);
    } else if (const auto n = bareInternationalReading(*digits)) {
      return e164Outcome(*n);
    }
  }
  PhoneNumber ignored;
  if (util().Parse(input, "ZZ", &ignored) == PhoneNumberUtil::NOT_A_NUMBER)
    return FieldOutcome::fail(describe(PhoneNumberUtil::NOT_A_NUMBER));
  // The shortest complete numbers (Niue, Tokelau) have four digits after the country code:
  // fewer is no phone number, whatever the region.
  if (countDigits(input) < 4) return FieldOutcome::fail(describe(PhoneNumberUtil::TOO_SHORT_NSN));
  FieldOutcome out = FieldOutcome::fail(kNoCountryCode);
  out.no_country_code = true;
  return out;
}

FieldOutcome withRegion(const std::string& input, const std::string& region) {
  PhoneNumber n;
  const auto err = util().ParseAndKeepRawInput(input, region, &n);
  if (err != PhoneNumberUtil::NO_PARSING_ERROR) return FieldOutcome::fail(describe(err));
  if (n.country_code_source() != PhoneNumber::FROM_DEFAULT_COUNTRY) return possibleOrError(n, input);

  if (util().IsValidNumber(n)) return e164Outcome(n);
  if (const auto digits = bareDigits(input))
    if (const auto intl = bareInternationalReading(*digits))
      return e164Outcome(*intl);
  if (isPossible(n)) return e164Outcome(n);
  return FieldOutcome::fail(describe(util().IsPossibleNumberWithReason(n)));
}

}  // namespace

bool isSupportedPhoneRegion(std::string_view region) {
  return region.size() == 2 && util().GetCountryCodeForRegion(upperAscii(region)) != 0;
}

FieldOutcome normalizePhone(std::string_view input, std::string_view default_region) {
  const std::string text(input);
  if (default_region.empty()) return withoutRegion(text);
  if (!isSupportedPhoneRegion(default_region)) return FieldOutcome::fail(kUnknownRegion);
  return withRegion(text, upperAscii(default_region));
}

}  // namespace capi::normalize::detail
