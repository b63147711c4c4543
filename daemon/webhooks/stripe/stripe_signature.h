#pragma once
// Verifies the Stripe-Signature header exactly as Stripe's libraries do: the whole whsec_...
// string is the HMAC-SHA256 key, the signed bytes are "<t>.<raw body>", any v1 entry may match,
// comparison is constant-time. Unlike stripe-node, timestamps too far in the future are also
// refused (same tolerance). A bad signature is an outcome, not an exception.
#include "common/clock.h"

#include <string>
#include <string_view>
#include <vector>

namespace capi::webhooks::stripe {

enum class SignatureOutcome {
  Valid,
  MissingHeader,     // header absent or empty
  MalformedHeader,   // no t=, non-numeric t, no v1 entries
  Mismatch,          // no v1 entry matched any secret
  Stale,             // t older than now - tolerance
  FutureTimestamp,   // t later than now + tolerance
};

const char* describe(SignatureOutcome o);

class StripeSignatureVerifier {
 public:
  // REQUIRES: secrets non-empty.
  StripeSignatureVerifier(std::vector<std::string> secrets, int tolerance_seconds);
  SignatureOutcome verify(std::string_view header, std::string_view raw_body, TimePoint now) const;

  // Builds a header for tests and tools: "t=<t>,v1=<hex>".
  static std::string sign(std::string_view secret, int64_t timestamp, std::string_view raw_body);

 private:
  std::vector<std::string> secrets_;
  int tolerance_seconds_;
};

}  // namespace capi::webhooks::stripe
