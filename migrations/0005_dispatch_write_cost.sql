-- Each event sent costs two updates of its outbound_events row (the claim, then the outcome)
-- and one send_attempts insert. Measured with bench/run's dispatch phase and
-- pg_stat_statements, these three statements are nearly all of the database's work while a
-- backlog drains; this migration makes two of them cheaper.

-- An outbound row is about 1 KB. With fillfactor 80 a page kept room for one updated copy, so
-- most claims could not stay on their page: they became non-HOT updates that inserted into
-- every index. With half of each page free the claim is HOT (no index entry), and the outcome's
-- new version usually stays on the same page. (Applies to pages written from now on; the
-- table takes about twice the space of a packed one.) Takes no lock that blocks reads or writes.
ALTER TABLE outbound_events SET (fillfactor = 50);

-- attempted_at only serves `audit`'s "attempts since" count. A B-tree took an entry for every
-- attempt; a BRIN index costs almost nothing to keep up. While rows are only appended it
-- narrows the scan to the window asked for; once the retention purge has freed old pages and
-- new attempts reuse them, its ranges widen and that count reads most of the table (at most
-- retention.days of attempts), which is acceptable for an operator's command.
-- outbound_events.created_at keeps its B-tree: the purge deletes by it in batches, and a BRIN
-- index there would make each batch rescan the whole table once pages are reused.
-- The new index is built before the old one is dropped: writes to send_attempts wait during
-- the build (one scan of the table), reads do not; the drop's exclusive lock lasts only until
-- this migration commits.
CREATE INDEX send_attempts_attempted_brin ON send_attempts USING brin (attempted_at);
DROP INDEX send_attempts_time_idx;
ALTER INDEX send_attempts_attempted_brin RENAME TO send_attempts_time_idx;
