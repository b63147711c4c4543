-- Each event sent costs two updates of its outbound_events row (the claim, then the outcome)
-- and one send_attempts insert. Measured with bench/run's dispatch phase and
-- pg_stat_statements, these three statements are nearly all of the database's work while a
-- backlog drains; this migration makes each cheaper.

-- An outbound row is about 1 KB. With fillfactor 80 a page kept room for one updated copy, so
-- most claims could not stay on their page: they became non-HOT updates that inserted into
-- every index. With half of each page free the claim is HOT (no index entry), and the outcome's
-- new version usually stays on the same page. (Applies to pages written from now on; the
-- table takes about twice the space of a packed one.)
ALTER TABLE outbound_events SET (fillfactor = 50);

-- created_at and attempted_at only grow, in the order rows are written, and serve range scans
-- (the retention purge, `audit`): a BRIN index answers those and costs almost nothing to keep
-- up, where a B-tree took an entry for every insert and every non-HOT update.
-- Building them takes a short SHARE lock on each table (writes wait; reads do not).
DROP INDEX outbound_events_created_at_idx;
CREATE INDEX outbound_events_created_at_idx ON outbound_events USING brin (created_at);
DROP INDEX send_attempts_time_idx;
CREATE INDEX send_attempts_time_idx ON send_attempts USING brin (attempted_at);
