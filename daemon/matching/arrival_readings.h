#pragma once
// What the webhook endpoint read from each delivery it stored, kept for this instance's matching
// worker so that it need not fetch and read the body again. On this instance the reading made on
// arrival is what matching uses while the settings it was read with are current; a delivery not
// held here (stored by another instance or before a restart, dropped, or read under settings
// since reloaded) is read from its stored body.
//
// Bounded: when full, newer deliveries are not kept (matching takes the oldest first, so those
// held are normally the next to be matched). When full and this instance's matching has settled
// nothing for max_age, the deliveries held longer than that are dropped first (other instances
// probably match them, or matching here is stalled: either way they can be read again).
//
// A delivery stored again by hand (its body edited and put back to 'received') is matched from
// the reading kept on arrival while it is held here: a reload (SIGHUP) drops such readings.
#include "common/clock.h"
#include "webhooks/payment.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace capi::matching {

class ArrivalReadings {
 public:
  ArrivalReadings(std::size_t capacity, const Clock& clock, std::chrono::seconds max_age);

  // The facts of stored delivery `row`, read with `settings` (the provider's options of the
  // moment: the entry keeps them, and is valid only while they are the current ones). Never
  // throws: without memory the delivery is simply not held.
  void remember(int64_t row, std::shared_ptr<const void> settings,
                std::shared_ptr<const webhooks::PaymentFacts> facts) noexcept;

  // What was read from `row`, if it is held for that very delivery and was read with `current`
  // settings; else null, and an entry read with other settings is dropped. The entry stays until
  // settled: a batch that fails is matched again.
  std::shared_ptr<const webhooks::PaymentFacts> recall(int64_t row, const std::string& provider,
                                                       const std::string& delivery_id, const void* current);

  // `rows` were committed by a matching batch: their entries, and those of every row below the
  // smallest of them, are dropped. Matching takes the oldest first, so such a row was matched
  // by another instance or is in another worker's batch; should that batch be matched again, or
  // the row stay 'received' after a passing failure, it is read from the database.
  void settled(const std::vector<int64_t>& rows) noexcept;

  std::size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const void> settings;
    std::shared_ptr<const webhooks::PaymentFacts> facts;
    TimePoint kept{};
  };
  const std::size_t capacity_;
  const Clock& clock_;
  const std::chrono::seconds max_age_;
  mutable std::mutex mu_;
  TimePoint last_settled_;
  std::map<int64_t, Entry> entries_;
};

}  // namespace capi::matching
