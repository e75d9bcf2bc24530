-- lagging runs: the runs whose files the export has not taken in yet (the runs that set the
-- lagging items' and payments' state), in the order they must be re-imported.
-- Grain: run (date, folder). Inputs: export_lag, payment_lag.
SELECT run_date, folder
FROM (SELECT run_date, folder FROM export_lag WHERE status = 'lags'
      UNION SELECT run_date, folder FROM payment_lag)
GROUP BY run_date, folder
ORDER BY run_date, folder
