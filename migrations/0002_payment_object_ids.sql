-- Webhooks for one order name different provider objects (Checkout Session, PaymentIntent,
-- Invoice, Charge). A payment is found by any of them, never by the shop's reference alone.
ALTER TABLE payments ADD COLUMN object_ids text[] NOT NULL DEFAULT '{}';
CREATE INDEX payments_object_ids_idx ON payments USING gin (object_ids);
