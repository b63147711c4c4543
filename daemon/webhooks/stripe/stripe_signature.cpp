#include "webhooks/stripe/stripe_signature.h"

#include "common/crypto.h"

#include <optional>
#include <stdexcept>
#include <utility>

namespace capi::webhooks::stripe {
namespace {

// Bounds on attacker-controlled work per request. Stripe sends one v1 per active secret
// (two during a roll), so these never bind on genuine traffic.
constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr size_t kMaxV1Entries = 16;
// Enough for any unix time; more digits than this cannot be a real timestamp and would overflow.
constexpr size_t kMaxTimestampDigits = 18;

struct ParsedHeader {
  int64_t timestamp = 0;
  std::vector<std::string_view> v1;
};

std::optional<int64_t> parseTimestamp(std::string_view digits) {
  if (digits.empty() || digits.size() > kMaxTimestampDigits) return std::nullopt;
  int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Stripe's parseHeader: split on ',', then on '='; "t" is the timestamp, "v1" a signature, any
// other key (v0, future schemes) is ignored. Deliberately stricter than stripe-node where it
// cannot matter for genuine headers: a non-numeric or repeated t, and a v1 without a value, do
// not count, so garbage fails as MalformedHeader rather than as a quiet Mismatch.
std::optional<ParsedHeader> parseHeader(std::string_view header) {
  ParsedHeader parsed;
  bool have_timestamp = false;
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view item = header.substr(start, end - start);
    start = end + 1;

    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (key == "t") {
      const auto t = parseTimestamp(value);
      if (!t || have_timestamp) return std::nullopt;
      parsed.timestamp = *t;
      have_timestamp = true;
    } else if (key == "v1" && !value.empty()) {
      if (parsed.v1.size() == kMaxV1Entries) return std::nullopt;
      parsed.v1.push_back(value);
    }
  }
  if (!have_timestamp || parsed.v1.empty()) return std::nullopt;
  return parsed;
}

std::string expectedSignature(std::string_view secret, int64_t timestamp, std::string_view raw_body) {
  // Stripe signs the decimal rendering of the timestamp it parsed, not the header's bytes.
  std::string signed_payload = std::to_string(timestamp);
  signed_payload.reserve(signed_payload.size() + 1 + raw_body.size());
  signed_payload.push_back('.');
  signed_payload.append(raw_body);
  return toHex(hmacSha256(secret, signed_payload));
}

}  // namespace

const char* describe(SignatureOutcome o) {
  switch (o) {
    case SignatureOutcome::Valid:
      return "signature valid";
    case SignatureOutcome::MissingHeader:
      return "Stripe-Signature header missing or empty";
    case SignatureOutcome::MalformedHeader:
      return "Stripe-Signature header malformed: expected t=<unix seconds> and at least one v1=<hex signature>";
    case SignatureOutcome::Mismatch:
      return "no v1 signature matches a configured webhook secret "
             "(wrong whsec_ secret for this endpoint, or the body was altered in transit)";
    case SignatureOutcome::Stale:
      return "signature timestamp is older than the tolerance (replayed delivery, or this host's clock is off)";
    case SignatureOutcome::FutureTimestamp:
      return "signature timestamp is further in the future than the tolerance (this host's clock is off?)";
  }
  return "unknown signature outcome";
}

StripeSignatureVerifier::StripeSignatureVerifier(std::vector<std::string> secrets, int tolerance_seconds)
    : secrets_(std::move(secrets)), tolerance_seconds_(tolerance_seconds) {
  // A configuration mistake, caught at startup: an empty key would still "verify" signatures
  // made with an empty key, and no secret at all would refuse every delivery.
  if (secrets_.empty()) throw std::invalid_argument("Stripe signature verifier needs at least one webhook secret");
  for (const auto& s : secrets_)
    if (s.empty()) throw std::invalid_argument("Stripe webhook secret must not be empty");
  if (tolerance_seconds_ < 0) throw std::invalid_argument("Stripe signature tolerance must not be negative");
}

SignatureOutcome StripeSignatureVerifier::verify(std::string_view header, std::string_view raw_body,
                                                 TimePoint now) const {
  if (header.empty()) return SignatureOutcome::MissingHeader;
  if (header.size() > kMaxHeaderBytes) return SignatureOutcome::MalformedHeader;
  const auto parsed = parseHeader(header);
  if (!parsed) return SignatureOutcome::MalformedHeader;

  // Every secret against every v1 without stopping early, so timing says nothing about which
  // entry or secret matched.
  bool matched = false;
  for (const auto& secret : secrets_) {
    const std::string expected = expectedSignature(secret, parsed->timestamp, raw_body);
    for (std::string_view candidate : parsed->v1) matched |= constantTimeEquals(expected, candidate);
  }
  if (!matched) return SignatureOutcome::Mismatch;

  // Signature before timestamp, as Stripe does: an unsigned header says nothing about time.
  // Unlike stripe-node, a tolerance of 0 means "exactly now", not "skip the check".
  const int64_t age = toUnixSeconds(now) - parsed->timestamp;
  if (age > tolerance_seconds_) return SignatureOutcome::Stale;
  if (-age > tolerance_seconds_) return SignatureOutcome::FutureTimestamp;
  return SignatureOutcome::Valid;
}

std::string StripeSignatureVerifier::sign(std::string_view secret, int64_t timestamp, std::string_view raw_body) {
  return "t=" + std::to_string(timestamp) + ",v1=" + expectedSignature(secret, timestamp, raw_body);
}

}  // namespace capi::webhooks::stripe
