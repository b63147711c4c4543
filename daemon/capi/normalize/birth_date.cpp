#include "capi/normalize/birth_date.h"

#include "capi/normalize/unicode_text.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

// Accepted forms (separators '/', '.', '-', spaces, commas; any case):
//   1997-02-16, 1997/2/16, 1997-02-16T10:00:00Z   year first: always year-month-day
//   2/16/1997, 16/2/1997, 16.02.1997, 02-16-1997   year last: see dayMonthOrder()
//   19970216, 02161997, 16021997                  eight digits: YYYYMMDD first
//   February 16, 1997; 16 Feb 1997; 16th of February 1997; Sunday, February 16, 1997
// Two-digit years are refused: the century would be a guess.

namespace capi::normalize::detail {
namespace {

constexpr const char* kUnrecognised =
    "not a recognised date (use YYYY-MM-DD, MM/DD/YYYY, DD.MM.YYYY, YYYYMMDD or "
    "\"16 February 1997\")";
constexpr const char* kTwoDigitYear = "two-digit year: write the year with four digits";

struct Token {
  bool number;
  std::string text;
  bool dot_before;  // a '.' separates it from the previous token
  bool glued;       // no separator at all before it
};

struct Date {
  int year, month, day;
};

int monthNumber(const std::string& word) {
  static const char* const kMonths[] = {"january", "february", "march",     "april",
                                        "may",     "june",     "july",      "august",
                                        "september", "october", "november", "december"};
  for (int i = 0; i < 12; ++i) {
    const std::string full = kMonths[i];
    if (word == full || word == full.substr(0, 3)) return i + 1;
  }
  if (word == "sept") return 9;
  return 0;
}

bool isWeekday(const std::string& word) {
  static const char* const kDays[] = {"monday", "tuesday", "wednesday", "thursday",
                                      "friday", "saturday", "sunday"};
  for (const char* d : kDays) {
    const std::string full = d;
    if (word == full || word == full.substr(0, 3)) return true;
  }
  return word == "tues" || word == "thur" || word == "thurs";
}

bool isOrdinalSuffix(const std::string& word) {
  return word == "st" || word == "nd" || word == "rd" || word == "th";
}

std::optional<std::vector<Token>> tokenize(const std::string& s) {
  std::vector<Token> tokens;
  bool dot = false;
  bool glued = true;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const bool digit = c >= '0' && c <= '9';
    const bool letter = c >= 'a' && c <= 'z';
    if (digit || letter) {
      size_t j = i;
      while (j < s.size() && ((digit && s[j] >= '0' && s[j] <= '9') ||
                              (letter && s[j] >= 'a' && s[j] <= 'z')))
        ++j;
      tokens.push_back({digit, s.substr(i, j - i), dot, glued && !tokens.empty()});
      dot = false;
      glued = true;
      i = j;
      continue;
    }
    if (c != '/' && c != '.' && c != '-' && c != ' ' && c != ',' && c != '\t')
      return std::nullopt;
    dot = dot || c == '.';
    glued = false;
    ++i;
  }
  return tokens;
}

// "1997-02-16T10:00:00Z" and "1997-02-16 10:00": a timestamp's date part.
std::string withoutTimeOfDay(const std::string& s) {
  auto digits = [&s](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  if (s.size() >= 16 && digits(0, 4) && s[4] == '-' && digits(5, 2) && s[7] == '-' &&
      digits(8, 2) && (s[10] == 't' || s[10] == ' ') && digits(11, 2) && s[13] == ':')
    return s.substr(0, 10);
  return s;
}

int toInt(const std::string& digits) { return std::stoi(digits); }

// Two numbers before a four-digit year. A number above 12 can only be the day. When both could
// be the month, a '.' separator means day.month (the European convention that writes dots);
// otherwise month/day, the US order Meta's own example (2/16/1997) uses.
std::optional<Date> dayMonthOrder(int first, int second, int year, bool dotted,
                                  std::string& error) {
  if (first > 12 && second > 12) {
    error = "not a date: neither of the first two numbers can be the month";
    return std::nullopt;
  }
  if (first > 12 || (dotted && second <= 12)) return Date{year, second, first};
  return Date{year, first, second};
}

std::string check(const Date& d, int current_year) {
  using namespace std::chrono;
  if (d.year < 1900 || d.year > current_year)
    return "year outside 1900 to " + std::to_string(current_year);
  if (d.month < 1 || d.month > 12) return "no such month";
  const year_month_day ymd{year{d.year}, month{static_cast<unsigned>(d.month)},
                           day{static_cast<unsigned>(d.day)}};
  if (d.day < 1 || !ymd.ok()) return "no such date";
  return {};
}

std::string format(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", d.year, d.month, d.day);
  return buf;
}

FieldOutcome accept(const Date& d, int current_year) {
  if (std::string error = check(d, current_year); !error.empty())
    return FieldOutcome::fail(std::move(error));
  return FieldOutcome::ok(format(d));
}

FieldOutcome eightDigits(const std::string& s, int current_year) {
  const Date iso{toInt(s.substr(0, 4)), toInt(s.substr(4, 2)), toInt(s.substr(6, 2))};
  const std::string iso_error = check(iso, current_year);
  if (iso_error.empty()) return FieldOutcome::ok(format(iso));
  std::string error;
  const auto other =
      dayMonthOrder(toInt(s.substr(0, 2)), toInt(s.substr(2, 2)), toInt(s.substr(4, 4)), false,
                    error);
  if (other && check(*other, current_year).empty()) return FieldOutcome::ok(format(*other));
  return FieldOutcome::fail(iso_error);
}

}  // namespace

FieldOutcome normalizeBirthDate(std::string_view input, int current_year) {
  const auto tokens = tokenize(withoutTimeOfDay(toLower(input)));
  if (!tokens) return FieldOutcome::fail(kUnrecognised);

  std::vector<Token> numbers;
  int month_word = 0;
  for (const Token& t : *tokens) {
    if (t.number) {
      numbers.push_back(t);
      continue;
    }
    if (const int m = monthNumber(t.text); m != 0) {
      if (month_word != 0) return FieldOutcome::fail(kUnrecognised);
      month_word = m;
    } else if (!(isOrdinalSuffix(t.text) && t.glued) && t.text != "of" && !isWeekday(t.text)) {
      return FieldOutcome::fail(kUnrecognised);
    }
  }
  for (const Token& n : numbers)
    if (n.text.size() > 8) return FieldOutcome::fail(kUnrecognised);

  if (month_word != 0) {
    if (numbers.size() != 2) return FieldOutcome::fail(kUnrecognised);
    const Token* year = nullptr;
    const Token* day = nullptr;
    for (const Token& n : numbers) (n.text.size() == 4 ? year : day) = &n;
    if (year == nullptr) return FieldOutcome::fail(kTwoDigitYear);
    if (day == nullptr || day->text.size() > 2) return FieldOutcome::fail(kUnrecognised);
    return accept({toInt(year->text), month_word, toInt(day->text)}, current_year);
  }

  if (numbers.size() == 1 && numbers[0].text.size() == 8)
    return eightDigits(numbers[0].text, current_year);
  if (numbers.size() == 1 && numbers[0].text.size() == 6) return FieldOutcome::fail(kTwoDigitYear);
  if (numbers.size() != 3) return FieldOutcome::fail(kUnrecognised);

  const std::string& a = numbers[0].text;
  const std::string& b = numbers[1].text;
  const std::string& c = numbers[2].text;
  if (a.size() == 4 && b.size() <= 2 && c.size() <= 2)
    return accept({toInt(a), toInt(b), toInt(c)}, current_year);
  if (c.size() == 4 && a.size() <= 2 && b.size() <= 2) {
    std::string error;
    const auto date = dayMonthOrder(toInt(a), toInt(b), toInt(c), numbers[1].dot_before, error);
    if (!date) return FieldOutcome::fail(std::move(error));
    return accept(*date, current_year);
  }
  if (a.size() <= 2 && b.size() <= 2 && c.size() <= 2) return FieldOutcome::fail(kTwoDigitYear);
  return FieldOutcome::fail(kUnrecognised);
}

}  // namespace capi::normalize::detail
