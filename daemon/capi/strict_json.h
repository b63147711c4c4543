#pragma once
// JSON from the outside world (browser events, payment webhooks), parsed as Poco::JSON::Parser
// does with one refusal more: an object that names a key twice. RFC 8259 leaves such an
// object's meaning to each parser (Poco keeps the last value, others the first), so a proxy, a
// log reader and this daemon could each see a different event in the same body.
#include <Poco/Dynamic/Var.h>

#include <string>

namespace capi {

// Throws Poco::JSON::JSONException (a Poco::Exception) for malformed JSON, nesting deeper than
// Poco's default limit, or a duplicate key.
Poco::Dynamic::Var parseUntrustedJson(const std::string& text);

}  // namespace capi
