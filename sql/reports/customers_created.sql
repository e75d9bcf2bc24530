-- customers_created: how many customers the run created for ids the items name that the
-- customers file lacks ([input.customers] missing = "create"; such a customer has no row of
-- the file, _row NULL), for run.json's customers_created and the run's printed summary.
-- Not a pipeline stage: manifest.py runs it on the decided night.
-- Grain: one row. Inputs: customers_parsed.
SELECT count(*) AS customers_created FROM customers_parsed WHERE _row IS NULL
