-- Every webhook looks its payment up by these arrays. With GIN's fast update, new entries sit
-- in a pending list that each lookup scans linearly until autovacuum merges it, so lookups
-- slowed down as a burst of webhooks grew the list. Insert into the tree directly instead.
ALTER INDEX payments_refs_idx SET (fastupdate = off);
ALTER INDEX payments_object_ids_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('payments_refs_idx'::regclass);
SELECT gin_clean_pending_list('payments_object_ids_idx'::regclass);

-- The dispatcher's claim changes no indexed column: with room left on the page it is a HOT
-- update and touches no index. (Applies to pages written from now on.)
ALTER TABLE outbound_events SET (fillfactor = 80);

-- Queries by status look for unfinished and dead rows; sent rows, nearly all of the table, no
-- longer enter the index, which saves an index insert for every event sent.
DROP INDEX outbound_events_status_idx;
CREATE INDEX outbound_events_unsent_status_idx ON outbound_events (status) WHERE status <> 'sent';
