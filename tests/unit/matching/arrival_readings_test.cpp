#include "matching/arrival_readings.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

using namespace std::chrono_literals;
using capi::ManualClock;
using capi::matching::ArrivalReadings;
using capi::webhooks::PaymentFacts;

namespace {

struct Options {
  int paid_types = 0;
};

// A reading of delivery evt_<row>, with its own payment.
struct Readings {
  ManualClock clock{capi::fromUnixSeconds(1764000000)};
  ArrivalReadings readings;
  std::shared_ptr<const Options> settings = std::make_shared<const Options>();

  explicit Readings(std::size_t capacity) : readings(capacity, clock, 60s) {}

  static std::shared_ptr<const PaymentFacts> facts(int64_t row) {
    auto f = std::make_shared<PaymentFacts>();
    f->provider = "stripe";
    f->delivery_id = "evt_" + std::to_string(row);
    f->paid = true;
    f->payment_key = "pi_" + std::to_string(row);
    f->customer.email = std::to_string(row) + "@example.com";
    return f;
  }
  void remember(int64_t row) { readings.remember(row, settings, facts(row)); }
  std::shared_ptr<const PaymentFacts> recall(int64_t row) {
    return readings.recall(row, "stripe", "evt_" + std::to_string(row), settings.get());
  }
};

}  // namespace

TEST_CASE("a delivery's facts are recalled while the settings they were read with are current") {
  Readings r(8);
  r.remember(7);
  const auto held = r.recall(7);
  REQUIRE(held);
  CHECK(held->payment_key == "pi_7");
  CHECK(held->customer.email == "7@example.com");
  // Kept until settled: a batch that fails and is matched again finds it once more.
  CHECK(r.recall(7));
  CHECK_FALSE(r.recall(8));
  CHECK(r.readings.size() == 1);
}

TEST_CASE("facts read with settings a reload replaced are not recalled, and are dropped") {
  Readings r(8);
  auto before = std::make_shared<const Options>();
  const auto after = std::make_shared<const Options>(Options{1});
  r.readings.remember(7, before, Readings::facts(7));
  // The entry keeps the settings it was read with alive, so their address is not reused by the
  // settings that replace them.
  CHECK(before.use_count() == 2);
  const void* was = before.get();
  before.reset();
  CHECK_FALSE(r.readings.recall(7, "stripe", "evt_7", after.get()));
  CHECK(r.readings.size() == 0);
  CHECK_FALSE(r.readings.recall(7, "stripe", "evt_7", was));
}

TEST_CASE("a row held for another delivery (ids reused after a restore, say) is not recalled") {
  Readings r(8);
  r.remember(7);
  CHECK_FALSE(r.readings.recall(7, "stripe", "evt_other", r.settings.get()));
  CHECK(r.readings.size() == 0);
  r.remember(7);
  CHECK_FALSE(r.readings.recall(7, "paypal", "evt_7", r.settings.get()));
}

TEST_CASE("when full, the oldest deliveries are kept and newer ones are not, while matching here settles batches") {
  Readings r(2);
  r.remember(1);
  r.remember(2);
  // Matching is far behind but still settling batches: the oldest are its next, and stay.
  for (int i = 0; i < 3; ++i) {
    r.clock.advance(50s);
    r.readings.settled({0});
  }
  r.remember(3);
  CHECK(r.recall(1));
  CHECK(r.recall(2));
  CHECK_FALSE(r.recall(3));
}

TEST_CASE("when full and matching here has settled nothing for the age limit, those held longer make room") {
  Readings r(2);
  r.remember(1);
  r.remember(2);
  r.remember(3);
  CHECK(r.readings.size() == 2);
  CHECK(r.recall(1));
  CHECK(r.recall(2));
  CHECK_FALSE(r.recall(3));
  // Matching settles the first: room again.
  r.readings.settled({1});
  r.clock.advance(30s);
  r.remember(4);
  CHECK(r.readings.size() == 2);
  r.remember(5);
  CHECK_FALSE(r.recall(5));
  // Row 2 is never matched here (another instance took it): once it has been held a minute, a
  // newer delivery takes its place; row 4, kept later, stays. A poll that claimed nothing
  // settles nothing.
  r.readings.settled({});
  r.clock.advance(31s);
  r.remember(6);
  CHECK_FALSE(r.recall(2));
  CHECK(r.recall(4));
  CHECK(r.recall(6));
}

TEST_CASE("a settled batch drops its rows and every row below its smallest, and keeps the rows after") {
  Readings r(16);
  for (const int64_t row : {3, 5, 10, 11, 12, 20}) r.remember(row);
  // Rows 3 and 5 were matched elsewhere (another instance) without this one holding them.
  r.readings.settled({12, 10});
  CHECK(r.readings.size() == 2);
  CHECK_FALSE(r.recall(3));
  CHECK_FALSE(r.recall(5));
  CHECK_FALSE(r.recall(10));
  CHECK_FALSE(r.recall(12));
  CHECK(r.recall(11));
  CHECK(r.recall(20));
  r.readings.settled({});
  CHECK(r.readings.size() == 2);
}
