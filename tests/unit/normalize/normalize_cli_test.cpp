#include "capi/normalize/normalize_cli.h"
#include "common/crypto.h"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

using capi::normalize::RegionLookup;
using capi::normalize::runNormalizeCli;

namespace {

struct Run {
  int code = -1;
  std::string out;
  std::string err;
  std::vector<std::string> config_paths_read;
};

Run run(const std::vector<std::string>& args, const std::string& stdin_text = "",
        RegionLookup config = {}) {
  Run r;
  std::istringstream in(stdin_text);
  std::ostringstream out;
  std::ostringstream err;
  r.code = runNormalizeCli(args, in, out, err, [&](const std::string& path) {
    r.config_paths_read.push_back(path);
    return config;
  });
  r.out = out.str();
  r.err = err.str();
  return r;
}

const std::string kPhoneHash = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176";
const std::string kEmailHash = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";

}  // namespace

TEST_CASE("plain output shows field, input, normalized value and hash on one line", "[normalize][cli]") {
  const Run r = run({"ph", "(650)555-1212", "--region", "US"});
  CHECK(r.code == 0);
  CHECK(r.out == "ph  (650)555-1212 -> 16505551212  " + kPhoneHash + "\n");
  CHECK(r.err.empty());
}

TEST_CASE("several values each get a line, in order", "[normalize][cli]") {
  const Run r = run({"em", "John_Smith@gmail.com", " JOHN_SMITH@GMAIL.COM "});
  CHECK(r.code == 0);
  CHECK(r.out == "em  John_Smith@gmail.com -> john_smith@gmail.com  " + kEmailHash + "\n" +
                     "em   JOHN_SMITH@GMAIL.COM  -> john_smith@gmail.com  " + kEmailHash + "\n");
}

TEST_CASE("a rejected value is reported on the error stream, the rest still printed, exit 1", "[normalize][cli]") {
  const Run r = run({"em", "nobody", "John_Smith@gmail.com"});
  CHECK(r.code == 1);
  CHECK(r.out == "em  John_Smith@gmail.com -> john_smith@gmail.com  " + kEmailHash + "\n");
  CHECK(r.err == "em  nobody -> error: not an email address: no '@'\n");
}

TEST_CASE("values are read from standard input, one per line, when none are given", "[normalize][cli]") {
  const Run r = run({"ph", "--region=us"}, "(650)555-1212\r\n+44 20 7946 0958\n");
  CHECK(r.code == 0);
  CHECK(r.out == "ph  (650)555-1212 -> 16505551212  " + kPhoneHash + "\n" +
                     "ph  +44 20 7946 0958 -> 442079460958  "
                     "35e206e5dec4c89b9e8b71b8c32724a5bb518483ac5a20c6617d738375b3b823\n");
}

TEST_CASE("a blank line on standard input is a rejected value", "[normalize][cli]") {
  const Run r = run({"fn"}, "Mary\n\n");
  CHECK(r.code == 1);
  CHECK(r.err == "fn   -> error: empty value\n");
}

TEST_CASE("json output is one object per line with the documented keys", "[normalize][cli]") {
  const Run r = run({"ph", "--json", "--region", "US", "(650)555-1212", "555"});
  CHECK(r.code == 1);
  CHECK(r.out ==
        "{\"field\":\"ph\",\"input\":\"(650)555-1212\",\"normalized\":\"16505551212\",\"sha256\":\"" +
            kPhoneHash + "\"}\n" +
            "{\"field\":\"ph\",\"input\":\"555\",\"error\":\"too short for its country\"}\n");
  CHECK(r.err.empty());
}

TEST_CASE("json output escapes quotes, backslashes, controls and invalid UTF-8", "[normalize][cli]") {
  const Run r = run({"fn", "--json", "Mé \"\\\x01", "\xff"});
  CHECK(r.out == "{\"field\":\"fn\",\"input\":\"Mé \\\"\\\\\\u0001\",\"normalized\":\"mé\",\"sha256\":\"" +
                     capi::sha256Hex("mé") + "\"}\n" +
                     "{\"field\":\"fn\",\"input\":\"\\ufffd\",\"error\":\"not valid UTF-8\"}\n");
}

TEST_CASE("a pre-hashed value is shown as passed through", "[normalize][cli]") {
  const Run r = run({"em", kEmailHash});
  CHECK(r.code == 0);
  CHECK(r.out == "em  " + kEmailHash + " -> " + kEmailHash + "  (already SHA-256, passed through)\n");
}

TEST_CASE("usage errors exit 2 and explain themselves", "[normalize][cli]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "missing FIELD"},
      {{"email", "a@b.c"}, "unknown field 'email'"},
      {{"em", "--verbose", "a@b.c"}, "unknown option --verbose"},
      {{"ph", "--region"}, "--region needs a value"},
      {{"ph", "--region", "XX", "123"}, "--region must be"},
      {{"ph", "--region", "USA", "123"}, "--region must be"},
      {{"em", "--json=yes"}, "--json takes no value"},
      {{"em", "--config"}, "--config needs a value"},
  };
  for (const auto& [args, message] : cases) {
    DYNAMIC_SECTION("usage error: " << message) {
      const Run r = run(args);
      CHECK(r.code == 2);
      CHECK(r.out.empty());
      CHECK(r.err.find(message) != std::string::npos);
      CHECK(r.err.find("usage: capi-reconciler normalize") != std::string::npos);
    }
  }
}

TEST_CASE("help prints the usage and exits 0", "[normalize][cli]") {
  const Run r = run({"--help"});
  CHECK(r.code == 0);
  CHECK(r.out.find("usage: capi-reconciler normalize FIELD") != std::string::npos);
  CHECK(r.out.find("external_id") != std::string::npos);
}

TEST_CASE("after -- every argument is a value, even one starting with a dash", "[normalize][cli]") {
  const Run r = run({"fn", "--", "-Mary-"});
  CHECK(r.code == 0);
  CHECK(r.out.find("-> mary  ") != std::string::npos);
}

TEST_CASE("without --region or --config a national phone number lacks a country code", "[normalize][cli]") {
  const Run r = run({"ph", "(650)555-1212"});
  CHECK(r.code == 1);
  CHECK(r.err.find("no country code") != std::string::npos);
  CHECK(r.config_paths_read.empty());
}

TEST_CASE("the configuration's default region is used when --region is absent", "[normalize][cli]") {
  const Run r = run({"ph", "--config", "/etc/x.conf", "(650)555-1212"}, "", RegionLookup{"US", ""});
  CHECK(r.code == 0);
  CHECK(r.config_paths_read == std::vector<std::string>{"/etc/x.conf"});
  CHECK(r.out == "ph  (650)555-1212 -> 16505551212  " + kPhoneHash + "\n");
}

TEST_CASE("--region wins over the configuration, which is then not read", "[normalize][cli]") {
  const Run r = run({"ph", "--config", "/etc/x.conf", "--region", "GB", "020 7946 0958"}, "",
                    RegionLookup{"US", ""});
  CHECK(r.code == 0);
  CHECK(r.config_paths_read.empty());
  CHECK(r.out.find("-> 442079460958  ") != std::string::npos);
}

TEST_CASE("an invalid configuration exits 78 with the loader's problems", "[normalize][cli]") {
  const Run r = run({"ph", "--config", "/etc/x.conf", "123"}, "",
                    RegionLookup{"", "database.url: missing\nserver.listen: bad port"});
  CHECK(r.code == 78);
  CHECK(r.out.empty());
  CHECK(r.err.find("server.listen: bad port") != std::string::npos);
}

TEST_CASE("an unknown default region in the configuration exits 78", "[normalize][cli]") {
  const Run r = run({"ph", "--config", "/etc/x.conf", "123"}, "", RegionLookup{"XX", ""});
  CHECK(r.code == 78);
}
