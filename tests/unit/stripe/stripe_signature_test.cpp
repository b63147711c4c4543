#include "webhooks/stripe/stripe_signature.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string>

using capi::fromUnixSeconds;
using capi::webhooks::stripe::describe;
using capi::webhooks::stripe::SignatureOutcome;
using capi::webhooks::stripe::StripeSignatureVerifier;

namespace {

// Self-computed vector, payment-webhooks.md section 12.
constexpr const char* kSecret = "whsec_test_secret";
constexpr int64_t kTimestamp = 1614265330;
constexpr const char* kBody = R"({"id":"evt_test_webhook","object":"event"})";
constexpr const char* kSignature = "3c5817089d739023dd6190f70a3757e04f7a2fd8b5dab12c2e000f51970dccff";
constexpr int kTolerance = 300;

const std::string kHeader = std::string("t=1614265330,v1=") + kSignature;

StripeSignatureVerifier verifier() { return StripeSignatureVerifier({kSecret}, kTolerance); }

SignatureOutcome verifyAt(std::string_view header, int64_t now, std::string_view body = kBody) {
  return verifier().verify(header, body, fromUnixSeconds(now));
}

}  // namespace

TEST_CASE("sign reproduces the reference vector for whsec_test_secret", "[stripe][signature]") {
  CHECK(StripeSignatureVerifier::sign(kSecret, kTimestamp, kBody) == kHeader);
}

TEST_CASE("the reference vector verifies as valid at its own timestamp", "[stripe][signature]") {
  CHECK(verifyAt(kHeader, kTimestamp) == SignatureOutcome::Valid);
}

TEST_CASE("a signature made now verifies within the tolerance either side", "[stripe][signature]") {
  CHECK(verifyAt(kHeader, kTimestamp + kTolerance) == SignatureOutcome::Valid);
  CHECK(verifyAt(kHeader, kTimestamp - kTolerance) == SignatureOutcome::Valid);
}

TEST_CASE("a tampered body does not verify", "[stripe][signature]") {
  CHECK(verifyAt(kHeader, kTimestamp, R"({"id":"evt_test_webhook","object":"event" })") == SignatureOutcome::Mismatch);
  CHECK(verifyAt(kHeader, kTimestamp, R"({"id":"evt_test_webhoo","object":"event"})") == SignatureOutcome::Mismatch);
  CHECK(verifyAt(kHeader, kTimestamp, "") == SignatureOutcome::Mismatch);
}

TEST_CASE("a signature made with another secret does not verify", "[stripe][signature]") {
  const auto header = StripeSignatureVerifier::sign("whsec_other_secret", kTimestamp, kBody);
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::Mismatch);
}

TEST_CASE("the whsec_ prefix is part of the key, not stripped", "[stripe][signature]") {
  const auto header = StripeSignatureVerifier::sign("test_secret", kTimestamp, kBody);
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::Mismatch);
}

TEST_CASE("a timestamp changed after signing does not verify", "[stripe][signature]") {
  const std::string header = std::string("t=1614265331,v1=") + kSignature;
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::Mismatch);
}

TEST_CASE("a correctly signed but old timestamp is stale", "[stripe][signature]") {
  CHECK(verifyAt(kHeader, kTimestamp + kTolerance + 1) == SignatureOutcome::Stale);
  CHECK(verifyAt(kHeader, kTimestamp + 86400) == SignatureOutcome::Stale);
}

TEST_CASE("a correctly signed timestamp too far ahead of our clock is refused", "[stripe][signature]") {
  CHECK(verifyAt(kHeader, kTimestamp - kTolerance - 1) == SignatureOutcome::FutureTimestamp);
}

TEST_CASE("the signature is checked before the timestamp", "[stripe][signature]") {
  const auto forged = StripeSignatureVerifier::sign("whsec_other_secret", kTimestamp, kBody);
  CHECK(verifyAt(forged, kTimestamp + 86400) == SignatureOutcome::Mismatch);
  CHECK(verifyAt(forged, kTimestamp - 86400) == SignatureOutcome::Mismatch);
}

TEST_CASE("sub-second clock readings are truncated to whole seconds", "[stripe][signature]") {
  const auto now = fromUnixSeconds(kTimestamp + kTolerance) + std::chrono::milliseconds(999);
  CHECK(verifier().verify(kHeader, kBody, now) == SignatureOutcome::Valid);
}

TEST_CASE("any v1 entry may match, such as the second of two", "[stripe][signature]") {
  const std::string header = std::string("t=1614265330,v1=") + std::string(64, 'a') + ",v1=" + kSignature;
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::Valid);
}

TEST_CASE("v0 and unknown keys are ignored wherever they appear", "[stripe][signature]") {
  const std::string header =
      std::string("v0=") + std::string(64, 'f') + ",t=1614265330,x=y,v1=" + kSignature + ",v2=zz";
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::Valid);
}

TEST_CASE("during a secret roll a signature from either configured secret verifies", "[stripe][signature]") {
  const StripeSignatureVerifier rolling({"whsec_new_secret", kSecret}, kTolerance);
  CHECK(rolling.verify(kHeader, kBody, fromUnixSeconds(kTimestamp)) == SignatureOutcome::Valid);
  const auto with_new = StripeSignatureVerifier::sign("whsec_new_secret", kTimestamp, kBody);
  CHECK(rolling.verify(with_new, kBody, fromUnixSeconds(kTimestamp)) == SignatureOutcome::Valid);
  CHECK(verifyAt(with_new, kTimestamp) == SignatureOutcome::Mismatch);
}

TEST_CASE("an absent or empty header is reported as missing", "[stripe][signature]") {
  CHECK(verifyAt("", kTimestamp) == SignatureOutcome::MissingHeader);
}

TEST_CASE("headers without a usable t and v1 are malformed", "[stripe][signature]") {
  const std::string sig = kSignature;
  const auto header = GENERATE_COPY(as<std::string>{},
                                    "v1=" + sig,                                  // no t
                                    "t=abc,v1=" + sig,                            // t not a number
                                    "t=-1614265330,v1=" + sig,                    // t signed
                                    "t=1614265330.5,v1=" + sig,                   // t fractional
                                    "t=,v1=" + sig,                               // t empty
                                    "t=99999999999999999999,v1=" + sig,           // t beyond 64 bits
                                    "t=1614265330,t=1614265330,v1=" + sig,        // t repeated
                                    "t=1614265330,v0=" + sig,                     // only v0
                                    "t=1614265330,v1=",                           // empty v1
                                    "t=1614265330,v1",                            // v1 without '='
                                    "t=1,v1",
                                    "t=1614265330",                               // no v1 at all
                                    " t=1614265330,v1=" + sig,                    // keys are not trimmed
                                    "garbage",
                                    ",,,,");
  CAPTURE(header);
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::MalformedHeader);
}

TEST_CASE("only the first '=' separates a key from its value", "[stripe][signature]") {
  const std::string header = std::string("t=1614265330,v1=") + kSignature + "=";
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::Mismatch);
}

TEST_CASE("upper-case hex is not accepted since Stripe signs in lower case", "[stripe][signature]") {
  std::string upper = kSignature;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(verifyAt("t=1614265330,v1=" + upper, kTimestamp) == SignatureOutcome::Mismatch);
}

TEST_CASE("headers past the size bound are refused without being parsed", "[stripe][signature]") {
  const std::string header = kHeader + ",x=" + std::string(8 * 1024, 'a');
  CHECK(verifyAt(header, kTimestamp) == SignatureOutcome::MalformedHeader);
}

TEST_CASE("at most sixteen v1 entries are examined", "[stripe][signature]") {
  std::string fifteen_wrong = "t=1614265330";
  for (int i = 0; i < 15; ++i) fifteen_wrong += ",v1=" + std::string(64, 'b');
  CHECK(verifyAt(fifteen_wrong + ",v1=" + kSignature, kTimestamp) == SignatureOutcome::Valid);
  CHECK(verifyAt(fifteen_wrong + ",v1=" + std::string(64, 'b') + ",v1=" + kSignature, kTimestamp) ==
        SignatureOutcome::MalformedHeader);
}

TEST_CASE("a verifier refuses to be built without a usable secret", "[stripe][signature]") {
  CHECK_THROWS_AS(StripeSignatureVerifier({}, kTolerance), std::invalid_argument);
  CHECK_THROWS_AS(StripeSignatureVerifier({kSecret, ""}, kTolerance), std::invalid_argument);
  CHECK_THROWS_AS(StripeSignatureVerifier({kSecret}, -1), std::invalid_argument);
}

TEST_CASE("every outcome has an operator message that never contains the secret", "[stripe][signature]") {
  for (auto o : {SignatureOutcome::Valid, SignatureOutcome::MissingHeader, SignatureOutcome::MalformedHeader,
                 SignatureOutcome::Mismatch, SignatureOutcome::Stale, SignatureOutcome::FutureTimestamp}) {
    const std::string message = describe(o);
    CAPTURE(message);
    CHECK_FALSE(message.empty());
    CHECK(message.find("test_secret") == std::string::npos);
  }
  CHECK(std::string(describe(SignatureOutcome::Stale)) != describe(SignatureOutcome::FutureTimestamp));
}
