#include "webhooks/stripe/stripe_event_parser.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using capi::fromUnixSeconds;
using capi::webhooks::ParseResult;
using capi::webhooks::ParseStatus;
using capi::webhooks::stripe::parseStripeEvent;

namespace {

const std::vector<std::string> kPaidTypes = {"checkout.session.completed", "checkout.session.async_payment_succeeded",
                                             "payment_intent.succeeded", "invoice.paid"};

// Shaped like Stripe's deliveries for API version 2024-06-20, trimmed of fields nothing reads.
const std::string kCheckoutCompleted = R"({
  "id": "evt_1PqRstLkdIwHu7ix0Ab1Cd2E",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1724250000,
  "data": {
    "object": {
      "id": "cs_test_a1B2c3D4e5F6g7H8i9J0",
      "object": "checkout.session",
      "amount_subtotal": 2199,
      "amount_total": 1999,
      "client_reference_id": "order-1042",
      "created": 1724249900,
      "currency": "eur",
      "customer": "cus_QhR1a2B3c4D5e6",
      "customer_details": {
        "address": {
          "city": "Berlin",
          "country": "DE",
          "line1": "Unter den Linden 1",
          "line2": null,
          "postal_code": "10117",
          "state": null
        },
        "email": "Jane.Doe@example.com",
        "name": "Jane van der Berg",
        "phone": "+4915123456789",
        "tax_exempt": "none",
        "tax_ids": []
      },
      "customer_email": null,
      "expires_at": 1724336300,
      "invoice": null,
      "livemode": false,
      "metadata": {
        "capi_event_id": "3f1c9a2e-6b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "order_ref": "order-1042"
      },
      "mode": "payment",
      "payment_intent": "pi_3PqRsuLkdIwHu7ix1XyZ2AbC",
      "payment_method_types": ["card"],
      "payment_status": "paid",
      "status": "complete",
      "success_url": "https://shop.example/thanks",
      "total_details": {"amount_discount": 200, "amount_shipping": 0, "amount_tax": 0},
      "url": null
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "checkout.session.completed"
})";

const std::string kPaymentIntentSucceeded = R"({
  "id": "evt_3PqRsuLkdIwHu7ix1Ef2Gh3I",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1724250001,
  "data": {
    "object": {
      "id": "pi_3PqRsuLkdIwHu7ix1XyZ2AbC",
      "object": "payment_intent",
      "amount": 4500,
      "amount_capturable": 0,
      "amount_received": 4500,
      "capture_method": "automatic",
      "client_secret": "pi_3PqRsuLkdIwHu7ix1XyZ2AbC_secret_Zk9yWq",
      "created": 1724249950,
      "currency": "usd",
      "customer": null,
      "latest_charge": {
        "id": "ch_3PqRsuLkdIwHu7ix1Jk4Lm5N",
        "object": "charge",
        "billing_details": {
          "address": {
            "city": "San Francisco",
            "country": "US",
            "line1": "510 Townsend St",
            "line2": null,
            "postal_code": "94103",
            "state": "CA"
          },
          "email": "billing@example.com",
          "name": "Ada Lovelace",
          "phone": "+14155550100"
        }
      },
      "livemode": true,
      "metadata": {
        "capi_event_id": "b7e2c1d0-1111-4222-8333-944455556666",
        "order_id": "10077"
      },
      "payment_method": "pm_1PqRsuLkdIwHu7ixAbCdEf",
      "receipt_email": "receipt@example.com",
      "shipping": {
        "address": {
          "city": "Oakland",
          "country": "US",
          "line1": "1 Broadway",
          "line2": null,
          "postal_code": "94607",
          "state": "CA"
        },
        "name": "Charles Babbage",
        "phone": "+15105550199"
      },
      "status": "succeeded"
    }
  },
  "livemode": true,
  "pending_webhooks": 2,
  "request": {"id": "req_AbCdEf123456", "idempotency_key": "c0ffee00-aaaa-4bbb-8ccc-0123456789ab"},
  "type": "payment_intent.succeeded"
})";

const std::string kInvoicePaid = R"({
  "id": "evt_1PqS00LkdIwHu7ixQr6St7Uv",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1724260000,
  "data": {
    "object": {
      "id": "in_1PqRzzLkdIwHu7ixWx8Yz9Ab",
      "object": "invoice",
      "amount_due": 1200,
      "amount_paid": 1200,
      "amount_remaining": 0,
      "billing_reason": "subscription_create",
      "created": 1724259990,
      "currency": "gbp",
      "customer": "cus_QhR9z8Y7x6W5v4",
      "customer_address": {
        "city": "London",
        "country": "GB",
        "line1": "221B Baker Street",
        "line2": null,
        "postal_code": "NW1 6XE",
        "state": null
      },
      "customer_email": "sherlock@example.co.uk",
      "customer_name": "Sherlock Holmes",
      "customer_phone": "+442079460000",
      "livemode": true,
      "metadata": {},
      "paid": true,
      "payment_intent": "pi_3PqS00LkdIwHu7ix0Cd1Ef2G",
      "status": "paid",
      "status_transitions": {"finalized_at": 1724259995, "paid_at": 1724259999},
      "subscription": "sub_1PqRzzLkdIwHu7ixHi3Jk4Lm",
      "subscription_details": {"metadata": {"order_ref": "sub-order-77"}}
    }
  },
  "livemode": true,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "invoice.paid"
})";

const std::string kChargeSucceeded = R"({
  "id": "evt_3PqT11LkdIwHu7ix0Zz9Yy8X",
  "object": "event",
  "created": 1724270000,
  "data": {
    "object": {
      "id": "ch_3PqT11LkdIwHu7ix0Aa1Bb2C",
      "object": "charge",
      "amount": 5000,
      "amount_captured": 4000,
      "amount_refunded": 0,
      "billing_details": {
        "address": {
          "city": "Paris", "country": "FR", "line1": null, "line2": null, "postal_code": "75001", "state": null
        },
        "email": null,
        "name": "Marie Curie",
        "phone": null
      },
      "captured": true,
      "created": 1724269990,
      "currency": "EUR",
      "metadata": {"order_ref": "fr-555"},
      "paid": true,
      "payment_intent": "pi_3PqT11LkdIwHu7ix0Dd3Ee4F",
      "receipt_email": "marie@example.fr",
      "refunded": false,
      "status": "succeeded"
    }
  },
  "livemode": true,
  "type": "charge.succeeded"
})";

// The fixture with `from` (which must occur exactly once) replaced by `to`.
std::string with(const std::string& fixture, const std::string& from, const std::string& to) {
  const auto at = fixture.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(fixture.find(from, at + 1) == std::string::npos);
  std::string out = fixture;
  out.replace(at, from.size(), to);
  return out;
}

ParseResult parse(const std::string& body, const std::vector<std::string>& paid_types = kPaidTypes) {
  return parseStripeEvent(body, paid_types);
}

void requireMalformed(const ParseResult& r, const std::string& expected_error_part) {
  CAPTURE(r.error);
  REQUIRE(r.status == ParseStatus::Malformed);
  CHECK(r.error.find(expected_error_part) != std::string::npos);
}

}  // namespace

TEST_CASE("a paid checkout session yields every field the matcher needs", "[stripe][parser]") {
  const auto r = parse(kCheckoutCompleted);
  REQUIRE(r.status == ParseStatus::Ok);
  const auto& f = r.facts;
  CHECK(f.provider == "stripe");
  CHECK(f.delivery_id == "evt_1PqRstLkdIwHu7ix0Ab1Cd2E");
  CHECK(f.event_type == "checkout.session.completed");
  CHECK(f.paid);
  CHECK(f.ignore_reason.empty());
  CHECK_FALSE(f.livemode);
  CHECK(f.payment_key == "pi_3PqRsuLkdIwHu7ix1XyZ2AbC");
  CHECK(f.order_ref == "order-1042");
  CHECK(f.refs == std::vector<std::string>{"3f1c9a2e-6b7d-4e8f-9a0b-1c2d3e4f5a6b", "order-1042",
                                           "cs_test_a1B2c3D4e5F6g7H8i9J0", "pi_3PqRsuLkdIwHu7ix1XyZ2AbC"});
  CHECK(f.browser_event_id == "3f1c9a2e-6b7d-4e8f-9a0b-1c2d3e4f5a6b");
  CHECK(f.amount_minor == 1999);
  CHECK(f.currency == "eur");
  CHECK(f.paid_at == fromUnixSeconds(1724250000));   // the event's time: the session was opened earlier
  CHECK(f.started_at == fromUnixSeconds(1724249900));   // the session's creation
  CHECK(f.customer.email == "Jane.Doe@example.com");
  CHECK(f.customer.phone == "+4915123456789");
  CHECK(f.customer.first_name == "Jane");
  CHECK(f.customer.last_name == "van der Berg");
  CHECK(f.customer.city == "Berlin");
  CHECK(f.customer.state.empty());
  CHECK(f.customer.zip == "10117");
  CHECK(f.customer.country == "DE");
}

TEST_CASE("a checkout session completed unpaid waits for the async success event", "[stripe][parser]") {
  const auto r = parse(with(kCheckoutCompleted, R"("payment_status": "paid")", R"("payment_status": "unpaid")"));
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK_FALSE(r.facts.paid);
  CHECK(r.facts.ignore_reason == "payment_status unpaid: waiting for checkout.session.async_payment_succeeded");
  CHECK(r.facts.delivery_id == "evt_1PqRstLkdIwHu7ix0Ab1Cd2E");
  CHECK(r.facts.order_ref == "order-1042");
}

TEST_CASE("a payment of amount 0 (a trial, an order discounted to nothing) is not a Purchase", "[stripe][parser]") {
  auto trial = with(kCheckoutCompleted, R"("payment_status": "paid")", R"("payment_status": "no_payment_required")");
  trial = with(trial, R"("amount_total": 1999)", R"("amount_total": 0)");
  const auto r = parse(trial);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK_FALSE(r.facts.paid);
  CHECK(r.facts.ignore_reason == "amount 0: nothing was paid (a trial, or an order discounted to nothing)");
  // The trial's first invoice, paid with nothing.
  const auto invoice = parse(with(kInvoicePaid, R"("amount_paid": 1200)", R"("amount_paid": 0)"));
  REQUIRE(invoice.status == ParseStatus::Ok);
  CHECK_FALSE(invoice.facts.paid);
  CHECK(invoice.facts.ignore_reason == r.facts.ignore_reason);
}

TEST_CASE("a setup-mode checkout session (no amount, no currency) is ignored, not rejected", "[stripe][parser]") {
  auto body = with(kCheckoutCompleted, R"("payment_status": "paid")", R"("payment_status": "no_payment_required")");
  body = with(body, R"("amount_total": 1999)", R"("amount_total": null)");
  body = with(body, R"("currency": "eur")", R"("currency": null)");
  body = with(body, R"("mode": "payment")", R"("mode": "setup")");
  const auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK_FALSE(r.facts.paid);
  CHECK(r.facts.ignore_reason == "setup-mode checkout session: a payment method saved, no payment");
  CHECK(r.facts.delivery_id == "evt_1PqRstLkdIwHu7ix0Ab1Cd2E");
}

TEST_CASE("checkout.session.async_payment_succeeded is a paid checkout session", "[stripe][parser]") {
  const auto r = parse(with(kCheckoutCompleted, R"("type": "checkout.session.completed")",
                            R"("type": "checkout.session.async_payment_succeeded")"));
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.paid);
  CHECK(r.facts.event_type == "checkout.session.async_payment_succeeded");
  CHECK(r.facts.payment_key == "pi_3PqRsuLkdIwHu7ix1XyZ2AbC");
  CHECK(r.facts.amount_minor == 1999);
}

TEST_CASE("the checkout order reference falls back to metadata, order_ref before order_id", "[stripe][parser]") {
  auto body = with(kCheckoutCompleted, R"("client_reference_id": "order-1042")", R"("client_reference_id": null)");
  body = with(body, R"("order_ref": "order-1042")", R"("order_id": "55")");
  auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.order_ref == "55");
  CHECK(r.facts.refs == std::vector<std::string>{"3f1c9a2e-6b7d-4e8f-9a0b-1c2d3e4f5a6b", "55",
                                                 "cs_test_a1B2c3D4e5F6g7H8i9J0", "pi_3PqRsuLkdIwHu7ix1XyZ2AbC"});

  body = with(kCheckoutCompleted, R"("client_reference_id": "order-1042")", R"("client_reference_id": null)");
  body = with(body, R"("order_ref": "order-1042")", R"("order_ref": "A-1", "order_id": "55")");
  r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.order_ref == "A-1");
}

TEST_CASE("the checkout payment key falls back to the invoice, then the session", "[stripe][parser]") {
  auto body =
      with(kCheckoutCompleted, R"("payment_intent": "pi_3PqRsuLkdIwHu7ix1XyZ2AbC")", R"("payment_intent": null)");
  auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.payment_key == "cs_test_a1B2c3D4e5F6g7H8i9J0");

  body = with(body, R"("invoice": null)", R"("invoice": "in_1PqRzzLkdIwHu7ixWx8Yz9Ab")");
  r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.payment_key == "in_1PqRzzLkdIwHu7ixWx8Yz9Ab");
}

TEST_CASE("an expanded payment_intent object gives its id as the payment key", "[stripe][parser]") {
  const auto r = parse(with(kCheckoutCompleted, R"("payment_intent": "pi_3PqRsuLkdIwHu7ix1XyZ2AbC")",
                            R"("payment_intent": {"id": "pi_expanded", "object": "payment_intent"})"));
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.payment_key == "pi_expanded");
  CHECK(r.facts.refs.back() == "pi_expanded");
}

TEST_CASE("a single-word customer name is a first name only", "[stripe][parser]") {
  const auto r = parse(with(kCheckoutCompleted, R"("name": "Jane van der Berg")", R"("name": "  Madonna ")"));
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.customer.first_name == "Madonna");
  CHECK(r.facts.customer.last_name.empty());
}

TEST_CASE("a paid payment intent maps its metadata, amount and customer", "[stripe][parser]") {
  const auto r = parse(kPaymentIntentSucceeded);
  REQUIRE(r.status == ParseStatus::Ok);
  const auto& f = r.facts;
  CHECK(f.paid);
  CHECK(f.livemode);
  CHECK(f.delivery_id == "evt_3PqRsuLkdIwHu7ix1Ef2Gh3I");
  CHECK(f.payment_key == "pi_3PqRsuLkdIwHu7ix1XyZ2AbC");
  CHECK(f.order_ref == "10077");
  CHECK(f.refs == std::vector<std::string>{"b7e2c1d0-1111-4222-8333-944455556666", "10077",
                                           "pi_3PqRsuLkdIwHu7ix1XyZ2AbC"});
  CHECK(f.browser_event_id == "b7e2c1d0-1111-4222-8333-944455556666");
  CHECK(f.amount_minor == 4500);
  CHECK(f.currency == "usd");
  CHECK(f.paid_at == fromUnixSeconds(1724250001));
  CHECK(f.started_at == fromUnixSeconds(1724249950));   // the PaymentIntent's creation
  CHECK(f.customer.email == "receipt@example.com");
  CHECK(f.customer.phone == "+14155550100");
  CHECK(f.customer.first_name == "Ada");
  CHECK(f.customer.last_name == "Lovelace");
  CHECK(f.customer.city == "San Francisco");
  CHECK(f.customer.state == "CA");
  CHECK(f.customer.zip == "94103");
  CHECK(f.customer.country == "US");
}

TEST_CASE("a payment intent without an expanded charge takes the customer from shipping", "[stripe][parser]") {
  const auto start = kPaymentIntentSucceeded.find(R"("latest_charge": {)");
  const auto end = kPaymentIntentSucceeded.find(R"("livemode": true,)", start);
  auto body = kPaymentIntentSucceeded;
  body.replace(start, end - start, R"("latest_charge": "ch_3PqRsuLkdIwHu7ix1Jk4Lm5N",)" "\n      ");
  body = with(body, R"("receipt_email": "receipt@example.com")", R"("receipt_email": null)");
  const auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  const auto& c = r.facts.customer;
  CHECK(c.email.empty());
  CHECK(c.phone == "+15105550199");
  CHECK(c.first_name == "Charles");
  CHECK(c.last_name == "Babbage");
  CHECK(c.city == "Oakland");
  CHECK(c.zip == "94607");
}

TEST_CASE("a payment intent amount falls back to amount when amount_received is absent", "[stripe][parser]") {
  const auto r = parse(with(kPaymentIntentSucceeded, R"("amount_received": 4500,)", ""));
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.amount_minor == 4500);
}

TEST_CASE("a payment intent reference can come from metadata.client_reference_id", "[stripe][parser]") {
  const auto r = parse(with(kPaymentIntentSucceeded, R"("order_id": "10077")", R"("client_reference_id": "cart-9")"));
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.order_ref == "cart-9");
}

TEST_CASE("a payment intent that has not succeeded is not counted", "[stripe][parser]") {
  auto body = with(kPaymentIntentSucceeded, R"("status": "succeeded")", R"("status": "requires_capture")");
  body = with(body, R"("type": "payment_intent.succeeded")", R"("type": "payment_intent.amount_capturable_updated")");
  const auto r = parse(body, {"payment_intent.amount_capturable_updated"});
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK_FALSE(r.facts.paid);
  CHECK(r.facts.ignore_reason == "payment_intent status requires_capture is not succeeded");
}

TEST_CASE("a paid invoice maps amount_paid, customer fields and subscription metadata", "[stripe][parser]") {
  const auto r = parse(kInvoicePaid);
  REQUIRE(r.status == ParseStatus::Ok);
  const auto& f = r.facts;
  CHECK(f.paid);
  CHECK(f.payment_key == "pi_3PqS00LkdIwHu7ix0Cd1Ef2G");
  CHECK(f.order_ref == "sub-order-77");
  CHECK(f.refs ==
        std::vector<std::string>{"sub-order-77", "in_1PqRzzLkdIwHu7ixWx8Yz9Ab", "pi_3PqS00LkdIwHu7ix0Cd1Ef2G"});
  CHECK(f.browser_event_id.empty());
  CHECK(f.amount_minor == 1200);
  CHECK(f.currency == "gbp");
  CHECK(f.customer.email == "sherlock@example.co.uk");
  CHECK(f.customer.phone == "+442079460000");
  CHECK(f.customer.first_name == "Sherlock");
  CHECK(f.customer.last_name == "Holmes");
  CHECK(f.customer.city == "London");
  CHECK(f.customer.zip == "NW1 6XE");
  CHECK(f.customer.country == "GB");
  CHECK(f.paid_at == fromUnixSeconds(1724259999));   // status_transitions.paid_at
  CHECK(f.started_at == fromUnixSeconds(1724259990));   // the invoice's creation
}

TEST_CASE("an invoice without a payment intent is keyed by its own id", "[stripe][parser]") {
  auto body = with(kInvoicePaid, R"("payment_intent": "pi_3PqS00LkdIwHu7ix0Cd1Ef2G",)", "");
  body = with(body, R"("subscription_details": {"metadata": {"order_ref": "sub-order-77"}})",
              R"("parent": {"subscription_details": {"metadata": {"order_id": "parent-9"}}})");
  const auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.payment_key == "in_1PqRzzLkdIwHu7ixWx8Yz9Ab");
  CHECK(r.facts.order_ref == "parent-9");
  CHECK(r.facts.refs == std::vector<std::string>{"parent-9", "in_1PqRzzLkdIwHu7ixWx8Yz9Ab"});
}

TEST_CASE("an invoice's own metadata wins over its subscription's", "[stripe][parser]") {
  const auto r = parse(with(kInvoicePaid, R"("metadata": {},)", R"("metadata": {"order_ref": "own-1"},)"));
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.order_ref == "own-1");
}

TEST_CASE("a captured charge counts when an operator lists charge.succeeded", "[stripe][parser]") {
  const auto r = parse(kChargeSucceeded, {"charge.succeeded"});
  REQUIRE(r.status == ParseStatus::Ok);
  const auto& f = r.facts;
  CHECK(f.paid);
  CHECK(f.payment_key == "pi_3PqT11LkdIwHu7ix0Dd3Ee4F");
  CHECK(f.order_ref == "fr-555");
  CHECK(f.refs == std::vector<std::string>{"fr-555", "ch_3PqT11LkdIwHu7ix0Aa1Bb2C", "pi_3PqT11LkdIwHu7ix0Dd3Ee4F"});
  CHECK(f.amount_minor == 4000);
  CHECK(f.currency == "eur");
  CHECK(f.customer.email == "marie@example.fr");
  CHECK(f.customer.first_name == "Marie");
  CHECK(f.customer.last_name == "Curie");
  CHECK(f.customer.city == "Paris");
  // A charge can be created when the money arrives, after the thank-you page: no start.
  CHECK(f.started_at.time_since_epoch().count() == 0);
}

TEST_CASE("an authorised but uncaptured charge is not counted", "[stripe][parser]") {
  const auto r = parse(with(kChargeSucceeded, R"("captured": true)", R"("captured": false)"), {"charge.succeeded"});
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK_FALSE(r.facts.paid);
  CHECK(r.facts.ignore_reason == "charge authorised but not captured");
}

TEST_CASE("event types outside the paid list are ignored with a reason", "[stripe][parser]") {
  SECTION("a type not configured as paid") {
    const auto r = parse(kChargeSucceeded);
    REQUIRE(r.status == ParseStatus::Ok);
    CHECK_FALSE(r.facts.paid);
    CHECK(r.facts.ignore_reason == "event type charge.succeeded is not a paid type");
    CHECK(r.facts.delivery_id == "evt_3PqT11LkdIwHu7ix0Zz9Yy8X");
    CHECK(r.facts.event_type == "charge.succeeded");
  }
  SECTION("a refund") {
    const auto r = parse(with(kChargeSucceeded, R"("type": "charge.succeeded")", R"("type": "charge.refunded")"));
    REQUIRE(r.status == ParseStatus::Ok);
    CHECK_FALSE(r.facts.paid);
    CHECK(r.facts.ignore_reason == "event type charge.refunded is not a paid type");
  }
  SECTION("an ignored type is not checked for amounts") {
    const auto r = parse(R"({"id":"evt_1","object":"event","type":"customer.created",)"
                         R"("data":{"object":{"id":"cus_1","object":"customer"}}})");
    REQUIRE(r.status == ParseStatus::Ok);
    CHECK_FALSE(r.facts.paid);
    CHECK(r.facts.livemode);
  }
}

TEST_CASE("a paid type carrying an unsupported object is ignored, not rejected", "[stripe][parser]") {
  const auto r = parse(R"({"id":"evt_1","object":"event","type":"invoice.paid",)"
                       R"("data":{"object":{"id":"sub_1","object":"subscription"}}})");
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK_FALSE(r.facts.paid);
  CHECK(r.facts.ignore_reason == "unsupported object type subscription");
}

TEST_CASE("bodies that are not a Stripe event are malformed with a precise error", "[stripe][parser]") {
  requireMalformed(parse(""), "empty");
  requireMalformed(parse("{\"id\": \"evt_1\", "), "not valid JSON");
  requireMalformed(parse(R"({"id":"evt_1"} trailing)"), "not valid JSON");
  requireMalformed(parse("[1, 2, 3]"), "not a JSON object");
  requireMalformed(parse("\"evt_1\""), "not a JSON object");
  requireMalformed(parse("null"), "not a JSON object");
  requireMalformed(parse("  \n "), "not a JSON object");
  requireMalformed(parse(R"({"object":"event","type":"invoice.paid","data":{"object":{}}})"), "id missing");
  requireMalformed(parse(R"({"id":42,"type":"invoice.paid","data":{"object":{}}})"), "id missing");
  requireMalformed(parse(R"({"id":"in_1","type":"invoice.paid","data":{"object":{}}})"), "evt_");
  requireMalformed(parse(R"({"id":"evt_1","data":{"object":{}}})"), "type missing");
  requireMalformed(parse(R"({"id":"evt_1","type":null,"data":{"object":{}}})"), "type missing");
  requireMalformed(parse(R"({"id":"evt_1","type":"invoice.paid"})"), "data.object missing");
  requireMalformed(parse(R"({"id":"evt_1","type":"invoice.paid","data":{}})"), "data.object missing");
  requireMalformed(parse(R"({"id":"evt_1","type":"invoice.paid","data":{"object":null}})"), "data.object missing");
  requireMalformed(parse(R"({"id":"evt_1","type":"invoice.paid","data":{"object":[]}})"), "data.object missing");
}

TEST_CASE("thin events are refused with a hint", "[stripe][parser]") {
  requireMalformed(parse(R"({"id":"evt_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered"})"),
                   "thin events");
}

TEST_CASE("a paid event without an amount or currency is malformed", "[stripe][parser]") {
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999,)", "")),
                   "data.object.amount_total missing");
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)", R"("amount_total": null)")),
                   "data.object.amount_total missing");
  requireMalformed(parse(with(kCheckoutCompleted, R"("currency": "eur",)", "")), "data.object.currency missing");
  requireMalformed(parse(with(kInvoicePaid, R"("amount_paid": 1200,)", "")), "data.object.amount_paid missing");
  const auto no_amounts =
      with(with(kPaymentIntentSucceeded, R"("amount": 4500,)", ""), R"("amount_received": 4500,)", "");
  requireMalformed(parse(no_amounts), "data.object.amount_received missing");
}

TEST_CASE("amounts must be non-negative integers", "[stripe][parser]") {
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)", R"("amount_total": 19.99)")),
                   "data.object.amount_total is not an integer");
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)", R"("amount_total": "1999")")),
                   "data.object.amount_total is not an integer");
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)", R"("amount_total": true)")),
                   "data.object.amount_total is not an integer");
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)", R"("amount_total": -1)")),
                   "data.object.amount_total is negative");
}

TEST_CASE("integers are read as 64-bit and never wrap", "[stripe][parser]") {
  const auto max = parse(with(kCheckoutCompleted, R"("amount_total": 1999)", R"("amount_total": 9223372036854775807)"));
  REQUIRE(max.status == ParseStatus::Ok);
  CHECK(max.facts.amount_minor == INT64_MAX);

  const auto past_int64 = GENERATE(as<std::string>{}, "9223372036854775808", "18446744073709551615",
                                   "18446744073709551616", "99999999999999999999999");
  CAPTURE(past_int64);
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)", R"("amount_total": )" + past_int64)),
                   "64-bit");
}

TEST_CASE("a far-away integer elsewhere in the body is refused too", "[stripe][parser]") {
  requireMalformed(parse(with(kCheckoutCompleted, R"("expires_at": 1724336300)",
                              R"("expires_at": -9223372036854775809)")),
                   "64-bit");
}

TEST_CASE("long fractions and exponents are not mistaken for large integers", "[stripe][parser]") {
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)",
                              R"("amount_total": 1.99999999999999999999999)")),
                   "data.object.amount_total is not an integer");
  requireMalformed(parse(with(kCheckoutCompleted, R"("amount_total": 1999)",
                              R"("amount_total": 2e-99999999999999999999)")),
                   "data.object.amount_total is not an integer");
  CHECK(parse(with(kCheckoutCompleted, R"("expires_at": 1724336300)", R"("expires_at": 1.12345678901234567890123e+9)"))
            .status == ParseStatus::Ok);
}

TEST_CASE("digits inside strings are not mistaken for numbers", "[stripe][parser]") {
  const auto r =
      parse(with(kCheckoutCompleted, R"("order_ref": "order-1042")",
                 R"("order_ref": "order-1042", "note": "99999999999999999999999 \"-18446744073709551616\"")"));
  CHECK(r.status == ParseStatus::Ok);
}

TEST_CASE("a JPY amount is already in whole yen", "[stripe][parser]") {
  auto body = with(kCheckoutCompleted, R"("currency": "eur")", R"("currency": "jpy")");
  body = with(body, R"("amount_total": 1999)", R"("amount_total": 5000)");
  const auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.currency == "jpy");
  CHECK(r.facts.amount_minor == 5000);
}

TEST_CASE("Stripe's two-decimal ISK and UGX amounts become ISO minor units", "[stripe][parser]") {
  const auto currency = GENERATE(as<std::string>{}, "isk", "ugx");
  auto body = with(kCheckoutCompleted, R"("currency": "eur")", R"("currency": ")" + currency + "\"");
  body = with(body, R"("amount_total": 1999)", R"("amount_total": 500000)");
  const auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.amount_minor == 5000);
}

TEST_CASE("Stripe's zero-decimal MGA amounts become ISO minor units", "[stripe][parser]") {
  auto body = with(kCheckoutCompleted, R"("currency": "eur")", R"("currency": "mga")");
  body = with(body, R"("amount_total": 1999)", R"("amount_total": 10000)");
  const auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.amount_minor == 1000000);

  requireMalformed(parse(with(body, R"("amount_total": 10000)", R"("amount_total": 9223372036854775807)")), "range");
}

TEST_CASE("currency codes are lower-cased and must be three letters", "[stripe][parser]") {
  const auto r = parse(kChargeSucceeded, {"charge.succeeded"});
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.facts.currency == "eur");
  requireMalformed(parse(with(kCheckoutCompleted, R"("currency": "eur")", R"("currency": "euro")")), "three-letter");
}

TEST_CASE("JSON nulls read as absent fields", "[stripe][parser]") {
  auto body = with(kCheckoutCompleted, R"("client_reference_id": "order-1042")", R"("client_reference_id": null)");
  body = with(body, R"("metadata": {
        "capi_event_id": "3f1c9a2e-6b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "order_ref": "order-1042"
      })", R"("metadata": null)");
  body = with(body, R"("email": "Jane.Doe@example.com")", R"("email": null)");
  body = with(body, R"("name": "Jane van der Berg")", R"("name": null)");
  body = with(body, R"("livemode": false,
  "pending_webhooks")", R"("livemode": null,
  "pending_webhooks")");
  const auto r = parse(body);
  REQUIRE(r.status == ParseStatus::Ok);
  const auto& f = r.facts;
  CHECK(f.paid);
  CHECK(f.order_ref.empty());
  CHECK(f.browser_event_id.empty());
  CHECK(f.refs == std::vector<std::string>{"cs_test_a1B2c3D4e5F6g7H8i9J0", "pi_3PqRsuLkdIwHu7ix1XyZ2AbC"});
  CHECK(f.customer.email.empty());
  CHECK(f.customer.first_name.empty());
  CHECK(f.customer.last_name.empty());
  CHECK(f.livemode);
}

TEST_CASE("the payment moment is an invoice's paid_at, else the event's time, else the object's creation",
          "[stripe][parser]") {
  const auto invoice = parse(with(kInvoicePaid, R"("paid_at": 1724259999)", R"("paid_at": null)"));
  REQUIRE(invoice.status == ParseStatus::Ok);
  CHECK(invoice.facts.paid_at == fromUnixSeconds(1724260000));
  const auto no_object_time = parse(with(kCheckoutCompleted, R"("created": 1724249900,)", ""));
  REQUIRE(no_object_time.status == ParseStatus::Ok);
  CHECK(no_object_time.facts.paid_at == fromUnixSeconds(1724250000));
  const auto no_event_time = parse(with(kCheckoutCompleted, R"("created": 1724250000,)", ""));
  REQUIRE(no_event_time.status == ParseStatus::Ok);
  CHECK(no_event_time.facts.paid_at == fromUnixSeconds(1724249900));
  requireMalformed(parse(with(kInvoicePaid, R"("paid_at": 1724259999)", R"("paid_at": -5)")),
                   "data.object.status_transitions.paid_at is not a plausible unix time");
}

TEST_CASE("creation times a clock cannot hold are malformed", "[stripe][parser]") {
  const auto created = GENERATE(as<std::string>{}, "-1", "17024269990", "9223372036854775807");
  CAPTURE(created);
  requireMalformed(parse(with(kCheckoutCompleted, R"("created": 1724249900)", R"("created": )" + created)),
                   "data.object.created is not a plausible unix time");
  requireMalformed(parse(with(kCheckoutCompleted, R"("created": 1724250000)", R"("created": )" + created)),
                   "created is not a plausible unix time");
}

TEST_CASE("strings PostgreSQL cannot store are refused", "[stripe][parser]") {
  requireMalformed(parse(with(kCheckoutCompleted, R"("3f1c9a2e-6b7d-4e8f-9a0b-1c2d3e4f5a6b")", R"("3f1c\u0000")")),
                   "\\u0000");
  requireMalformed(parse(std::string("{\"id\":\"evt_1\0\"}", 15)), "NUL");
  CHECK(parse(with(kCheckoutCompleted, R"("mode": "payment")", R"("mode": "pay\\u0000ment")")).status ==
        ParseStatus::Ok);
}

TEST_CASE("arbitrary byte strings never escape as exceptions", "[stripe][parser]") {
  const std::string inputs[] = {
      "{", "}", "{\"id\":", "\xff\xfe", "{\"a\":\"\xff\"}", std::string(1000, '['),
      std::string(200, '[') + std::string(200, ']'),
      R"({"id":"evt_1","type":"invoice.paid","data":{"object":{"object":"charge"}}})",
      "1e999999", "-", "--1", "tru"};
  for (const auto& input : inputs) {
    CAPTURE(input);
    ParseResult r;
    CHECK_NOTHROW(r = parse(input));
    CHECK(r.status == ParseStatus::Malformed);
    CHECK_FALSE(r.error.empty());
  }
  for (size_t cut = 0; cut < kPaymentIntentSucceeded.size(); cut += 7) {
    CHECK_NOTHROW(parse(kPaymentIntentSucceeded.substr(0, cut)));
  }
}

TEST_CASE("payments known only by their invoice, in API version 2025-03-31 or later, are flagged as split",
          "[stripe][parser]") {
  using capi::webhooks::stripe::splitsInvoicePayments;
  const auto inVersion = [](std::string body, const std::string& version) {
    return parse(with(body, R"("api_version": "2024-06-20")", R"("api_version": ")" + version + "\""));
  };
  // An invoice as basil writes it: no payment_intent, no paid.
  const std::string basil_invoice =
      with(with(kInvoicePaid, R"("payment_intent": "pi_3PqS00LkdIwHu7ix0Cd1Ef2G",)", ""), R"("paid": true,)", "");
  const auto invoice = inVersion(basil_invoice, "2025-03-31.basil");
  REQUIRE(invoice.status == ParseStatus::Ok);
  REQUIRE(invoice.facts.paid);
  CHECK(invoice.facts.api_version == "2025-03-31.basil");
  CHECK(capi::webhooks::stripe::knownOnlyByInvoice(invoice.facts));
  CHECK(splitsInvoicePayments(invoice.facts, kPaidTypes));
  CHECK(splitsInvoicePayments(inVersion(basil_invoice, "2025-09-30.clover").facts, kPaidTypes));
  CHECK(splitsInvoicePayments(invoice.facts, {"invoice.payment_succeeded", "charge.succeeded"}));
  // Without a PaymentIntent or charge type nothing is paid twice.
  CHECK_FALSE(splitsInvoicePayments(invoice.facts, {"checkout.session.completed", "invoice.paid"}));
  // A subscription's Checkout Session names its invoice and no PaymentIntent.
  const std::string subscription_session =
      with(with(kCheckoutCompleted, R"("payment_intent": "pi_3PqRsuLkdIwHu7ix1XyZ2AbC",)", R"("payment_intent": null,)"),
           R"("invoice": null,)", R"("invoice": "in_1PqRzzLkdIwHu7ixWx8Yz9Ab",)");
  CHECK(splitsInvoicePayments(inVersion(subscription_session, "2025-03-31.basil").facts,
                              {"checkout.session.completed", "payment_intent.succeeded"}));
  CHECK_FALSE(splitsInvoicePayments(inVersion(subscription_session, "2025-03-31.basil").facts,
                                    {"checkout.session.completed", "invoice.paid"}));
  // A payment that names its PaymentIntent is joined in every version: a one-time Checkout
  // payment, the PaymentIntent's own event, an invoice written before basil.
  CHECK_FALSE(splitsInvoicePayments(inVersion(kCheckoutCompleted, "2025-03-31.basil").facts, kPaidTypes));
  CHECK_FALSE(splitsInvoicePayments(inVersion(kPaymentIntentSucceeded, "2025-03-31.basil").facts, kPaidTypes));
  CHECK_FALSE(capi::webhooks::stripe::knownOnlyByInvoice(inVersion(kPaymentIntentSucceeded, "2025-03-31.basil").facts));
  CHECK_FALSE(splitsInvoicePayments(inVersion(kInvoicePaid, "2025-03-31.basil").facts, kPaidTypes));
  // Versions before basil, or none, say nothing.
  CHECK(parse(kInvoicePaid).facts.api_version == "2024-06-20");
  CHECK_FALSE(splitsInvoicePayments(inVersion(basil_invoice, "2025-02-24.acacia").facts, kPaidTypes));
  auto unversioned = invoice.facts;
  unversioned.api_version.clear();
  CHECK_FALSE(splitsInvoicePayments(unversioned, kPaidTypes));
}
