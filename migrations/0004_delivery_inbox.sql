-- Webhooks are acknowledged once their delivery row commits, with status 'received'; the
-- matching worker then turns each into a payment and its outbound rows, in batches, and sets
-- the final status. 'failed': the worker could not process the delivery (status_reason says
-- why); nothing retries it on its own.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_check
    CHECK (status IN ('received', 'accepted', 'ignored', 'duplicate_order', 'failed'));

-- The worker's queue: deliveries not yet matched, oldest first. Small, since rows leave it
-- within moments of arriving.
CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (id) WHERE status = 'received';
