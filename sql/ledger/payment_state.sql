-- payment state: the late payments whose interest a counted letter charged (SPEC §9.5): the
-- export should show them interest_charged = true once payments_charged.csv was re-imported.
-- Grain: payment_id. Inputs: payments_charged, counted_letters.
SELECT p.payment_id, arg_max(c.letter_id, c.run_id) AS letter_id, max(c.run_date) AS run_date,
       arg_max(c.folder, c.run_id) AS folder
FROM payments_charged AS p
JOIN counted_letters AS c ON c.run_id = p.run_id AND c.letter_id = p.letter_id
GROUP BY p.payment_id
ORDER BY p.payment_id
