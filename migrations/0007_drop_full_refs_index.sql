-- Replaced by payments_waiting_refs_idx (0006). Dropping an index locks its table exclusively,
-- here only for as long as it takes to remove the index's files: this is the transaction's only
-- statement, so it waits for transactions already using payments and holds nothing else meanwhile.
DROP INDEX payments_refs_idx;
