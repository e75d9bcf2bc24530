-- record letters: every letter of the run (run_letters: the run's `letters` relation).
-- Grain: letter. Inputs: run_letters, $run_id.
INSERT INTO letters
SELECT $run_id, letter_id, run_date, customer_id, currency, level, is_final, overdue_total, fee,
       coalesce(compensation_total, 0), interest_total, total_due, pay_by
FROM run_letters
