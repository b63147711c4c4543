#pragma once
// /admin/api/...: the operator commands as JSON over HTTP, behind a bearer token
// (admin.token; no token configured = no admin API). The server listens on loopback by default.
//   GET  /admin/api/status                       queue depth, paused pixels, dry-run, test code
//   GET  /admin/api/retries?status=S&limit=N      retries list --json (one JSON object per line)
//   GET  /admin/api/retries/ID                    retries show ID --json
//   POST /admin/api/retries/ID/retry              requeue
//   GET  /admin/api/events/KEY                    events show KEY --json
#include "http/endpoint.h"

#include <functional>
#include <memory>
#include <string>

namespace capi::app {

// status_json: renders the live status document.
std::shared_ptr<http::Endpoint> makeAdminEndpoint(std::string token, std::string database_url,
                                                  std::function<std::string()> status_json);

}  // namespace capi::app
