#pragma once
// What the webhook endpoint read from each delivery it stored, kept for this instance's matching
// worker so that it need not fetch and read the body again. Only a shortcut: a delivery not held
// here (stored by another instance, dropped, or read under settings since reloaded) is read from
// its stored body, as it always can be.
//
// Bounded: when full, newer deliveries are not kept. Matching takes the oldest first, so under a
// backlog the ones held are the next to be matched, and the rest are read from the database.
#include "webhooks/payment.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace capi::matching {

class ArrivalReadings {
 public:
  explicit ArrivalReadings(std::size_t capacity) : capacity_(capacity) {}

  // The facts of stored delivery `row`, read with `settings` (the provider's options of the
  // moment: the entry keeps them, and is valid only while they are the current ones).
  void remember(int64_t row, std::shared_ptr<const void> settings, webhooks::PaymentFacts facts);

  // A copy of what was read from `row`, if it is held and was read with `current` settings (a
  // batch that fails is matched again, so the entry stays until settled). An entry read with
  // other settings is dropped.
  std::optional<webhooks::PaymentFacts> recall(int64_t row, const void* current);

  // `rows` were committed by a matching batch: their entries, and those of every row before the
  // first of them (matched by another worker or instance), are no longer needed.
  void settled(const std::vector<int64_t>& rows);

  std::size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const void> settings;
    webhooks::PaymentFacts facts;
  };
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::map<int64_t, Entry> entries_;
};

}  // namespace capi::matching
