-- payments.refs is searched for one purpose only: a browser event that arrives after its
-- payment looks for the payments still waiting for it (status 'waiting'). The GIN index over
-- every payment's refs took entries for each order ever paid, most of which were matched the
-- moment they arrived; measured with bench/run and pg_stat_statements, that index was one of the
-- largest parts of the per-order insert. Indexing only the waiting payments keeps the index as
-- small as the set of payments that can still be matched, and a payment that is resolved on
-- arrival (the common case) no longer writes to it.
-- The new index is built before the old one is dropped: writes to payments wait during the build
-- (one scan of the table), reads do not.
CREATE INDEX payments_waiting_refs_idx ON payments USING gin (refs) WITH (fastupdate = off)
    WHERE status = 'waiting';
DROP INDEX payments_refs_idx;
