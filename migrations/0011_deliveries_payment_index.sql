-- Deleting a payment makes its foreign keys set webhook_deliveries.payment_id to NULL, and
-- without an index that read the whole table once per payment: on bench/run's database
-- (112,000 deliveries) 55 ms per payment, so an hourly purge of a busy shop's payments, or a
-- first purge after months, read the table thousands of times. The index holds linked
-- deliveries only: acknowledgements do not enter it; matching's update of the delivery, already
-- a non-HOT update, writes one more entry. `events show` finds a payment's deliveries by it too.
-- The build reads the table once, and webhook acknowledgements and matching wait meanwhile
-- (about a second per million rows).
CREATE INDEX webhook_deliveries_payment_idx ON webhook_deliveries (payment_id) WHERE payment_id IS NOT NULL;
