#pragma once
// Builds the server Purchase event Meta receives (SPEC §4): the browser's event_id and
// event_time, action_source website, hashed customer data from both the browser and the
// payment, the browser's fbp/fbc/IP/user agent verbatim, and value/currency/order_id.
#include "common/clock.h"

#include <cstdint>
#include <optional>
#include <string>

namespace capi {

struct PurchaseInputs {
  std::string event_id;
  TimePoint event_time{};
  std::string event_source_url;
  std::string fbp, fbc, client_ip_address, client_user_agent;   // verbatim, never altered
  std::string browser_user_data_json = "{}";                     // hashed
  std::string browser_custom_data_json = "{}";                   // contents, content_ids, ...
  std::string payment_user_data_json = "{}";                     // hashed
  std::optional<int64_t> amount_minor;
  std::string currency;                                          // any case
  std::string order_id;
};

// The event as JSON text. Throws std::invalid_argument when the currency is unknown.
std::string buildPurchasePayload(const PurchaseInputs& in);

// The event_id used when no browser event was found: the shop's order reference, else the
// provider's payment id, so a thank-you-page pixel can send the same eventID.
std::string derivedEventId(const std::string& order_ref, const std::string& payment_key);

}  // namespace capi
