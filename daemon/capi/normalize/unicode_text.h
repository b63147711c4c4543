#pragma once
// Unicode text operations the normalizers share, over UTF-8 std::strings so that ICU stays
// inside unicode_text.cpp. Every function expects valid UTF-8 (check with isValidUtf8 first).
#include <string>
#include <string_view>

namespace capi::normalize::detail {

bool isValidUtf8(std::string_view s);

// Removes leading and trailing White_Space and default-ignorable code points (BOM, zero-width
// space), which spreadsheets and copy-paste leave behind.
std::string trim(std::string_view s);

std::string toNfc(std::string_view s);

// Full Unicode lowercase with root-locale rules (no Turkish or Lithuanian tailoring), so the
// result does not depend on where the daemon runs.
std::string toLower(std::string_view s);

// True when s contains a White_Space or a control (Cc) code point.
bool containsSpaceOrControl(std::string_view s);

enum class Keep { LettersAndDigits, LettersOnly };

// NFC, lowercase, then drops everything that is not a letter (with its combining marks) or,
// with Keep::LettersAndDigits, a decimal digit: punctuation, symbols, spaces, controls, format
// characters, and invisible default-ignorable code points even when they are marks or letters
// (variation selectors, Hangul fillers). The result is NFC again, since dropping a character can
// join a base letter to a combining mark that followed it.
std::string lettersOf(std::string_view s, Keep keep);

bool containsLetter(std::string_view s);

// A lookup key for names in tables: lowercase letters only, accents and other combining marks
// removed ("Côte d’Ivoire" -> "cotedivoire", "Québec" -> "quebec"). Never a value to hash.
std::string foldedKey(std::string_view s);

}  // namespace capi::normalize::detail
