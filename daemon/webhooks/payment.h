#pragma once
// Provider-neutral description of a payment webhook, produced by each provider's parser and
// consumed by matching. Personal data here is raw; matching hashes it before storing.
#include "common/clock.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace capi::webhooks {

struct CustomerData {
  std::string email;
  std::string phone;
  std::string first_name;
  std::string last_name;
  std::string city;
  std::string state;
  std::string zip;
  std::string country;   // as the provider gives it (Stripe: ISO alpha-2)
};

struct PaymentFacts {
  std::string provider;          // "stripe"
  std::string delivery_id;       // unique per provider delivery (Stripe: evt_...)
  std::string event_type;        // "checkout.session.completed", ...
  bool paid = false;             // false: record as ignored with ignore_reason
  std::string ignore_reason;
  bool livemode = true;
  std::string api_version;       // the provider's API version the event is written in, when it says (Stripe: the endpoint's)

  // Only meaningful when paid:
  std::string payment_key;       // canonical id of the payment (Stripe: pi_..., else in_..., else cs_...)
  std::string order_ref;         // the shop's order reference, when the payment carries one
  std::vector<std::string> refs; // every reference that may name the browser event, most specific first
  // The provider's ids of every object this payment is known by (Stripe: pi_, cs_, in_, ch_).
  // Webhooks sharing any of them describe the same order. Shop references are not used for this:
  // a client_reference_id may be a customer id shared by many orders.
  std::vector<std::string> object_ids;
  std::string browser_event_id;  // an explicit browser event id carried by the payment (metadata.capi_event_id)
  std::optional<int64_t> amount_minor;   // ISO 4217 minor units (providers' own units converted)
  std::string currency;          // ISO 4217, lower case as Stripe sends it
  TimePoint paid_at{};           // when the payment was made (provider clock; see the parser for each provider)
  TimePoint started_at{};        // when the customer started to pay: the object's creation (provider clock); 0 unknown
  CustomerData customer;
};

enum class ParseStatus { Ok, Malformed };

struct ParseResult {
  ParseStatus status = ParseStatus::Malformed;
  std::string error;             // for Malformed: what is wrong, for a person
  PaymentFacts facts;
};

}  // namespace capi::webhooks
