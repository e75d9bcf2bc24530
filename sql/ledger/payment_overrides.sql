-- payment overrides: with stale_export = "use_ledger", the late payments tonight's decisions
-- take as interest_charged (23_payments applies it). Empty in any other mode.
-- Grain: payment_id. Inputs: payment_lag, $use_ledger.
SELECT payment_id FROM payment_lag WHERE $use_ledger ORDER BY payment_id
