#pragma once
// Maps a verified Stripe Event body to PaymentFacts.
#include "webhooks/payment.h"

#include <string>
#include <string_view>
#include <vector>

namespace capi::webhooks::stripe {

// paid_event_types: the event types that mean "paid" (config stripe.paid_event_types).
// checkout.session.completed counts only with payment_status "paid" or "no_payment_required".
// amount_minor is in ISO 4217 minor units: Stripe's own units for ISK, UGX and MGA are converted
// (webhooks/stripe/stripe_amount.h). Never throws: any unreadable input is Malformed.
ParseResult parseStripeEvent(std::string_view raw_body, const std::vector<std::string>& paid_event_types);

}  // namespace capi::webhooks::stripe
