// Stripe-Signature verification (webhooks/stripe/stripe_signature.h).
//
// Input: the header up to the first '\n', the raw body after it (seeds: fuzz/corpus/
// fuzz_stripe_signature/, signed with kSecret below).
//
// Checked on every input, against an oracle that computes HMAC-SHA256 with OpenSSL directly:
//  * a header is accepted (Valid, Stale or FutureTimestamp: the signature matched) only when one of
//    its v1 entries is HMAC-SHA256(secret, "<t>.<body>") for the decimal value of its t entry;
//  * Valid only within the tolerance, Stale/FutureTimestamp exactly outside it, on the right side;
//  * during rotation, adding a second secret changes nothing unless the header is signed with it;
//  * an empty header is MissingHeader, every outcome has a description;
//  * sign() round-trips: its header verifies as Valid at its own time, and not for another body.
#include "webhooks/stripe/stripe_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

using capi::fromUnixSeconds;
using capi::webhooks::stripe::SignatureOutcome;
using capi::webhooks::stripe::StripeSignatureVerifier;

namespace {

constexpr std::string_view kSecret = "whsec_fuzz_5f3b2a9c1e7d4b6a8c0e2f4a6b8d0c1e";
constexpr std::string_view kRotatedSecret = "whsec_fuzz_rotated_0a1b2c3d4e5f60718293a4b5";
constexpr int64_t kNow = 1724250100;
constexpr int kTolerance = 300;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_stripe_signature: invariant broken: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

std::string hmacHex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len))
    fail("HMAC failed in the oracle");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kDigits[md[i] >> 4]);
    hex.push_back(kDigits[md[i] & 0xF]);
  }
  return hex;
}

// The oracle's own reading of the header: the value of the first "t=" item when it is 1 to 18
// decimal digits (the verifier refuses more), and whether any "v1=" item equals the signature
// that secret would have made for that t and body.
std::optional<int64_t> headerTimestamp(std::string_view header) {
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view item = header.substr(start, end - start);
    start = end + 1;
    if (!item.starts_with("t=")) continue;
    const std::string_view digits = item.substr(2);
    if (digits.empty() || digits.size() > 18) return std::nullopt;
    int64_t t = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      t = t * 10 + (c - '0');
    }
    return t;
  }
  return std::nullopt;
}

bool signedWith(std::string_view secret, std::string_view header, std::string_view body) {
  const auto t = headerTimestamp(header);
  if (!t) return false;
  const std::string expected = "v1=" + hmacHex(secret, std::to_string(*t) + "." + std::string(body));
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    if (header.substr(start, end - start) == expected) return true;
    start = end + 1;
  }
  return false;
}

bool matched(SignatureOutcome o) {
  return o == SignatureOutcome::Valid || o == SignatureOutcome::Stale || o == SignatureOutcome::FutureTimestamp;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const StripeSignatureVerifier verifier({std::string(kSecret)}, kTolerance);
  static const StripeSignatureVerifier rotating({std::string(kRotatedSecret), std::string(kSecret)}, kTolerance);

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view header = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  const auto now = fromUnixSeconds(kNow);

  const SignatureOutcome outcome = verifier.verify(header, body, now);
  const char* description = describe(outcome);
  check(description != nullptr && std::strlen(description) > 0, "outcome without a description");
  check(header.empty() == (outcome == SignatureOutcome::MissingHeader), "MissingHeader iff the header is empty");

  const bool by_secret = signedWith(kSecret, header, body);
  if (matched(outcome)) {
    check(by_secret, "accepted a header that no v1 signed with the secret");
    const int64_t age = kNow - *headerTimestamp(header);
    switch (outcome) {
      case SignatureOutcome::Valid: check(age <= kTolerance && -age <= kTolerance, "Valid outside the tolerance"); break;
      case SignatureOutcome::Stale: check(age > kTolerance, "Stale within the tolerance"); break;
      default: check(-age > kTolerance, "FutureTimestamp within the tolerance"); break;
    }
  }

  const SignatureOutcome rotated = rotating.verify(header, body, now);
  if (!signedWith(kRotatedSecret, header, body))
    check(rotated == outcome, "a second secret the header is not signed with changed the outcome");
  else
    check(matched(rotated), "a header signed with the rotated secret was not matched");

  // Round trip with a timestamp taken from the input.
  int64_t t = 0;
  for (size_t i = 0; i < 8 && i < size; ++i) t = (t << 8) | data[i];
  t &= (int64_t{1} << 33) - 1;  // unix seconds until 2242, which TimePoint (int64 nanoseconds) holds
  const std::string own = StripeSignatureVerifier::sign(kSecret, t, body);
  check(verifier.verify(own, body, fromUnixSeconds(t)) == SignatureOutcome::Valid, "sign() does not verify");
  check(verifier.verify(own, std::string(body) + " ", fromUnixSeconds(t)) == SignatureOutcome::Mismatch,
        "sign() verifies for another body");
  return 0;
}
