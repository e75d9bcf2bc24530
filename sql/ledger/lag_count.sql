-- lag count: how many items of the export lag the ledger ($status = 'lags') or are ahead of it.
-- Grain: one row. Inputs: export_lag, $status.
SELECT count(*) FROM export_lag WHERE status = $status
