-- payments_restore: one row per late payment whose interest the voided letters charged
-- (SPEC §9.5, payments_charged), for the ERP to mark interest_charged = false again: the
-- void reverses that interest (fee_reversals), so the payment's late days are owed again and
-- the next letter charges them. Written only when the run charged late-payment interest (void.py).
-- Grain: payment_id. Inputs: payments_charged (a view of the run's folder). Parameters: $letters.
SELECT payment_id, letter_id, false AS interest_charged
FROM payments_charged
WHERE list_contains($letters, letter_id)
ORDER BY payment_id
