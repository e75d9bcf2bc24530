-- lagging items: the first lagging items by doc_id, as the stop message and run.json name them.
-- Grain: doc_id. Inputs: export_lag, $limit.
SELECT doc_id, export_level, ledger_level, letter_id, run_date, folder
FROM export_lag WHERE status = 'lags' ORDER BY doc_id LIMIT $limit
