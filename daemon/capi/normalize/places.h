#pragma once
// Countries, US states and Canadian provinces: names and codes as customers and shop systems
// write them, mapped to the codes Meta wants.
#include <optional>
#include <string>
#include <string_view>

namespace capi::normalize::detail {

// ISO 3166-1 alpha-2, lowercase, from an alpha-2 or alpha-3 code or a country name (English,
// the country's own language, and de/fr/es/it/pt/nl, from ICU's locale data, plus common and
// ISO-official forms such as "USA", "UK", "Korea, Republic of"). Case, accents, spaces and
// punctuation do not matter. nullopt when nothing matches unambiguously.
std::optional<std::string> countryCode(std::string_view text);

enum class StateTable { UsAndCanada, UnitedStates, Canada };

// The two-letter code, lowercase, of a US state, district, territory or military "state"
// (USPS), or of a Canadian province or territory, from its code or English (or, for Canada,
// French) name. nullopt when it is none of those.
std::optional<std::string> stateCode(std::string_view text, StateTable table);

}  // namespace capi::normalize::detail
