#include "matching/arrival_readings.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using capi::matching::ArrivalReadings;
using capi::webhooks::PaymentFacts;

namespace {

PaymentFacts facts(const std::string& key) {
  PaymentFacts f;
  f.provider = "stripe";
  f.delivery_id = "evt_" + key;
  f.paid = true;
  f.payment_key = "pi_" + key;
  f.object_ids = {"pi_" + key, "cs_" + key};
  f.customer.email = key + "@example.com";
  return f;
}

struct Options {
  int paid_types = 0;
};

}  // namespace

TEST_CASE("a delivery's facts are recalled while the settings they were read with are current") {
  ArrivalReadings readings(8);
  const auto settings = std::make_shared<const Options>();
  readings.remember(7, settings, facts("a"));
  auto held = readings.recall(7, settings.get());
  REQUIRE(held);
  CHECK(held->payment_key == "pi_a");
  CHECK(held->customer.email == "a@example.com");
  // A copy: a batch that fails and is matched again finds it once more.
  CHECK(readings.recall(7, settings.get()));
  CHECK_FALSE(readings.recall(8, settings.get()));
  CHECK(readings.size() == 1);
}

TEST_CASE("facts read with settings a reload replaced are not recalled, and are dropped") {
  ArrivalReadings readings(8);
  auto before = std::make_shared<const Options>();
  const auto after = std::make_shared<const Options>(Options{1});
  readings.remember(7, before, facts("a"));
  // The entry keeps the settings it was read with alive, so their address is not reused by the
  // settings that replace them.
  CHECK(before.use_count() == 2);
  const void* was = before.get();
  before.reset();
  CHECK_FALSE(readings.recall(7, after.get()));
  CHECK(readings.size() == 0);
  CHECK_FALSE(readings.recall(7, was));
}

TEST_CASE("when full, the oldest deliveries are kept and newer ones are not") {
  ArrivalReadings readings(2);
  const auto settings = std::make_shared<const Options>();
  readings.remember(1, settings, facts("a"));
  readings.remember(2, settings, facts("b"));
  readings.remember(3, settings, facts("c"));
  CHECK(readings.size() == 2);
  CHECK(readings.recall(1, settings.get()));
  CHECK(readings.recall(2, settings.get()));
  CHECK_FALSE(readings.recall(3, settings.get()));
  // Matching settles the first: room again.
  readings.settled({1});
  readings.remember(4, settings, facts("d"));
  CHECK(readings.recall(4, settings.get()));
  CHECK(readings.size() == 2);
}

TEST_CASE("a settled batch drops its rows and every row before its first, and keeps the rows after") {
  ArrivalReadings readings(16);
  const auto settings = std::make_shared<const Options>();
  for (const int64_t row : {3, 5, 10, 11, 12, 20}) readings.remember(row, settings, facts(std::to_string(row)));
  // Rows 3 and 5 were matched elsewhere (another worker or instance) without this one holding them.
  readings.settled({12, 10});
  CHECK(readings.size() == 2);
  CHECK_FALSE(readings.recall(3, settings.get()));
  CHECK_FALSE(readings.recall(5, settings.get()));
  CHECK_FALSE(readings.recall(10, settings.get()));
  CHECK_FALSE(readings.recall(12, settings.get()));
  CHECK(readings.recall(11, settings.get()));
  CHECK(readings.recall(20, settings.get()));
  readings.settled({});
  CHECK(readings.size() == 2);
}
