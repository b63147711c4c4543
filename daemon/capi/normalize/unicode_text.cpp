#include "capi/normalize/unicode_text.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <limits>
#include <stdexcept>

namespace capi::normalize::detail {
namespace {

icu::UnicodeString fromUtf8(std::string_view s) {
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

std::string toUtf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

// ICU only fails here when its data is missing, which is a broken installation.
const icu::Normalizer2& normalizer(bool compose) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n =
      compose ? icu::Normalizer2::getNFCInstance(status) : icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status) || n == nullptr)
    throw std::runtime_error(std::string("ICU normalizer unavailable: ") + u_errorName(status));
  return *n;
}

icu::UnicodeString normalized(const icu::UnicodeString& u, bool compose) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString out = normalizer(compose).normalize(u, status);
  if (U_FAILURE(status))
    throw std::runtime_error(std::string("ICU normalization failed: ") + u_errorName(status));
  return out;
}

bool isTrimmable(UChar32 c) {
  return u_isUWhiteSpace(c) || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
}

bool isLetter(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_L_MASK) != 0; }
bool isMark(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0; }
bool isDecimalDigit(UChar32 c) { return u_charType(c) == U_DECIMAL_DIGIT_NUMBER; }

}  // namespace

bool isValidUtf8(std::string_view s) {
  if (s.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const auto n = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < n) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

std::string trim(std::string_view s) {
  const icu::UnicodeString u = fromUtf8(s);
  int32_t begin = 0;
  int32_t end = u.length();
  while (begin < end && isTrimmable(u.char32At(begin))) begin = u.moveIndex32(begin, 1);
  while (end > begin) {
    const int32_t prev = u.moveIndex32(end, -1);
    if (!isTrimmable(u.char32At(prev))) break;
    end = prev;
  }
  return toUtf8(icu::UnicodeString(u, begin, end - begin));
}

std::string toNfc(std::string_view s) { return toUtf8(normalized(fromUtf8(s), true)); }

std::string toLower(std::string_view s) {
  icu::UnicodeString u = fromUtf8(s);
  u.toLower(icu::Locale::getRoot());
  return toUtf8(u);
}

bool containsSpaceOrControl(std::string_view s) {
  const icu::UnicodeString u = fromUtf8(s);
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    const UChar32 c = u.char32At(i);
    if (u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR) return true;
  }
  return false;
}

std::string lettersOf(std::string_view s, Keep keep) {
  icu::UnicodeString u = normalized(fromUtf8(s), true);
  u.toLower(icu::Locale::getRoot());
  icu::UnicodeString kept;
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    const UChar32 c = u.char32At(i);
    // Default-ignorables are invisible even where they are letters or marks (variation
    // selectors, Hangul fillers); trim() drops them at the ends, so they go everywhere here.
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) continue;
    if (isLetter(c) || isMark(c) || (keep == Keep::LettersAndDigits && isDecimalDigit(c)))
      kept.append(c);
  }
  return toUtf8(normalized(kept, true));
}

bool containsLetter(std::string_view s) {
  const icu::UnicodeString u = fromUtf8(s);
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1))
    if (isLetter(u.char32At(i))) return true;
  return false;
}

std::string foldedKey(std::string_view s) {
  icu::UnicodeString u = normalized(fromUtf8(s), false);
  u.toLower(icu::Locale::getRoot());
  icu::UnicodeString kept;
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    const UChar32 c = u.char32At(i);
    if (isLetter(c)) kept.append(c);
  }
  return toUtf8(kept);
}

}  // namespace capi::normalize::detail
