#include "config/ini_file.h"

#include "config/text.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/IniFileConfiguration.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace capi::config {

namespace {

bool isComment(const std::string& trimmed) { return trimmed[0] == ';' || trimmed[0] == '#'; }

}  // namespace

IniDocument parseIni(const std::string& input, const std::string& origin) {
  IniDocument doc;
  std::string_view text = input;
  if (text::startsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);  // editors on Windows add a BOM

  std::string section;
  bool section_broken = false;                 // keys under a broken header are not reported again
  std::map<std::string, int> first_line;       // lower-case "section.key" -> line
  std::map<std::string, bool> section_listed;  // lower-case name -> recorded in doc.sections

  auto report = [&](int line_no, std::string message) {
    doc.problems.push_back({line_no, origin + " line " + std::to_string(line_no) + ": " + message});
  };

  // Returns what Poco gets for this line: comments and rejected lines are blanked and section
  // headers reduced to "[name]", so Poco's lenient parser only sees what the scan accepted.
  auto scan = [&](std::string_view raw, int line_no) -> std::string {
    std::string line = text::trim(raw);
    if (line.empty() || isComment(line)) return "";
    if (line[0] == '[') {
      size_t close = line.find(']');
      if (close == std::string::npos) {
        report(line_no, "section header has no closing ']'");
        section_broken = true;
        return "";
      }
      std::string rest = text::trim(std::string_view(line).substr(close + 1));
      if (!rest.empty() && !isComment(rest))
        report(line_no, "unexpected text after ']' (put each key on its own line)");
      section = text::trim(std::string_view(line).substr(1, close - 1));
      section_broken = section.empty();
      if (section_broken) {
        report(line_no, "empty section name '[]'");
        return "";
      }
      if (!section_listed[text::lower(section)]) {
        section_listed[text::lower(section)] = true;
        doc.sections.push_back({section, line_no});
      }
      return "[" + section + "]";
    }

    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      // The line is not quoted: it may be a token pasted on a line of its own.
      report(line_no, "expected 'key = value', a [section] header or a comment");
      return "";
    }
    std::string key = text::trim(std::string_view(line).substr(0, eq));
    if (key.empty()) {
      report(line_no, "'=' without a key name before it");
      return "";
    }
    if (section_broken) return "";
    std::string full = section.empty() ? key : section + "." + key;
    auto [it, inserted] = first_line.emplace(text::lower(full), line_no);
    if (!inserted) {
      std::string name = text::printableName(full) ? full : "a key";
      report(line_no, name + " is already set on line " +
                                          std::to_string(it->second) + " (each key may appear once)");
      return "";
    }
    doc.entries.push_back({section, key, "", line_no});
    return line;
  };

  std::string cleaned;
  int line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = std::min(text.find('\n', pos), text.size());
    cleaned += scan(text.substr(pos, end - pos), ++line_no);
    cleaned += '\n';
    pos = end + 1;
  }

  std::istringstream stream(cleaned);
  Poco::AutoPtr<Poco::Util::IniFileConfiguration> ini(new Poco::Util::IniFileConfiguration(stream));
  for (IniEntry& entry : doc.entries) {
    std::string full = entry.section.empty() ? entry.key : entry.section + "." + entry.key;
    entry.value = ini->getRawString(full, "");
  }
  return doc;
}

}  // namespace capi::config
