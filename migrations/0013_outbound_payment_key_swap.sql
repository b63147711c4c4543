-- The unique constraint on (pixel_id, payment_id) becomes the index 0012 built on
-- (payment_id, pixel_id): the same columns, so the same rows are unique (several rows with no
-- payment are still allowed) and ON CONFLICT DO NOTHING behaves as before; the old index goes.
-- Takes an ACCESS EXCLUSIVE lock on outbound_events once the transactions using it have
-- finished, and holds it until this migration commits (a moment): meanwhile reads of the table
-- (retry_queue, audit, /metrics), dispatch and matching wait.
ALTER TABLE outbound_events DROP CONSTRAINT outbound_events_payment_uq,
    ADD CONSTRAINT outbound_events_payment_uq UNIQUE USING INDEX outbound_events_payment_pixel_uq;
