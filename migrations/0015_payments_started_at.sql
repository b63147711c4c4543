-- When the customer started to pay: the provider object's creation (a Stripe Checkout Session,
-- PaymentIntent, invoice or charge). Browser events received well before it belong to an
-- earlier order: with a customer id as order reference, a previous order's Purchase that was
-- never linked to a payment (a second Purchase from a reloaded thank-you page, one that came
-- after its payment's deadline, one of an order dropped or of amount 0) would otherwise lend
-- the next order a stale event_id. NULL for payments stored before this column: no bound.
-- Adding a nullable column without a default rewrites nothing.
ALTER TABLE payments ADD COLUMN started_at timestamptz;
