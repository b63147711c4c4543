-- When the customer started to pay: the earliest creation of the provider's objects for the
-- order (a Stripe Checkout Session, PaymentIntent or invoice). A browser Purchase received well
-- before it, under an order reference another payment has (a customer id), is an earlier
-- order's that was never linked to a payment (a second Purchase from a reloaded thank-you page,
-- one that came after its payment's deadline): it must not lend the next order a stale
-- event_id. NULL for payments stored before this column, and for charges: no bound.
-- Adding a nullable column without a default rewrites nothing.
ALTER TABLE payments ADD COLUMN started_at timestamptz;
