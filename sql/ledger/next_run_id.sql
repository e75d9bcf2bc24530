-- next run id: the number the ledger gives the run it records now (runs in recording order).
-- Grain: one row. Inputs: runs.
SELECT coalesce(max(run_id), 0) + 1 FROM runs
