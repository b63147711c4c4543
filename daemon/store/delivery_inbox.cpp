#include "store/delivery_inbox.h"

#include "store/ingest_store.h"
#include "store/pg_pool.h"

#include <algorithm>

namespace capi::store {

DeliveryInbox::DeliveryInbox(IngestStore& store, std::size_t max_batch)
    : store_(store), max_batch_(std::max<std::size_t>(1, max_batch)) {}

std::optional<int64_t> DeliveryInbox::store(const DeliveryRecord& delivery,
                                            const std::function<void(int64_t)>& stored) {
  Slot slot;
  slot.delivery = &delivery;
  slot.stored = stored ? &stored : nullptr;
  std::unique_lock lock(mu_);
  queue_.push_back(&slot);
  while (!slot.done) {
    if (in_write_ > 0) {
      slot.wake.wait(lock);
      continue;
    }
    // This thread writes: its own row and whatever queued behind the previous write.
    const auto n = std::min(queue_.size(), max_batch_);   // at least one row, not always this request's
    std::vector<Slot*> batch;
    std::vector<Outcome> outcomes;   // allocated now: the failure path below must not allocate
    try {
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      outcomes.resize(n);
    } catch (...) {
      // No write is under way: this request leaves the queue and hands the turn on.
      std::erase(queue_, &slot);
      if (!queue_.empty()) queue_.front()->wake.notify_one();
      throw;
    }
    in_write_ = n;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    try {
      outcomes = write(batch);
    } catch (...) {
      for (auto& o : outcomes) o = Outcome{std::nullopt, std::current_exception()};
    }
    // Every request of the batch still waits (its slot is alive) and none is answered yet.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!outcomes[i].row || !batch[i]->stored) continue;
      try {
        (*batch[i]->stored)(*outcomes[i].row);
      } catch (...) {
      }
    }
    lock.lock();
    // Each request of the batch is woken on its own, and the first one queued meanwhile to
    // write the next batch: the others sleep on (a broadcast woke every waiting request
    // after every write, to find most of them not done).
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->row = outcomes[i].row;
      batch[i]->error = outcomes[i].error;
      batch[i]->done = true;
      if (batch[i] != &slot) batch[i]->wake.notify_one();
    }
    in_write_ = 0;
    ++writes_;
    if (!queue_.empty() && queue_.front() != &slot) queue_.front()->wake.notify_one();
  }
  lock.unlock();
  if (slot.error) std::rethrow_exception(slot.error);
  return slot.row;
}

uint64_t DeliveryInbox::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

std::size_t DeliveryInbox::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t DeliveryInbox::unanswered() const {
  std::lock_guard lock(mu_);
  return queue_.size() + in_write_;
}

std::vector<DeliveryInbox::Outcome> DeliveryInbox::write(const std::vector<Slot*>& batch) {
  std::vector<const DeliveryRecord*> rows;
  for (const auto* s : batch) rows.push_back(s->delivery);
  std::vector<Outcome> out(batch.size());
  try {
    const auto inserted = store_.insertDeliveries(rows);
    for (std::size_t i = 0; i < rows.size(); ++i) out[i].row = inserted[i];
    return out;
  } catch (const DatabaseUnavailable&) {
    throw;
  } catch (const std::exception&) {
    if (rows.size() == 1) throw;
  }
  // Something in the batch was refused (a body PostgreSQL's jsonb does not take, say): each
  // delivery on its own, so only the bad one fails.
  for (std::size_t i = 0; i < rows.size(); ++i) {
    try {
      out[i].row = store_.insertDeliveries({rows[i]}).at(0);
    } catch (const DatabaseUnavailable&) {
      for (std::size_t j = i; j < rows.size(); ++j) out[j].error = std::current_exception();
      break;
    } catch (...) {
      out[i].error = std::current_exception();
    }
  }
  return out;
}

}  // namespace capi::store
