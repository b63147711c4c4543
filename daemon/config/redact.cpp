#include "config/redact.h"

#include "config/text.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace capi::config {

namespace {

// libpq's connection parameters whose values may be shown. Every other value is hidden: the
// passwords, and also whatever a misspelt keyword ("pasword=...") holds.
bool isShownParameter(std::string_view name) {
  static constexpr std::string_view kShown[] = {
      "application_name", "channel_binding", "client_encoding", "connect_timeout", "dbname",
      "fallback_application_name", "gssencmode", "gsslib", "host", "hostaddr", "keepalives",
      "keepalives_count", "keepalives_idle", "keepalives_interval", "krbsrvname", "load_balance_hosts",
      "options", "passfile", "port", "replication", "requirepeer", "requiressl", "service",
      "ssl_max_protocol_version", "ssl_min_protocol_version", "sslcert", "sslcompression", "sslcrl",
      "sslcrldir", "sslkey", "sslmode", "sslrootcert", "sslsni", "target_session_attrs",
      "tcp_user_timeout", "user"};
  return std::find(std::begin(kShown), std::end(kShown), name) != std::end(kShown);
}
bool isSecretParameter(std::string_view name) { return !isShownParameter(name); }

// A libpq keyword: letters and underscores. Anything else (a quoted URL, "postgresql://..." read
// as a key) is not keyword=value text at all.
bool isKeyword(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
  });
}

// "a=1&password=x" -> "a=1&password=<redacted>"
std::string redactQuery(std::string_view query) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view param = query.substr(start, amp - start);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && isSecretParameter(param.substr(0, eq))) {
      out.append(param.substr(0, eq + 1)).append(kRedacted);
    } else {
      out.append(param);
    }
    if (amp < query.size()) out += '&';
    start = amp + 1;
  }
  return out;
}

std::string redactUri(const std::string& url, size_t authority_start) {
  std::string_view rest = std::string_view(url).substr(authority_start);
  std::string out = url.substr(0, authority_start);
  // The last '@' ends the user information even when a careless password contains '@', '/' or
  // '?'; if the '@' was really in the query, more than needed is hidden, never less.
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon + 1)).append(kRedacted);
    } else {
      out.append(userinfo);
    }
    rest = rest.substr(at);
  }
  size_t q = rest.find('?');
  if (q == std::string_view::npos) return out.append(rest);
  out.append(rest.substr(0, q + 1));
  return out + redactQuery(rest.substr(q + 1));
}

// libpq's keyword/value syntax: keyword = value, value either bare (backslash escapes) or in
// single quotes (backslash escapes). Returns nullopt when the text does not follow it.
std::optional<std::string> redactKeywordValue(const std::string& conninfo) {
  std::string out;
  size_t i = 0;
  const size_t n = conninfo.size();
  auto skipSpace = [&] {
    while (i < n && std::isspace(static_cast<unsigned char>(conninfo[i]))) ++i;
  };
  while (true) {
    skipSpace();
    if (i == n) break;
    size_t key_start = i;
    while (i < n && conninfo[i] != '=' && !std::isspace(static_cast<unsigned char>(conninfo[i]))) ++i;
    std::string key = conninfo.substr(key_start, i - key_start);
    skipSpace();
    if (!isKeyword(key) || i == n || conninfo[i] != '=') return std::nullopt;
    ++i;
    skipSpace();
    size_t value_start = i;
    if (i < n && conninfo[i] == '\'') {
      ++i;
      while (i < n && conninfo[i] != '\'') i += conninfo[i] == '\\' ? 2 : 1;
      if (i >= n) return std::nullopt;
      ++i;
    } else {
      while (i < n && !std::isspace(static_cast<unsigned char>(conninfo[i]))) i += conninfo[i] == '\\' ? 2 : 1;
      i = std::min(i, n);
    }
    if (!out.empty()) out += ' ';
    out += key + "=";
    out += isSecretParameter(key) ? std::string(kRedacted) : conninfo.substr(value_start, i - value_start);
  }
  return out;
}

}  // namespace

std::string redactDatabaseUrl(const std::string& url) {
  if (url.empty()) return url;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (text::startsWith(text::lower(url.substr(0, scheme.size())), scheme)) return redactUri(url, scheme.size());
  }
  if (url.find('=') != std::string::npos) {
    if (auto redacted = redactKeywordValue(url)) return *redacted;
  }
  return kRedacted;
}

}  // namespace capi::config
