#pragma once
// /admin/api/...: the operator commands as JSON over HTTP, behind a bearer token
// (admin.token; no token configured = no admin API). The server listens on loopback by default.
//   GET  /admin/                                  the debug console: a page that asks for the token
//                                                 and shows status, audit and retry table through
//                                                 the API below (the page itself holds no data)
//   GET  /admin/api/status                       queue depth, paused pixels, dry-run, test code
//   GET  /admin/api/audit?since=7d                audit --json (200 whether OK or WARN)
//   GET  /admin/api/retries?status=S&limit=N      retries list --json (one JSON object per line)
//   GET  /admin/api/retries/ID                    retries show ID --json
//   POST /admin/api/retries/ID/retry              requeue
//   GET  /admin/api/events/KEY                    events show KEY --json
#include "http/endpoint.h"

#include <functional>
#include <memory>
#include <iosfwd>
#include <string>
#include <vector>

namespace capi::app {

// status_json: renders the live status document. audit: runs `audit` with the given arguments
// against the running configuration (see runAudit).
std::shared_ptr<http::Endpoint> makeAdminEndpoint(
    std::string token, std::string database_url, std::function<std::string()> status_json,
    std::function<int(const std::vector<std::string>&, std::ostream&, std::ostream&)> audit);

}  // namespace capi::app
