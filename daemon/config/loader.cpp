#include "config/loader.h"

#include "config/ini_file.h"
#include "config/redact.h"
#include "config/text.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

extern char** environ;

namespace capi::config {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "CAPI_RECONCILER_";
constexpr std::string_view kPixelPrefix = "CAPI_RECONCILER_PIXEL_";
constexpr const char* kTestEventCodeVariable = "CAPI_RECONCILER_META_TEST_EVENT_CODE";
constexpr const char* kSecretKeysList =
    "meta.access_token, pixel.NAME.access_token, stripe.webhook_secret, server.ingest_key, admin.token, database.url";

struct KeySpec {
  std::string_view section;  // "" for keys before the first [section]
  std::string_view key;
  bool secret;
};

// Every key a file, the environment or a credential may set, apart from [pixel.NAME] sections.
constexpr KeySpec kKeys[] = {
    {"", "environment", false},
    {"log", "level", false},
    {"server", "listen", false},
    {"server", "max_body_bytes", false},
    {"server", "threads", false},
    {"server", "max_queued", false},
    {"server", "timeout_seconds", false},
    {"server", "keepalive_timeout_seconds", false},
    {"server", "trusted_proxies", false},
    {"server", "cors_origins", false},
    {"server", "ingest_key", true},
    {"database", "url", true},
    {"database", "pool_size", false},
    {"database", "auto_migrate", false},
    {"database", "statement_timeout_ms", false},
    {"database", "migrations_dir", false},
    {"meta", "pixel_id", false},
    {"meta", "access_token", true},
    {"meta", "graph_url", false},
    {"meta", "api_version", false},
    {"meta", "batch_size", false},
    {"meta", "ca_file", false},
    {"meta", "connect_timeout_ms", false},
    {"meta", "timeout_ms", false},
    {"meta", "event_source_url", false},
    {"stripe", "webhook_secret", true},
    {"stripe", "tolerance_seconds", false},
    {"stripe", "paid_event_types", false},
    {"matching", "wait_seconds", false},
    {"matching", "unmatched", false},
    {"matching", "max_future_skew_seconds", false},
    {"matching", "max_past_skew_seconds", false},
    {"matching", "workers", false},
    {"phone", "default_region", false},
    {"dispatch", "workers", false},
    {"dispatch", "lease_seconds", false},
    {"dispatch", "poll_interval_ms", false},
    {"dispatch", "backoff_base_seconds", false},
    {"dispatch", "backoff_cap_seconds", false},
    {"dispatch", "max_attempts", false},
    {"dispatch", "pause_probe_seconds", false},
    {"retention", "raw_payload_days", false},
    {"retention", "days", false},
    {"alerts", "error_ratio", false},
    {"alerts", "window_seconds", false},
    {"admin", "token", true},
};
constexpr std::string_view kPixelKeys[] = {"pixel_id", "access_token"};

constexpr long long kDay = 86400;
constexpr long long kWeek = 7 * kDay;
constexpr int kMinRetentionDays = 7;   // retention.days: Stripe's retries (3 days) and Meta's 7 days

std::string fullName(std::string_view section, std::string_view key) {
  return section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
}

// "server.max_body_bytes" -> "CAPI_RECONCILER_SERVER_MAX_BODY_BYTES"
std::string environmentVariable(std::string_view full) {
  std::string name = text::upper(full);
  std::replace(name.begin(), name.end(), '.', '_');
  std::replace(name.begin(), name.end(), '-', '_');
  return std::string(kPrefix) + name;
}

const KeySpec* findKey(std::string_view full) {
  for (const KeySpec& k : kKeys) {
    if (fullName(k.section, k.key) == full) return &k;
  }
  return nullptr;
}

bool knownSection(std::string_view section) {
  return std::any_of(std::begin(kKeys), std::end(kKeys), [&](const KeySpec& k) { return k.section == section; });
}

bool validPixelName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// The name a pixel goes by in environment variables: "Shop-EU" -> "SHOP_EU".
std::string pixelIdentity(std::string_view name) {
  std::string id = text::upper(name);
  std::replace(id.begin(), id.end(), '-', '_');
  return id;
}

std::optional<long long> parseInteger(std::string_view s) {
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parseDouble(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool isIpAddress(const std::string& s) {
  unsigned char buf[sizeof(struct in6_addr)];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool isHostName(std::string_view s) {
  return !s.empty() && s.size() <= 253 && s.front() != '-' && s.front() != '.' &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
         });
}

bool isDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool hasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c));
  });
}

// "https://host[:port]" with nothing after the authority; returns the problem or "".
std::string checkOrigin(const std::string& origin) {
  std::string rest;
  if (text::startsWith(origin, "https://")) {
    rest = origin.substr(8);
  } else if (text::startsWith(origin, "http://")) {
    rest = origin.substr(7);
  } else {
    return "must start with https:// or http://";
  }
  if (rest.find('/') != std::string::npos) return "must not have a path or trailing '/' (browsers send scheme://host[:port])";
  size_t colon = rest.rfind(':');
  std::string host = rest.substr(0, colon);
  if (colon != std::string::npos && !parseInteger(rest.substr(colon + 1))) return "has a malformed port";
  if (!isHostName(host)) return "has a malformed host";
  return "";
}

std::string readFileText(const fs::path& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return "";
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) error = std::strerror(errno);
  return content.str();
}

struct Setting {
  std::string value;
  std::string origin;  // "FILE line N", "environment NAME", "credential NAME"
};

struct PixelSource {
  std::string name;     // as written in the file; lower-case identity when only the environment names it
  std::string origin;   // where the pixel first appeared
  std::optional<Setting> pixel_id;
  std::optional<Setting> access_token;
};

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  Config run() {
    readFile();
    readCredentials();
    readEnvironment();
    applyDatabaseUrlFallback();
    Config config;
    interpret(config);
    if (!problems_.empty()) throw ConfigError(problems_);
    return config;
  }

 private:
  void problem(std::string message) { problems_.push_back(std::move(message)); }

  std::string env(const std::string& name) const {
    auto it = options_.env.find(name);
    return it == options_.env.end() ? "" : it->second;
  }

  // Raw values are collected lowest precedence first; each layer overwrites the one before.

  void readFile() {
    const std::string& path = options_.path;
    if (path.empty()) {
      if (!options_.allow_missing_file) {
        problem("no configuration file given (use --config FILE)");
        file_unreadable_ = true;
      }
      return;
    }
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) {
      if (!options_.allow_missing_file) {
        problem(path + ": configuration file not found (start from capi-reconciler.conf.example, or pass --config FILE)");
        file_unreadable_ = true;
      }
      return;
    }
    if (fs::is_directory(status)) {
      problem(path + ": is a directory, not a configuration file");
      file_unreadable_ = true;
      return;
    }
    std::string error;
    std::string content = readFileText(path, error);
    if (!error.empty()) {
      problem(path + ": cannot be read: " + error);
      file_unreadable_ = true;
      return;
    }

    IniDocument doc = parseIni(content, path);
    // Reported in file order, so the list reads top to bottom alongside the file.
    std::vector<IniProblem> found = std::move(doc.problems);
    auto report = [&](int line, const std::string& message) {
      found.push_back({line, path + " line " + std::to_string(line) + ": " + message});
    };

    std::set<std::string> rejected_sections;  // lower case; their keys are not reported again
    for (const IniSection& section : doc.sections) {
      std::string lname = text::lower(section.name);
      if (text::startsWith(lname, "pixel.")) {
        std::string name = section.name.substr(6);
        if (!validPixelName(name)) {
          report(section.line, "pixel section names may use only letters, digits, '_' and '-' ([pixel.NAME])");
          rejected_sections.insert(lname);
        } else if (auto other = declarePixel(name, path + " line " + std::to_string(section.line))) {
          report(section.line, "[pixel." + name + "] and [pixel." + *other +
                                   "] would share the environment variables CAPI_RECONCILER_PIXEL_" +
                                   pixelIdentity(name) + "_*; rename one");
          rejected_sections.insert(lname);
        }
      } else if (!knownSection(lname)) {
        report(section.line, "unknown section " + quoteSection(section.name) + suggestSection(lname));
        rejected_sections.insert(lname);
      }
    }

    for (const IniEntry& entry : doc.entries) {
      std::string lsection = text::lower(entry.section);
      std::string lkey = text::lower(entry.key);
      if (rejected_sections.count(lsection)) continue;
      Setting setting{entry.value, path + " line " + std::to_string(entry.line)};
      if (lsection == "meta" && lkey == "test_event_code") {
        report(entry.line,
               "meta.test_event_code must not be in a configuration file; set "
               "CAPI_RECONCILER_META_TEST_EVENT_CODE in the environment of a staging instance");
      } else if (text::startsWith(lsection, "pixel.")) {
        PixelSource& pixel = pixels_.at(pixelIdentity(entry.section.substr(6)));
        if (lkey == "pixel_id") {
          pixel.pixel_id = setting;
        } else if (lkey == "access_token") {
          pixel.access_token = setting;
        } else {
          report(entry.line, "unknown key " + quoteKey(fullName(lsection, entry.key)) + suggestPixelKey(lkey));
        }
      } else if (findKey(fullName(lsection, lkey))) {
        settings_[fullName(lsection, lkey)] = setting;
      } else {
        report(entry.line, "unknown key " + quoteKey(fullName(lsection, entry.key)) + suggestKey(lsection, lkey));
      }
    }

    std::stable_sort(found.begin(), found.end(), [](const IniProblem& a, const IniProblem& b) { return a.line < b.line; });
    for (IniProblem& p : found) problem(std::move(p.message));
  }

  // systemd's LoadCredential= puts one file per secret, named after the key, in a directory
  // only this service can read. A credential replaces the file's value for that key.
  void readCredentials() {
    std::string dir = env("CREDENTIALS_DIRECTORY");
    if (dir.empty()) return;
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) files.push_back(it->path());
    if (ec) {
      problem("$CREDENTIALS_DIRECTORY " + dir + ": cannot be read: " + ec.message());
      return;
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      std::string name = file.filename().string();
      std::string lname = text::lower(name);
      std::string origin = "credential " + name;
      if (lname == "meta.test_event_code") {
        problem(origin + ": the test event code is read only from CAPI_RECONCILER_META_TEST_EVENT_CODE, "
                         "and only on a staging instance");
        continue;
      }
      const KeySpec* spec = findKey(lname);
      constexpr size_t kPixelAffixes = std::string_view("pixel.").size() + std::string_view(".access_token").size();
      bool pixel_token = name.size() > kPixelAffixes && text::startsWith(lname, "pixel.") &&
                         text::endsWith(lname, ".access_token") &&
                         validPixelName(name.substr(6, name.size() - kPixelAffixes));
      if ((spec == nullptr || !spec->secret) && !pixel_token) {
        problem("credential " + (text::printableName(name) ? name : std::string("file")) +
                " in $CREDENTIALS_DIRECTORY is not a secret this daemon reads; expected one of: " + kSecretKeysList);
        continue;
      }
      std::error_code type_error;
      if (!fs::is_regular_file(file, type_error)) {
        problem(origin + ": not a regular file");
        continue;
      }
      std::string error;
      std::string content = readFileText(file, error);
      if (!error.empty()) {
        problem(origin + ": cannot be read: " + error);
        continue;
      }
      Setting setting{text::trim(content), origin};
      if (pixel_token) {
        std::string pixel_name = name.substr(6, name.size() - kPixelAffixes);
        pixelFor(pixel_name, origin).access_token = setting;
      } else {
        settings_[lname] = setting;
      }
    }
  }

  // CAPI_RECONCILER_<SECTION>_<KEY> replaces whatever the file or a credential said, even with
  // an empty value. Unknown CAPI_RECONCILER_ variables are errors: a misspelt
  // CAPI_RECONCILER_META_ACCESS_TOKEN would otherwise leave the daemon in dry-run unnoticed.
  void readEnvironment() {
    std::map<std::string, std::string> by_variable;  // variable -> full key
    for (const KeySpec& k : kKeys) by_variable[environmentVariable(fullName(k.section, k.key))] = fullName(k.section, k.key);

    for (const auto& [name, raw] : options_.env) {
      if (!text::startsWith(name, kPrefix)) continue;
      std::string value = text::trim(raw);
      std::string origin = "environment " + name;
      if (name == kTestEventCodeVariable) {
        if (!value.empty()) test_event_code_ = Setting{value, origin};
      } else if (auto it = by_variable.find(name); it != by_variable.end()) {
        settings_[it->second] = Setting{value, origin};
      } else if (!readPixelVariable(name, Setting{value, origin})) {
        problem("unknown environment variable " + name + suggestVariable(name, by_variable));
      }
    }
  }

  // CAPI_RECONCILER_PIXEL_<NAME>_PIXEL_ID / _ACCESS_TOKEN; NAME as in pixelIdentity().
  bool readPixelVariable(const std::string& name, const Setting& setting) {
    if (!text::startsWith(name, kPixelPrefix)) return false;
    std::string rest = name.substr(kPixelPrefix.size());
    for (std::string_view suffix : {"_ACCESS_TOKEN", "_PIXEL_ID"}) {
      if (!text::endsWith(rest, suffix) || rest.size() == suffix.size()) continue;
      std::string identity = rest.substr(0, rest.size() - suffix.size());
      if (!validPixelName(identity)) return false;
      PixelSource& pixel = pixelFor(identity, setting.origin);
      (suffix == "_PIXEL_ID" ? pixel.pixel_id : pixel.access_token) = setting;
      return true;
    }
    return false;
  }

  void applyDatabaseUrlFallback() {
    std::string url = text::trim(env("DATABASE_URL"));
    const Setting* current = find("database.url");
    if ((current == nullptr || current->value.empty()) && !url.empty())
      settings_["database.url"] = Setting{url, "environment DATABASE_URL"};
  }

  // A [pixel.NAME] header. Returns the name of an earlier header with the same environment
  // name ("shop-eu" and "shop_eu"), in which case this one is not declared.
  std::optional<std::string> declarePixel(const std::string& name, const std::string& where) {
    auto [it, inserted] = pixels_.emplace(pixelIdentity(name), PixelSource{name, where, {}, {}});
    if (inserted) return std::nullopt;
    return it->second.name;
  }

  // The pixel a credential or a variable refers to, created when no section declares it.
  PixelSource& pixelFor(const std::string& name, const std::string& origin) {
    std::string identity = pixelIdentity(name);
    return pixels_.try_emplace(identity, PixelSource{text::lower(identity), origin, {}, {}}).first->second;
  }


  static std::string quoteSection(const std::string& name) {
    return text::printableName(name) ? "[" + name + "]" : "(name not shown)";
  }
  static std::string quoteKey(const std::string& name) {
    return text::printableName(name) ? name : "(name not shown: it looks like a secret)";
  }

  static std::string suggestSection(const std::string& lname) {
    if (lname == "pixel") return " (pixel sections need a name: [pixel.NAME])";
    std::string best;
    size_t best_distance = 3;
    for (const KeySpec& k : kKeys) {
      if (k.section.empty()) continue;
      size_t d = text::editDistance(lname, k.section);
      if (d < best_distance) best_distance = d, best = k.section;
    }
    return best.empty() ? "" : " (did you mean [" + best + "]?)";
  }

  static std::string suggestKey(const std::string& lsection, const std::string& lkey) {
    std::string best;
    size_t best_distance = 3;
    for (const KeySpec& k : kKeys) {
      if (k.section != lsection) continue;
      size_t d = text::editDistance(lkey, k.key);
      if (d < best_distance && d < lkey.size()) best_distance = d, best = fullName(k.section, k.key);
    }
    if (!best.empty()) return " (did you mean " + best + "?)";
    for (const KeySpec& k : kKeys) {
      if (k.key != lkey) continue;
      if (k.section.empty()) return " (" + lkey + " goes before the first [section])";
      return " (" + lkey + " belongs in [" + std::string(k.section) + "])";
    }
    return "";
  }

  static std::string suggestPixelKey(const std::string& lkey) {
    for (std::string_view k : kPixelKeys) {
      if (text::editDistance(lkey, k) < 3) return " (did you mean " + std::string(k) + "?)";
    }
    return " (a [pixel.NAME] section takes pixel_id and access_token)";
  }

  static std::string suggestVariable(const std::string& name, const std::map<std::string, std::string>& known) {
    std::string best;
    size_t best_distance = 4;
    for (const auto& [variable, key] : known) {
      size_t d = text::editDistance(name, variable);
      if (d < best_distance) best_distance = d, best = variable;
    }
    if (!best.empty()) return " (did you mean " + best + "?)";
    return " (variables are CAPI_RECONCILER_<SECTION>_<KEY> for the keys in capi-reconciler.conf.example)";
  }

  // 'key = "value" (origin)', or 'key (origin)' for secrets, whose values never reach a message.
  static std::string subject(const std::string& full, const Setting& s, bool secret) {
    if (secret) return full + " (" + s.origin + ")";
    std::string shown = s.value.size() > 80 ? s.value.substr(0, 77) + "..." : s.value;
    return full + " = \"" + shown + "\" (" + s.origin + ")";
  }
  static std::string subject(const std::string& full, const Setting& s) {
    const KeySpec* spec = findKey(full);
    bool secret = spec ? spec->secret : text::endsWith(full, ".access_token");
    return subject(full, s, secret);
  }

  // Poco keeps "600 ; ten minutes" as the value: point at the likely cause.
  static std::string commentHint(const std::string& value) {
    bool inline_comment = value.find(" ;") != std::string::npos || value.find(" #") != std::string::npos ||
                          value.find("\t;") != std::string::npos || value.find("\t#") != std::string::npos;
    return inline_comment ? " (comments must be on a line of their own)" : "";
  }

  static std::string range(long long lo, long long hi) {
    return "allowed " + std::to_string(lo) + ".." + std::to_string(hi);
  }

  // Typed readers: each leaves `out` at its default when the key is not set.

  const Setting* find(const std::string& full) const {
    auto it = settings_.find(full);
    return it == settings_.end() ? nullptr : &it->second;
  }

  template <typename T>
  bool integer(const std::string& full, T& out, long long lo, long long hi) {
    const Setting* s = find(full);
    if (s == nullptr) return true;
    std::optional<long long> v = parseInteger(s->value);
    if (!v) {
      problem(subject(full, *s) + ": " + (s->value.empty() ? "empty" : "not a whole number") + "; " +
              range(lo, hi) + commentHint(s->value));
      return false;
    }
    if (*v < lo || *v > hi) {
      problem(subject(full, *s) + ": out of range; " + range(lo, hi));
      return false;
    }
    out = static_cast<T>(*v);
    return true;
  }

  void ratio(const std::string& full, double& out) {
    const Setting* s = find(full);
    if (s == nullptr) return;
    std::optional<double> v = parseDouble(s->value);
    if (!v || *v < 0.0 || *v > 1.0) {
      problem(subject(full, *s) + ": must be a number from 0 to 1 (0.02 means 2 %)" + commentHint(s->value));
      return;
    }
    out = *v;
  }

  void boolean(const std::string& full, bool& out) {
    const Setting* s = find(full);
    if (s == nullptr) return;
    std::string v = text::lower(s->value);
    if (v == "true" || v == "yes" || v == "1") {
      out = true;
    } else if (v == "false" || v == "no" || v == "0") {
      out = false;
    } else {
      problem(subject(full, *s) + ": must be true or false (yes/no and 1/0 also work)" + commentHint(s->value));
    }
  }

  // Compared case-insensitively, stored as listed.
  bool choice(const std::string& full, std::string& out, std::initializer_list<std::string_view> allowed) {
    const Setting* s = find(full);
    if (s == nullptr) return true;
    for (std::string_view a : allowed) {
      if (text::iequals(s->value, a)) {
        out = a;
        return true;
      }
    }
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    problem(subject(full, *s) + ": must be one of " + list + commentHint(s->value));
    return false;
  }

  // Tokens and keys: single words. Whitespace inside one is a copy-paste accident.
  void secret(const std::string& full, std::string& out) {
    const Setting* s = find(full);
    if (s == nullptr) return;
    if (hasSpaceOrControl(s->value)) {
      problem(subject(full, *s) + ": contains whitespace or control characters (a copy-paste accident?)");
      return;
    }
    out = s->value;
  }

  // http(s) URL; the trailing '/' is dropped so paths can be appended. Empty leaves `out` empty.
  void httpUrl(const std::string& full, std::string& out) {
    const Setting* s = find(full);
    if (s == nullptr) return;
    std::string v = s->value;
    if (v.empty()) {
      out.clear();
      return;
    }
    size_t scheme = text::startsWith(v, "https://") ? 8 : text::startsWith(v, "http://") ? 7 : 0;
    if (scheme == 0 || v.size() == scheme || hasSpaceOrControl(v)) {
      problem(subject(full, *s) + ": must be an http:// or https:// URL" + commentHint(v));
      return;
    }
    while (v.size() > scheme + 1 && v.back() == '/') v.pop_back();
    out = v;
  }

  void listen(ServerConfig& server) {
    const std::string full = "server.listen";
    const Setting* s = find(full);
    if (s == nullptr) return;
    const std::string& v = s->value;
    std::string host, port;
    std::string why;
    if (text::startsWith(v, "[")) {
      size_t close = v.find("]:");
      if (close == std::string::npos) {
        why = "an IPv6 address is written [address]:port, e.g. [::1]:8080";
      } else {
        host = v.substr(1, close - 1);
        port = v.substr(close + 2);
        if (host.find(':') == std::string::npos || !isIpAddress(host)) why = "not an IPv6 address inside [ ]";
      }
    } else {
      size_t colon = v.rfind(':');
      if (colon == std::string::npos) {
        why = "must be host:port, e.g. 127.0.0.1:8080";
      } else {
        host = v.substr(0, colon);
        port = v.substr(colon + 1);
        if (host.find(':') != std::string::npos) {
          why = "an IPv6 address needs brackets, e.g. [::1]:8080";
        } else if (!isHostName(host)) {
          why = "malformed host (use an IP address or a host name; 0.0.0.0 listens on every interface)";
        }
      }
    }
    std::optional<long long> p = why.empty() ? parseInteger(port) : std::nullopt;
    if (why.empty() && (!p || *p < 0 || *p > 65535)) why = "port must be 0..65535 (0: any free port)";
    if (!why.empty()) {
      problem(subject(full, *s) + ": " + why + commentHint(v));
      return;
    }
    server.host = host;
    server.port = static_cast<uint16_t>(*p);
  }

  void ipList(const std::string& full, std::vector<std::string>& out) {
    const Setting* s = find(full);
    if (s == nullptr) return;
    std::vector<std::string> items = text::splitList(s->value);
    for (const std::string& item : items) {
      if (!isIpAddress(item)) {
        problem(subject(full, *s) + ": \"" + item + "\" is not an IP address (list addresses, not ranges or names)");
        return;
      }
    }
    out = items;
  }

  void originList(const std::string& full, std::vector<std::string>& out) {
    const Setting* s = find(full);
    if (s == nullptr) return;
    std::vector<std::string> items = text::splitList(s->value);
    for (const std::string& item : items) {
      if (item == "*") continue;
      if (std::string why = checkOrigin(item); !why.empty()) {
        problem(subject(full, *s) + ": origin \"" + item + "\" " + why);
        return;
      }
    }
    out = items;
  }

  void databaseUrl(DatabaseConfig& db) {
    const std::string full = "database.url";
    const Setting* s = find(full);
    if (s != nullptr && !s->value.empty()) {
      // redactDatabaseUrl gives up (returns only the marker) exactly when it cannot take the
      // string apart as a URI or as keyword=value pairs, which libpq would reject as well.
      if (redactDatabaseUrl(s->value) == kRedacted) {
        problem(subject(full, *s) +
                ": not a libpq connection string; use postgresql://user:password@host:5432/dbname "
                "or host=... dbname=... user=...");
        return;
      }
      db.url = s->value;
      return;
    }
    if (options_.require_database && !file_unreadable_) {
      problem("database.url is required: set it in [database], CAPI_RECONCILER_DATABASE_URL, DATABASE_URL "
              "or a database.url credential");
    }
  }

  void directory(const std::string& full, std::string& out) {
    const Setting* s = find(full);
    if (s == nullptr || s->value.empty()) return;
    std::error_code ec;
    if (!fs::is_directory(s->value, ec)) {
      problem(subject(full, *s) + ": not a directory");
      return;
    }
    out = s->value;
  }

  void readableFile(const std::string& full, std::string& out) {
    const Setting* s = find(full);
    if (s == nullptr || s->value.empty()) return;
    std::error_code ec;
    if (!fs::is_regular_file(s->value, ec)) {
      problem(subject(full, *s) + ": not a file");
      return;
    }
    if (::access(s->value.c_str(), R_OK) != 0) {
      problem(subject(full, *s) + ": cannot be read by this user: " + std::strerror(errno));
      return;
    }
    out = s->value;
  }

  void apiVersion(std::string& out) {
    const std::string full = "meta.api_version";
    const Setting* s = find(full);
    if (s == nullptr) return;
    const std::string& v = s->value;
    size_t dot = v.find('.');
    bool ok = v.size() >= 4 && v[0] == 'v' && dot != std::string::npos && dot > 1 && dot + 1 < v.size() &&
              isDigits(std::string_view(v).substr(1, dot - 1)) && isDigits(std::string_view(v).substr(dot + 1));
    if (!ok) {
      problem(subject(full, *s) + ": must look like v26.0 (a Graph API version)" + commentHint(v));
      return;
    }
    out = v;
  }

  void webhookSecrets(std::vector<std::string>& out) {
    const std::string full = "stripe.webhook_secret";
    const Setting* s = find(full);
    if (s == nullptr) return;
    std::vector<std::string> items = text::splitList(s->value);
    bool ok = true;
    for (size_t i = 0; i < items.size(); ++i) {
      std::string which = items.size() == 1 ? "the secret" : "secret " + std::to_string(i + 1) + " of " +
                                                                 std::to_string(items.size());
      if (!text::startsWith(items[i], "whsec_") || items[i].size() == 6) {
        problem(subject(full, *s) + ": " + which + " does not start with whsec_ (copy it from the Stripe dashboard)");
        ok = false;
      } else if (hasSpaceOrControl(items[i])) {
        problem(subject(full, *s) + ": " + which + " contains whitespace");
        ok = false;
      }
    }
    if (ok) out = items;
  }

  void eventTypes(std::vector<std::string>& out) {
    const std::string full = "stripe.paid_event_types";
    const Setting* s = find(full);
    if (s == nullptr) return;
    std::vector<std::string> items = text::splitList(s->value);
    if (items.empty()) {
      problem(subject(full, *s) + ": needs at least one Stripe event type, e.g. checkout.session.completed");
      return;
    }
    for (const std::string& item : items) {
      bool ok = std::all_of(item.begin(), item.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
               c == '_' || c == '.';
      });
      if (!ok) {
        problem(subject(full, *s) + ": \"" + item + "\" is not a Stripe event type (lower case, e.g. invoice.paid)");
        return;
      }
    }
    out = items;
  }

  void region(std::string& out) {
    const std::string full = "phone.default_region";
    const Setting* s = find(full);
    if (s == nullptr) return;
    const std::string& v = s->value;
    if (v.empty()) {
      out.clear();
      return;
    }
    if (v.size() != 2 || !std::isalpha(static_cast<unsigned char>(v[0])) || !std::isalpha(static_cast<unsigned char>(v[1]))) {
      problem(subject(full, *s) + ": must be a two-letter ISO 3166 country code such as US or DE" + commentHint(v));
      return;
    }
    out = text::upper(v);
  }

  void pixels(Config& config) {
    struct Candidate {
      PixelConfig pixel;
      std::string key;     // the key that set pixel_id, for messages
      std::string origin;  // where pixel_id came from
    };
    std::vector<Candidate> candidates;
    if (const Setting* id = find("meta.pixel_id"); id != nullptr && !id->value.empty()) {
      PixelConfig p{"default", id->value, ""};
      secret("meta.access_token", p.access_token);
      candidates.push_back({p, "meta.pixel_id", id->origin});
    } else if (const Setting* token = find("meta.access_token"); token != nullptr && !token->value.empty()) {
      problem(subject("meta.access_token", *token) + ": set, but meta.pixel_id is not; the token has no pixel to send to");
    }
    std::vector<Candidate> named;
    for (auto& [identity, source] : pixels_) {
      std::string prefix = "pixel." + source.name;
      if (text::iequals(source.name, "default")) {
        problem(source.origin + ": the pixel name \"default\" is reserved for [meta] pixel_id; choose another name");
        continue;
      }
      if (!source.pixel_id || source.pixel_id->value.empty()) {
        problem(prefix + ".pixel_id is required for the pixel first named at " + source.origin +
                " (or set CAPI_RECONCILER_PIXEL_" + identity + "_PIXEL_ID)");
        continue;
      }
      PixelConfig p{source.name, source.pixel_id->value, ""};
      if (source.access_token) {
        if (hasSpaceOrControl(source.access_token->value)) {
          problem(subject(prefix + ".access_token", *source.access_token, true) +
                  ": contains whitespace or control characters (a copy-paste accident?)");
        } else {
          p.access_token = source.access_token->value;
        }
      }
      named.push_back({p, prefix + ".pixel_id", source.pixel_id->origin});
    }
    std::sort(named.begin(), named.end(),
              [](const Candidate& a, const Candidate& b) { return a.pixel.name < b.pixel.name; });
    candidates.insert(candidates.end(), named.begin(), named.end());

    std::map<std::string, std::string> first_key;  // pixel_id -> key that set it first
    for (const Candidate& c : candidates) {
      const std::string& id = c.pixel.pixel_id;
      std::string what = c.key + " = \"" + (id.size() > 40 ? id.substr(0, 37) + "..." : id) + "\" (" + c.origin + ")";
      if (id.size() > 32 || !isDigits(id)) {
        problem(what + ": a pixel (dataset) ID is digits only, as shown in Events Manager");
        continue;
      }
      auto [it, inserted] = first_key.emplace(id, c.key);
      if (!inserted) {
        problem(what + ": the same pixel as " + it->second +
                "; configure each pixel once, or every Purchase would be sent to it twice");
        continue;
      }
      config.pixels.push_back(c.pixel);
    }
  }

  void testEventCode(Config& config, bool environment_valid) {
    if (!test_event_code_) return;
    const std::string& code = test_event_code_->value;
    bool ok = code.size() <= 64 && std::all_of(code.begin(), code.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!ok) {
      problem(std::string(kTestEventCodeVariable) + ": must be the code shown in Events Manager's Test Events tab "
                                                    "(letters and digits, e.g. TEST12345)");
      return;
    }
    if (environment_valid && config.production()) {
      problem(std::string(kTestEventCodeVariable) +
              " is set while environment = production. Meta files every event that carries a test event code "
              "under Test Events, so this instance's Purchases would never reach attribution. Unset the variable, "
              "or set environment = staging on a staging instance.");
      return;
    }
    config.meta.test_event_code = code;
  }

  void interpret(Config& c) {
    bool environment_valid = choice("environment", c.environment, {"production", "staging"});
    choice("log.level", c.log_level, {"trace", "debug", "info", "warn", "error"});

    listen(c.server);
    integer("server.max_body_bytes", c.server.max_body_bytes, 1024, 64LL * 1024 * 1024);
    integer("server.threads", c.server.threads, 1, 1024);
    integer("server.max_queued", c.server.max_queued, 1, 100000);
    integer("server.timeout_seconds", c.server.timeout_seconds, 1, 3600);
    integer("server.keepalive_timeout_seconds", c.server.keepalive_timeout_seconds, 1, 3600);
    ipList("server.trusted_proxies", c.server.trusted_proxies);
    originList("server.cors_origins", c.server.cors_origins);
    secret("server.ingest_key", c.server.ingest_key);

    databaseUrl(c.database);
    integer("database.pool_size", c.database.pool_size, 1, 1000);
    boolean("database.auto_migrate", c.database.auto_migrate);
    integer("database.statement_timeout_ms", c.database.statement_timeout_ms, 0, 3600 * 1000);
    directory("database.migrations_dir", c.database.migrations_dir);

    httpUrl("meta.graph_url", c.meta.graph_url);
    if (c.meta.graph_url.empty()) {
      problem("meta.graph_url: must not be empty (the default is https://graph.facebook.com)");
    }
    apiVersion(c.meta.api_version);
    integer("meta.batch_size", c.meta.batch_size, 1, 1000);
    readableFile("meta.ca_file", c.meta.ca_file);
    integer("meta.connect_timeout_ms", c.meta.connect_timeout_ms, 1, 600 * 1000);
    integer("meta.timeout_ms", c.meta.timeout_ms, 1, 600 * 1000);
    httpUrl("meta.event_source_url", c.meta.event_source_url);

    webhookSecrets(c.stripe.webhook_secrets);
    integer("stripe.tolerance_seconds", c.stripe.tolerance_seconds, 1, kDay);
    eventTypes(c.stripe.paid_event_types);

    // Past two days a wait buys nothing (Meta deduplicates against the pixel for 48 hours only)
    // and risks Meta's 7 days for the unmatched Purchase: check-config and serve warn.
    integer("matching.wait_seconds", c.matching.wait_seconds, 0, kWeek);
    std::string unmatched = c.matching.unmatched == UnmatchedPolicy::Send ? "send" : "drop";
    if (choice("matching.unmatched", unmatched, {"send", "drop"}))
      c.matching.unmatched = unmatched == "send" ? UnmatchedPolicy::Send : UnmatchedPolicy::Drop;
    integer("matching.max_future_skew_seconds", c.matching.max_future_skew_seconds, 0, kWeek);
    integer("matching.workers", c.matching.workers, 1, 64);
    integer("matching.max_past_skew_seconds", c.matching.max_past_skew_seconds, 0, kWeek);

    region(c.phone_default_region);

    integer("dispatch.workers", c.dispatch.workers, 1, 64);
    integer("dispatch.lease_seconds", c.dispatch.lease_seconds, 1, kDay);
    integer("dispatch.poll_interval_ms", c.dispatch.poll_interval_ms, 1, 3600 * 1000);
    bool base_ok = integer("dispatch.backoff_base_seconds", c.dispatch.backoff_base_seconds, 1, kDay);
    bool cap_ok = integer("dispatch.backoff_cap_seconds", c.dispatch.backoff_cap_seconds, 1, kWeek);
    integer("dispatch.max_attempts", c.dispatch.max_attempts, 0, 1000);
    integer("dispatch.pause_probe_seconds", c.dispatch.pause_probe_seconds, 1, kDay);
    if (base_ok && cap_ok && c.dispatch.backoff_base_seconds > c.dispatch.backoff_cap_seconds) {
      problem("dispatch.backoff_base_seconds (" + std::to_string(c.dispatch.backoff_base_seconds) +
              ") must not exceed dispatch.backoff_cap_seconds (" + std::to_string(c.dispatch.backoff_cap_seconds) + ")");
    }

    bool raw_ok = integer("retention.raw_payload_days", c.retention.raw_payload_days, 0, 3650);
    // Under 7 days, a webhook Stripe retries (for up to 3 days) or replays could find its
    // payment purged and count as a new order, and a browser event kept longer than the payment
    // that took it would be offered to that customer's next order.
    bool days_ok = integer("retention.days", c.retention.days, 1, 3650);
    if (days_ok && c.retention.days < kMinRetentionDays) {
      problem("retention.days (" + std::to_string(c.retention.days) + ") must be at least " +
              std::to_string(kMinRetentionDays) +
              ": a webhook retried or replayed after its order is purged would count as a new order");
      days_ok = false;
    }
    if (raw_ok && days_ok && c.retention.raw_payload_days > c.retention.days) {
      problem("retention.raw_payload_days (" + std::to_string(c.retention.raw_payload_days) +
              ") must not exceed retention.days (" + std::to_string(c.retention.days) +
              "): raw bodies are purged first, the hashed rows they produced later");
    }

    ratio("alerts.error_ratio", c.alerts.error_ratio);
    integer("alerts.window_seconds", c.alerts.window_seconds, 1, kWeek);

    secret("admin.token", c.admin.token);

    pixels(c);
    testEventCode(c, environment_valid);
  }

  const LoadOptions& options_;
  std::map<std::string, Setting> settings_;    // lower-case "section.key" -> winning value
  std::map<std::string, PixelSource> pixels_;  // pixelIdentity() -> [pixel.NAME] values
  std::optional<Setting> test_event_code_;
  bool file_unreadable_ = false;  // then "X is required" would only repeat that problem
  std::vector<std::string> problems_;
};

std::string describeProblems(const std::vector<std::string>& problems) {
  std::string out = "configuration has " + std::to_string(problems.size()) + " problem(s):";
  for (const std::string& p : problems) out += "\n  - " + p;
  return out;
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(describeProblems(problems)), problems_(std::move(problems)) {}

Environment processEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Config load(const LoadOptions& options) { return Loader(options).run(); }

}  // namespace capi::config
