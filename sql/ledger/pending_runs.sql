-- pending runs: runs recorded just before their folder was renamed into place and not marked
-- finished after it: a run killed in between (ledger/store.py adopts or drops each).
-- Grain: run. Inputs: runs.
SELECT run_id, run_date, folder, run_json_sha256 FROM runs WHERE status = 'pending' ORDER BY run_id
