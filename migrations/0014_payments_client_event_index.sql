-- Deleting a browser event makes its foreign key set payments.client_event_id to NULL, and the
-- purge asks whether any payment still refers to it: without an index each read the whole
-- payments table once per browser event. The index holds payments matched to a browser event
-- only (an entry when the payment is written with its browser event, or later matched to one).
-- The build reads the table once, while matching, browser events that resolve a waiting
-- payment, the sweep of waiting payments and the purge wait (about a second per million rows);
-- webhook acknowledgements do not.
CREATE INDEX payments_client_event_idx ON payments (client_event_id) WHERE client_event_id IS NOT NULL;
