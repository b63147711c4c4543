#include "capi/normalize/places.h"

#include "capi/normalize/unicode_text.h"

#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace capi::normalize::detail {
namespace {

struct NamedCode {
  const char* name;
  const char* code;
};

// Forms ICU's display names do not cover: everyday English, ISO 3166 official short names
// ("Korea, Republic of"), and former names still found in customer records.
constexpr NamedCode kCountryAliases[] = {
    {"United States of America", "us"}, {"America", "us"}, {"USA", "us"},
    {"United States Minor Outlying Islands", "um"},
    {"UK", "gb"}, {"Great Britain", "gb"}, {"Britain", "gb"}, {"England", "gb"},
    {"Scotland", "gb"}, {"Wales", "gb"}, {"Northern Ireland", "gb"},
    {"United Kingdom of Great Britain and Northern Ireland", "gb"},
    {"Holland", "nl"}, {"The Netherlands", "nl"}, {"Netherlands, Kingdom of the", "nl"},
    {"Russian Federation", "ru"}, {"Czech Republic", "cz"}, {"Slovak Republic", "sk"},
    {"Turkey", "tr"}, {"Türkiye", "tr"}, {"Ivory Coast", "ci"}, {"Cote d'Ivoire", "ci"},
    {"Burma", "mm"}, {"Macedonia", "mk"}, {"Republic of North Macedonia", "mk"},
    {"Swaziland", "sz"}, {"Vatican", "va"}, {"Holy See", "va"},
    {"Holy See (Vatican City State)", "va"}, {"UAE", "ae"},
    {"Republic of Korea", "kr"}, {"Korea, Republic of", "kr"},
    {"Democratic People's Republic of Korea", "kp"},
    {"Korea, Democratic People's Republic of", "kp"},
    {"Congo", "cg"}, {"Republic of the Congo", "cg"},
    {"Democratic Republic of the Congo", "cd"}, {"Congo, The Democratic Republic of the", "cd"},
    {"Congo, Democratic Republic of the", "cd"}, {"DR Congo", "cd"}, {"DRC", "cd"},
    {"Macau", "mo"}, {"Palestine", "ps"}, {"State of Palestine", "ps"},
    {"Palestine, State of", "ps"}, {"Viet Nam", "vn"},
    {"Lao People's Democratic Republic", "la"}, {"Syrian Arab Republic", "sy"},
    {"Iran, Islamic Republic of", "ir"}, {"Islamic Republic of Iran", "ir"},
    {"Bolivia, Plurinational State of", "bo"}, {"Venezuela, Bolivarian Republic of", "ve"},
    {"Tanzania, United Republic of", "tz"}, {"United Republic of Tanzania", "tz"},
    {"Moldova, Republic of", "md"}, {"Republic of Moldova", "md"},
    {"Taiwan, Province of China", "tw"}, {"Micronesia, Federated States of", "fm"},
    {"Federated States of Micronesia", "fm"}, {"Virgin Islands, British", "vg"},
    {"Virgin Islands, U.S.", "vi"}, {"Brunei Darussalam", "bn"}, {"Cabo Verde", "cv"},
    {"East Timor", "tl"}, {"Falkland Islands (Malvinas)", "fk"},
    {"Saint Vincent and the Grenadines", "vc"}, {"Heard Island and McDonald Islands", "hm"},
    {"South Georgia and the South Sandwich Islands", "gs"},
    {"Saint Helena, Ascension and Tristan da Cunha", "sh"},
    {"Saint Martin (French part)", "mf"}, {"Sint Maarten (Dutch part)", "sx"},
    {"Bonaire, Sint Eustatius and Saba", "bq"}, {"Pitcairn", "pn"},
    {"The Bahamas", "bs"}, {"The Gambia", "gm"}, {"Gambia, The", "gm"},
    {"Republic of Ireland", "ie"},
};

// Codes ICU lists that ISO 3166-1 does not assign (exceptionally reserved): Meta would not
// recognise them. XK (Kosovo) stays: not ISO-assigned, but the code in general use (CLDR,
// payment providers).
constexpr std::array<const char*, 3> kNotIsoCountries = {"DG", "EA", "IC"};

// Extra display languages besides English and each country's own: the languages of the
// markets whose shops most often store country names in their own language.
constexpr std::array<const char*, 6> kNameLanguages = {"de", "fr", "es", "it", "pt", "nl"};

std::string toUtf8(const icu::UnicodeString& u) {
  std::string s;
  u.toUTF8String(s);
  return s;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// ICU's English names abbreviate ("St. Lucia", "Bosnia & Herzegovina", "Hong Kong SAR China",
// "Myanmar (Burma)"); people write the long forms too.
std::vector<std::string> spellings(const std::string& name) {
  std::vector<std::string> out{name};
  auto add = [&out](std::string s) { out.push_back(std::move(s)); };
  const size_t n = out.size();
  for (size_t i = 0; i < n; ++i) {
    std::string s = out[i];
    replaceAll(s, "&", " and ");
    replaceAll(s, "St. ", "Saint ");
    replaceAll(s, "St ", "Saint ");
    replaceAll(s, " SAR China", "");
    add(s);
    if (const size_t open = s.find(" ("); open != std::string::npos) add(s.substr(0, open));
  }
  return out;
}

class CountryTable {
 public:
  CountryTable() {
    for (const NamedCode& a : kCountryAliases) addName(a.name, a.code, 0);
    for (const char* const* c = icu::Locale::getISOCountries(); *c != nullptr; ++c) {
      const std::string upper = *c;
      if (std::find(kNotIsoCountries.begin(), kNotIsoCountries.end(), upper) !=
          kNotIsoCountries.end())
        continue;
      const std::string code = lowerAscii(upper);
      const icu::Locale region("", upper.c_str());
      alpha2_.insert(code);
      alpha3_.emplace(lowerAscii(region.getISO3Country()), code);

      icu::UnicodeString name;
      region.getDisplayCountry(icu::Locale::getEnglish(), name);
      for (const std::string& s : spellings(toUtf8(name))) addName(s, code, 1);

      UErrorCode status = U_ZERO_ERROR;
      icu::Locale own(("und_" + upper).c_str());
      own.addLikelySubtags(status);
      if (U_SUCCESS(status)) {
        name.remove();
        region.getDisplayCountry(own, name);
        addName(toUtf8(name), code, 2);
      }
      for (const char* language : kNameLanguages) {
        name.remove();
        region.getDisplayCountry(icu::Locale(language), name);
        addName(toUtf8(name), code, 3);
      }
    }
  }

  std::optional<std::string> find(std::string_view text) const {
    const std::string key = foldedKey(text);
    if (key.empty()) return std::nullopt;
    if (key.size() == 2 && alpha2_.count(key) != 0) return key;
    if (key.size() == 3)
      if (const auto it = alpha3_.find(key); it != alpha3_.end()) return it->second;
    if (const auto it = names_.find(key); it != names_.end() && !it->second.ambiguous)
      return it->second.code;
    return std::nullopt;
  }

 private:
  struct Entry {
    std::string code;
    int tier;  // lower wins: aliases, English, own language, other languages
    bool ambiguous;
  };

  // Within one tier, a name two countries share matches neither.
  void addName(const std::string& name, const std::string& code, int tier) {
    const std::string key = foldedKey(name);
    if (key.empty()) return;
    auto [it, inserted] = names_.try_emplace(key, Entry{code, tier, false});
    if (inserted) return;
    Entry& e = it->second;
    if (tier < e.tier)
      e = Entry{code, tier, false};
    else if (tier == e.tier && e.code != code)
      e.ambiguous = true;
  }

  std::set<std::string> alpha2_;
  std::unordered_map<std::string, std::string> alpha3_;
  std::unordered_map<std::string, Entry> names_;
};

constexpr NamedCode kUsStates[] = {
    {"Alabama", "al"}, {"Alaska", "ak"}, {"Arizona", "az"}, {"Arkansas", "ar"},
    {"California", "ca"}, {"Colorado", "co"}, {"Connecticut", "ct"}, {"Delaware", "de"},
    {"Florida", "fl"}, {"Georgia", "ga"}, {"Hawaii", "hi"}, {"Idaho", "id"},
    {"Illinois", "il"}, {"Indiana", "in"}, {"Iowa", "ia"}, {"Kansas", "ks"},
    {"Kentucky", "ky"}, {"Louisiana", "la"}, {"Maine", "me"}, {"Maryland", "md"},
    {"Massachusetts", "ma"}, {"Michigan", "mi"}, {"Minnesota", "mn"}, {"Mississippi", "ms"},
    {"Missouri", "mo"}, {"Montana", "mt"}, {"Nebraska", "ne"}, {"Nevada", "nv"},
    {"New Hampshire", "nh"}, {"New Jersey", "nj"}, {"New Mexico", "nm"}, {"New York", "ny"},
    {"North Carolina", "nc"}, {"North Dakota", "nd"}, {"Ohio", "oh"}, {"Oklahoma", "ok"},
    {"Oregon", "or"}, {"Pennsylvania", "pa"}, {"Rhode Island", "ri"},
    {"South Carolina", "sc"}, {"South Dakota", "sd"}, {"Tennessee", "tn"}, {"Texas", "tx"},
    {"Utah", "ut"}, {"Vermont", "vt"}, {"Virginia", "va"}, {"Washington", "wa"},
    {"West Virginia", "wv"}, {"Wisconsin", "wi"}, {"Wyoming", "wy"},
    {"District of Columbia", "dc"}, {"Washington DC", "dc"}, {"Washington, D.C.", "dc"},
    {"American Samoa", "as"}, {"Guam", "gu"}, {"Northern Mariana Islands", "mp"},
    {"Commonwealth of the Northern Mariana Islands", "mp"}, {"Puerto Rico", "pr"},
    {"U.S. Virgin Islands", "vi"}, {"United States Virgin Islands", "vi"},
    {"Virgin Islands", "vi"}, {"United States Minor Outlying Islands", "um"},
    {"U.S. Minor Outlying Islands", "um"},
    {"Federated States of Micronesia", "fm"}, {"Micronesia", "fm"},
    {"Marshall Islands", "mh"}, {"Palau", "pw"},
    {"Armed Forces Americas", "aa"}, {"Armed Forces Europe", "ae"},
    {"Armed Forces Africa", "ae"}, {"Armed Forces Canada", "ae"},
    {"Armed Forces Middle East", "ae"}, {"Armed Forces Pacific", "ap"},
};

constexpr NamedCode kCanadianProvinces[] = {
    {"Alberta", "ab"}, {"British Columbia", "bc"}, {"Colombie-Britannique", "bc"},
    {"Manitoba", "mb"}, {"New Brunswick", "nb"}, {"Nouveau-Brunswick", "nb"},
    {"Newfoundland and Labrador", "nl"}, {"Newfoundland", "nl"},
    {"Terre-Neuve-et-Labrador", "nl"}, {"NF", "nl"}, {"Nova Scotia", "ns"},
    {"Nouvelle-Écosse", "ns"}, {"Northwest Territories", "nt"},
    {"Territoires du Nord-Ouest", "nt"}, {"NWT", "nt"}, {"Nunavut", "nu"}, {"Ontario", "on"},
    {"Prince Edward Island", "pe"}, {"Île-du-Prince-Édouard", "pe"}, {"PEI", "pe"},
    {"Quebec", "qc"}, {"Québec", "qc"}, {"PQ", "qc"}, {"Saskatchewan", "sk"},
    {"Yukon", "yt"}, {"Yukon Territory", "yt"},
};

class StateTableData {
 public:
  template <size_t N>
  explicit StateTableData(const NamedCode (&entries)[N]) {
    for (const NamedCode& e : entries) {
      codes_.insert(e.code);
      names_.emplace(foldedKey(e.name), e.code);
    }
  }

  std::optional<std::string> find(const std::string& key) const {
    if (key.size() == 2 && codes_.count(key) != 0) return key;
    if (const auto it = names_.find(key); it != names_.end()) return it->second;
    return std::nullopt;
  }

 private:
  std::set<std::string> codes_;
  std::unordered_map<std::string, std::string> names_;
};

}  // namespace

std::optional<std::string> countryCode(std::string_view text) {
  static const CountryTable table;
  return table.find(text);
}

std::optional<std::string> stateCode(std::string_view text, StateTable which) {
  static const StateTableData us(kUsStates);
  static const StateTableData canada(kCanadianProvinces);
  const std::string key = foldedKey(text);
  if (key.empty()) return std::nullopt;
  if (which != StateTable::Canada)
    if (auto code = us.find(key)) return code;
  if (which != StateTable::UnitedStates)
    if (auto code = canada.find(key)) return code;
  return std::nullopt;
}

}  // namespace capi::normalize::detail
