#include "matching/arrival_readings.h"

#include <algorithm>

namespace capi::matching {

ArrivalReadings::ArrivalReadings(std::size_t capacity, const Clock& clock, std::chrono::seconds max_age)
    : capacity_(capacity), clock_(clock), max_age_(max_age), last_settled_(clock.now()) {}

void ArrivalReadings::remember(int64_t row, std::shared_ptr<const void> settings,
                               std::shared_ptr<const webhooks::PaymentFacts> facts) noexcept {
  if (!facts) return;
  try {
    const TimePoint now = clock_.now();
    std::lock_guard lock(mu_);
    if (entries_.size() >= capacity_) {
      // Full while this instance's matching has settled nothing for max_age: the rows are
      // probably matched elsewhere, or matching here is stalled; either way those held that long
      // are read from the database if they are matched here. (While matching here settles
      // batches, however far behind, the oldest are the next it takes, and stay.)
      // Rows grow with time: the entries held longest are at the front.
      if (last_settled_ + max_age_ < now)
        while (!entries_.empty() && entries_.begin()->second.kept + max_age_ < now) entries_.erase(entries_.begin());
      if (entries_.size() >= capacity_) return;
    }
    entries_.insert_or_assign(row, Entry{std::move(settings), std::move(facts), now});
  } catch (...) {
    // Only a shortcut: matching reads the stored body.
  }
}

std::shared_ptr<const webhooks::PaymentFacts> ArrivalReadings::recall(int64_t row, const std::string& provider,
                                                                      const std::string& delivery_id,
                                                                      const void* current) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(row);
  if (it == entries_.end()) return nullptr;
  const auto& e = it->second;
  if (e.settings.get() != current || e.facts->provider != provider || e.facts->delivery_id != delivery_id) {
    entries_.erase(it);
    return nullptr;
  }
  return e.facts;
}

void ArrivalReadings::settled(const std::vector<int64_t>& rows) noexcept {
  if (rows.empty()) return;
  std::map<int64_t, Entry> done;   // freed after the lock is released
  try {
    const TimePoint now = clock_.now();
    std::lock_guard lock(mu_);
    last_settled_ = now;
    const auto first = entries_.lower_bound(*std::min_element(rows.begin(), rows.end()));
    for (auto it = entries_.begin(); it != first;) done.insert(entries_.extract(it++));
    for (const int64_t row : rows)
      if (auto node = entries_.extract(row)) done.insert(std::move(node));
  } catch (...) {
    // Left for the next batch or the age limit.
  }
}

std::size_t ArrivalReadings::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace capi::matching
