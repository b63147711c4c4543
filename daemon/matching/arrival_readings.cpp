#include "matching/arrival_readings.h"

#include <algorithm>

namespace capi::matching {

void ArrivalReadings::remember(int64_t row, std::shared_ptr<const void> settings, webhooks::PaymentFacts facts) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= capacity_) return;
  entries_.insert_or_assign(row, Entry{std::move(settings), std::move(facts)});
}

std::optional<webhooks::PaymentFacts> ArrivalReadings::recall(int64_t row, const void* current) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(row);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.settings.get() != current) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.facts;
}

void ArrivalReadings::settled(const std::vector<int64_t>& rows) {
  if (rows.empty()) return;
  std::lock_guard lock(mu_);
  entries_.erase(entries_.begin(), entries_.lower_bound(*std::min_element(rows.begin(), rows.end())));
  for (const int64_t row : rows) entries_.erase(row);
}

std::size_t ArrivalReadings::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace capi::matching
