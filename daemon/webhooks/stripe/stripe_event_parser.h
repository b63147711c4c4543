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

// A payment made with Stripe's test keys (livemode false: the test endpoint's secret listed
// beside the live one, `stripe listen` forwarding here) is never a Purchase of a production
// pixel: unless test mode is accepted (a staging instance), paid facts become ignored, with
// the reason. Intake and matching (when it reads a stored body again) both apply it.
void ignoreTestModeUnlessAccepted(PaymentFacts& f, bool accept_test_mode);

// From API version 2025-03-31 (basil) on, a PaymentIntent and a charge no longer name their
// invoice, nor an invoice its PaymentIntent. True when `f` (paid) is a payment known by its
// invoice and not by a PaymentIntent (an invoice, a subscription's Checkout Session), written in
// such a version: the payment_intent.succeeded or charge.succeeded of the same money cannot be
// joined to it.
bool knownOnlyByInvoice(const PaymentFacts& f);

// knownOnlyByInvoice(f) while payment_intent.succeeded or charge.succeeded is among the paid
// types: the money becomes two Purchases.
bool splitsInvoicePayments(const PaymentFacts& f, const std::vector<std::string>& paid_event_types);

}  // namespace capi::webhooks::stripe
