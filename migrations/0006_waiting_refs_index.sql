-- payments.refs is searched through an index for one purpose: a browser event that arrives after
-- its payment looks for the payments still waiting for it (status 'waiting'). The GIN index over
-- every payment's refs took entries for each order ever paid, most of which were matched the
-- moment they arrived; measured with bench/run and pg_stat_statements, it was one of the larger
-- parts of the per-order insert. An index over the waiting payments only stays as small as the
-- set of payments that can still be matched, and a payment resolved on arrival (the common case)
-- no longer writes to it. (`audit` looks refs up with "= ANY(refs)", which no GIN index serves.)
-- Building it takes a SHARE lock on payments for one scan of the table: matching and browser
-- events that resolve waiting payments wait, webhook acknowledgements and reads do not.
-- 0007 then drops the old index in a transaction of its own: dropping it here, after the build,
-- would upgrade the lock while matching transactions wait for it (a deadlock).
CREATE INDEX payments_waiting_refs_idx ON payments USING gin (refs) WITH (fastupdate = off)
    WHERE status = 'waiting';
