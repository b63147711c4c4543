#pragma once
// The INI layer under the loader. Poco::Util::IniFileConfiguration accepts almost anything: a
// line without '=' becomes a key, "[server" opens a section, a '#' comment becomes a key named
// "# ...", text after "]" becomes a key, and a repeated key silently replaces the first. A
// structural scan runs first so each of those is reported with its line number, and '#' comments
// are accepted besides Poco's ';'. Values are then read through Poco (raw, without its ${...}
// expansion, so a '$' in a password stays a '$').
#include <string>
#include <vector>

namespace capi::config {

struct IniSection {
  std::string name;   // as written, e.g. "pixel.Shop-EU"; "" for keys before any section
  int line = 0;
};

struct IniEntry {
  std::string section;  // as written; "" before the first [section]
  std::string key;      // as written
  std::string value;    // trimmed
  int line = 0;
};

struct IniProblem {
  int line = 0;
  std::string message;  // "<origin> line N: ...", never quoting a value
};

struct IniDocument {
  std::vector<IniSection> sections;  // in file order; section names compare case-insensitively
  std::vector<IniEntry> entries;     // in file order, first occurrence of each key only
  std::vector<IniProblem> problems;  // in file order
};

// origin names the text in messages (normally the file path). Never throws for bad syntax:
// problems are collected in the result.
IniDocument parseIni(const std::string& text, const std::string& origin);

}  // namespace capi::config
