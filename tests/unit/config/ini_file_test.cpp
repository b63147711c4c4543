#include "config/ini_file.h"

#include <catch2/catch.hpp>

#include <algorithm>

using capi::config::IniDocument;
using capi::config::parseIni;

namespace {

bool anyContains(const std::vector<capi::config::IniProblem>& problems, const std::string& needle) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const capi::config::IniProblem& p) { return p.message.find(needle) != std::string::npos; });
}

}  // namespace

TEST_CASE("Entries keep their section, key, trimmed value and line", "[config][ini]") {
  IniDocument doc = parseIni("top = 1\n\n[server]\n  listen =  127.0.0.1:80  \r\n[pixel.Shop-EU]\npixel_id=5\n", "f.conf");
  CHECK(doc.problems.empty());
  REQUIRE(doc.entries.size() == 3);
  CHECK(doc.entries[0].section.empty());
  CHECK(doc.entries[0].value == "1");
  CHECK(doc.entries[1].section == "server");
  CHECK(doc.entries[1].key == "listen");
  CHECK(doc.entries[1].value == "127.0.0.1:80");
  CHECK(doc.entries[1].line == 4);
  CHECK(doc.entries[2].section == "pixel.Shop-EU");
  CHECK(doc.entries[2].value == "5");
  REQUIRE(doc.sections.size() == 2);
  CHECK(doc.sections[1].line == 5);
}

TEST_CASE("Values are taken literally: no ${} expansion, '=' and ';' inside are kept", "[config][ini]") {
  IniDocument doc = parseIni("[database]\nurl = host=db password=${HOME};x\n", "f.conf");
  REQUIRE(doc.entries.size() == 1);
  CHECK(doc.entries[0].value == "host=db password=${HOME};x");
}

TEST_CASE("A line without '=' is reported by line number without quoting it", "[config][ini]") {
  IniDocument doc = parseIni("[meta]\nEAAsecretTokenPasted\n", "f.conf");
  REQUIRE(doc.problems.size() == 1);
  CHECK(doc.problems[0].line == 2);
  CHECK(doc.problems[0].message == "f.conf line 2: expected 'key = value', a [section] header or a comment");
  CHECK(doc.entries.empty());
}

TEST_CASE("A repeated key is reported with the line that set it first", "[config][ini]") {
  IniDocument doc = parseIni("[server]\nthreads = 1\nThreads = 2\n", "f.conf");
  CHECK(anyContains(doc.problems, "f.conf line 3: server.Threads is already set on line 2"));
  REQUIRE(doc.entries.size() == 1);
  CHECK(doc.entries[0].value == "1");
}

TEST_CASE("Broken section headers are reported and their keys skipped", "[config][ini]") {
  IniDocument doc = parseIni("[server\nthreads = 1\n[]\nx = 2\n[log] level = info\n= orphan\n", "f.conf");
  CHECK(anyContains(doc.problems, "line 1: section header has no closing ']'"));
  CHECK(anyContains(doc.problems, "line 3: empty section name"));
  CHECK(anyContains(doc.problems, "line 5: unexpected text after ']'"));
  CHECK(anyContains(doc.problems, "line 6: '=' without a key name"));
  CHECK(doc.entries.empty());
}

TEST_CASE("A UTF-8 byte order mark at the start is ignored", "[config][ini]") {
  IniDocument doc = parseIni("\xEF\xBB\xBF" "environment = staging\n", "f.conf");
  CHECK(doc.problems.empty());
  REQUIRE(doc.entries.size() == 1);
  CHECK(doc.entries[0].key == "environment");
}
