-- record payments charged: each late payment whose interest a letter of the run charged
-- (run_payments_charged: the run's `payments_charged` relation, SPEC §9.5).
-- Grain: payment_id. Inputs: run_payments_charged, $run_id.
INSERT INTO payments_charged SELECT $run_id, payment_id, letter_id, interest_amount FROM run_payments_charged
