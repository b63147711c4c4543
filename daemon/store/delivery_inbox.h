#pragma once
// Group commit for webhook deliveries. Every request waits until its own row is committed
// (synchronous commit: an acknowledged webhook survives a crash), but concurrent requests share
// the transaction: whichever finds no write in progress writes everything queued so far in one
// statement and one commit, then hands each request its result. One request alone costs one
// transaction, as before; under load, one commit serves dozens of webhooks.
#include "store/records.h"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace capi::store {

class IngestStore;

class DeliveryInbox {
 public:
  explicit DeliveryInbox(IngestStore& store, std::size_t max_batch = 256);

  // Blocks until the delivery is committed. Its row when stored now; nothing when (provider,
  // delivery_id) was already recorded. Throws DatabaseUnavailable (nothing stored: answer 503,
  // the provider retries), the database's error for this delivery alone, or std::bad_alloc
  // (nothing stored).
  // stored: called with the row once it is committed, by the thread that wrote it, before any
  // request of its batch is answered (so before one of them wakes the matching worker, though
  // a worker already running may see the row first); what it throws is ignored.
  std::optional<int64_t> store(const DeliveryRecord& delivery,
                               const std::function<void(int64_t row)>& stored = {});

  // Transactions written so far; requests queued behind the one being written; requests not
  // yet answered (those queued and those in the write under way).
  uint64_t writes() const;
  std::size_t waiting() const;
  std::size_t unanswered() const;

 private:
  struct Slot {
    const DeliveryRecord* delivery = nullptr;
    const std::function<void(int64_t)>* stored = nullptr;
    bool done = false;
    std::optional<int64_t> row;
    std::exception_ptr error;
    std::condition_variable wake;   // its request waits here: done, or its turn to write
  };
  struct Outcome {
    std::optional<int64_t> row;
    std::exception_ptr error;
  };
  // Writes the batch; a failing batch is retried one delivery at a time, so one bad row fails
  // only its own request.
  std::vector<Outcome> write(const std::vector<Slot*>& batch);

  IngestStore& store_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::vector<Slot*> queue_;
  std::size_t in_write_ = 0;   // rows of the write under way; 0: no write is under way
  uint64_t writes_ = 0;
};

}  // namespace capi::store
