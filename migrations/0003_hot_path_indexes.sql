-- Every webhook looks its payment up by these arrays. With GIN's fast update, new entries sit
-- in a pending list that each lookup scans linearly until autovacuum merges it, so lookups
-- slowed down as a burst of webhooks grew the list. Insert into the tree directly instead.
ALTER INDEX payments_refs_idx SET (fastupdate = off);
ALTER INDEX payments_object_ids_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('payments_refs_idx'::regclass);
SELECT gin_clean_pending_list('payments_object_ids_idx'::regclass);

-- Each new Purchase checks that its event_id is not already another payment's, across pixels;
-- the unique key leads with pixel_id and cannot serve that lookup.
CREATE INDEX outbound_events_event_id_idx ON outbound_events (event_id);
