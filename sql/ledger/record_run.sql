-- record run: the run itself, `pending` until its folder is in place (ledger/nightly.py).
-- Grain: run. Inputs: the run's facts as parameters.
INSERT INTO runs VALUES ($run_id, $run_date, $folder, 'pending', $run_json_sha256, $config_sha256,
                         $open_items_sha256, $customers_sha256, $payments_sha256, $stale_export,
                         $lagging_items, $ahead_items, (SELECT count(*) FROM run_letters), $recorded_at)
