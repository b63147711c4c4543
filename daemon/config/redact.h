#pragma once
// Making a database connection string safe to print (check-config, logs, error messages).
#include <string>

namespace capi::config {

inline constexpr const char* kRedacted = "<redacted>";

// Replaces the password in a libpq connection string with "<redacted>", in both forms:
//   URI        postgresql://user:secret@host/db?sslpassword=x  -> user:<redacted>@..., sslpassword=<redacted>
//   key=value  host=h password='se cret' sslpassword=x         -> password=<redacted> ...
// Anything it cannot take apart with certainty is replaced whole by "<redacted>": leaking a
// password is worse than hiding a host name.
std::string redactDatabaseUrl(const std::string& url);

}  // namespace capi::config
