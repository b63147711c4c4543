#include "store/sql_util.h"

#include <cmath>
#include <cstdio>

namespace capi::store::sql {

namespace {
std::string withParameter(const std::string& url, const std::string& key, const std::string& value) {
  if (url.find(key) != std::string::npos) return url;
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0)
    return url + (url.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
  return url + (url.empty() ? "" : " ") + key + "=" + value;
}
}  // namespace

std::string withConnectTimeout(const std::string& url) { return withParameter(url, "connect_timeout", "5"); }

std::string withNetworkTimeouts(const std::string& url) {
  std::string out = withConnectTimeout(url);
  out = withParameter(out, "keepalives_idle", "30");
  out = withParameter(out, "keepalives_interval", "10");
  out = withParameter(out, "keepalives_count", "3");
  return withParameter(out, "tcp_user_timeout", "30000");
}

std::string ts(TimePoint t) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const long long secs = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
  const long long frac = micros - secs * 1000000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", secs, frac);
  return buf;
}

namespace {
void appendQuoted(std::string& out, const std::string& v) {
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}
}  // namespace

std::string textArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    appendQuoted(out, values[i]);
  }
  out += '}';
  return out;
}

std::string arrayLiteral(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    if (values[i])
      appendQuoted(out, *values[i]);
    else
      out += "NULL";
  }
  out += '}';
  return out;
}

TimePoint toTimePoint(const pqxx::field& f) {
  const double secs = f.as<double>();
  return TimePoint(std::chrono::microseconds(static_cast<int64_t>(std::llround(secs * 1e6))));
}

std::optional<TimePoint> toOptionalTimePoint(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return toTimePoint(f);
}

std::string str(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

std::vector<std::string> parseTextArray(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  auto parser = f.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done; item = parser.get_next())
    if (item.first == pqxx::array_parser::string_value) out.push_back(item.second);
  return out;
}

}  // namespace capi::store::sql
