-- The foreign key from send_attempts to outbound_events fired a trigger for every attempt
-- recorded, which locked the event's row (a WAL record each). bench/run's dispatch phase
-- measured it (pg_stat_statements) at about 60 % of the attempts insert's cost, 15 % of the
-- database's work per event sent. The daemon records attempts only for events it holds leased,
-- and the retention purge deletes an event's attempts in the statement that deletes the event
-- (formerly the key's ON DELETE CASCADE did). Deleting outbound events by hand now leaves their
-- attempts behind: delete them too (`DELETE FROM send_attempts WHERE outbound_event_id = ...`).
-- Takes an exclusive lock on both tables only for the moment of the drop.
ALTER TABLE send_attempts DROP CONSTRAINT send_attempts_outbound_event_id_fkey;
