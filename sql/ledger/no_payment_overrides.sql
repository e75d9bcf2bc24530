-- no payment overrides: the empty relation 23_payments joins when the run takes no state
-- from a ledger, with payment_overrides' column.
-- Grain: payment_id. Inputs: none.
SELECT NULL::VARCHAR AS payment_id WHERE false
