// Micro-benchmark of the work every webhook costs the daemon's CPU before it is stored: the
// signature check and the event's parse (parseStripeEvent), on the full-size Checkout Session
// event bench/loadgen posts (bench/event_template.h). Prints microseconds per call; run by
// bench/run.
//   capi_parse_bench <template.json> [iterations]
#include "event_template.h"
#include "webhooks/stripe/stripe_event_parser.h"
#include "webhooks/stripe/stripe_signature.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

template <typename F>
double microsecondsPerCall(long iterations, F&& f) {
  using Clock = std::chrono::steady_clock;
  for (long i = 0; i < iterations / 10; ++i) f();  // warm caches and the allocator
  const auto start = Clock::now();
  for (long i = 0; i < iterations; ++i) f();
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / static_cast<double>(iterations);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <event.json> [iterations]\n", argv[0]);
    return 2;
  }
  const std::string body = capi::bench::EventTemplate::read(argv[1]).fill("1042", 1724250000);
  const long iterations = argc > 2 ? std::stol(argv[2]) : 20000;
  const std::vector<std::string> paid = {"checkout.session.completed"};

  const auto check = capi::webhooks::stripe::parseStripeEvent(body, paid);
  if (check.status != capi::webhooks::ParseStatus::Ok || !check.facts.paid) {
    std::fprintf(stderr, "%s is not a paid event: %s\n", argv[1], check.error.c_str());
    return 1;
  }
  volatile size_t sink = 0;
  const double parse_us = microsecondsPerCall(iterations, [&] {
    sink = sink + capi::webhooks::stripe::parseStripeEvent(body, paid).facts.order_ref.size();
  });

  const std::string secret = "whsec_bench_secret";
  const capi::TimePoint now{std::chrono::seconds(1724250000)};
  const std::string header = capi::webhooks::stripe::StripeSignatureVerifier::sign(secret, 1724250000, body);
  const capi::webhooks::stripe::StripeSignatureVerifier verifier({secret}, 300);
  const double verify_us = microsecondsPerCall(iterations, [&] {
    sink = sink + static_cast<size_t>(verifier.verify(header, body, now));
  });
  std::printf("{\"bytes\":%zu,\"parse_us\":%.2f,\"verify_us\":%.2f}\n", body.size(), parse_us, verify_us);
  return 0;
}
