#include "http/endpoint.h"

#include "common/json_text.h"

#include <algorithm>
#include <cctype>
#include <strings.h>

namespace capi::http {

int toHttpStatus(Outcome o) {
  switch (o) {
    case Outcome::Ok: return 200;
    case Outcome::Accepted: return 202;
    case Outcome::NoContent: return 204;
    case Outcome::BadRequest: return 400;
    case Outcome::Unauthorized: return 401;
    case Outcome::Forbidden: return 403;
    case Outcome::NotFound: return 404;
    case Outcome::MethodNotAllowed: return 405;
    case Outcome::PayloadTooLarge: return 413;
    case Outcome::UnsupportedMediaType: return 415;
    case Outcome::ServiceUnavailable: return 503;
    case Outcome::Internal: return 500;
  }
  return 500;
}

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return ::strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string Request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

Response jsonError(Outcome o, const std::string& message) {
  Response r;
  r.outcome = o;
  r.body = "{\"error\":" + jsonQuote(message) + "}";
  return r;
}

void Router::add(const std::string& method, const std::string& path, std::shared_ptr<Endpoint> endpoint) {
  routes_.push_back({method, path, std::move(endpoint)});
}

Response Router::dispatch(const Request& request) const {
  std::string allowed;
  for (const auto& r : routes_) {
    const bool prefix = !r.path.empty() && r.path.back() == '*';
    const bool match = prefix ? request.path.rfind(r.path.substr(0, r.path.size() - 1), 0) == 0
                              : request.path == r.path;
    if (!match) continue;
    if (r.method == request.method || (r.method == "GET" && request.method == "HEAD"))
      return r.endpoint->handle(request);
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  if (allowed.empty()) return jsonError(Outcome::NotFound, "no such endpoint: " + request.path);
  auto resp = jsonError(Outcome::MethodNotAllowed, request.method + " is not allowed here; use " + allowed);
  resp.headers.emplace_back("Allow", allowed);
  return resp;
}

namespace {
std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}
}  // namespace

std::string resolveClientIp(const std::string& peer, const std::string& forwarded_for,
                            const std::vector<std::string>& trusted_proxies) {
  auto trusted = [&](const std::string& ip) {
    return std::find(trusted_proxies.begin(), trusted_proxies.end(), ip) != trusted_proxies.end();
  };
  if (forwarded_for.empty() || !trusted(peer)) return peer;
  std::vector<std::string> hops;
  size_t start = 0;
  while (start <= forwarded_for.size()) {
    auto comma = forwarded_for.find(',', start);
    hops.push_back(trim(forwarded_for.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it)
    if (!it->empty() && !trusted(*it)) return *it;
  return peer;
}

}  // namespace capi::http
