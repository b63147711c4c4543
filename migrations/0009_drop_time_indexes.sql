-- Two B-tree indexes on a time column served only the hourly retention purge (and `audit`'s
-- counts "since"), yet every row written took an entry:
-- * outbound_events.created_at: each order matched and each dispatch outcome, a non-HOT update.
--   bench/run's dispatch phase measured that entry at about a fifth of the outcome update
--   (pg_stat_statements: 1.9-2.2 s per 50,000 events with it, 1.6-1.75 s without, three pairs),
--   with 285,000 WAL records instead of 230,000; events/s rose from 18.4-20.2k to 22.0-25.1k.
-- * webhook_deliveries.received_at: each webhook acknowledged, and again when matching links
--   the delivery (also a non-HOT update). At 1,000 webhooks/s (three pairs) the inbox insert
--   wrote 60,600 WAL records per 10,000 webhooks instead of 70,700, and matching's per-order
--   statement 192,000 instead of 202,000; their times moved less than the noise. Bodies still
--   to be cleared keep their partial index webhook_deliveries_raw_idx.
-- The purge walks these tables in id order instead (ids and those times grow together, both
-- set as the row is inserted) and stops at the first rows younger than the cutoff; `audit`
-- reads outbound_events for its "since" counts, an operator's command over at most
-- retention.days of rows.
-- Each drop takes an ACCESS EXCLUSIVE lock on its table once the transactions using it have
-- finished, and holds it until this migration commits (a moment): meanwhile reads of the tables
-- (retry_queue, audit, /metrics) wait, as do webhook acknowledgements, matching and dispatch.
DROP INDEX outbound_events_created_at_idx;
DROP INDEX webhook_deliveries_received_at_idx;
