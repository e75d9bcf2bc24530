-- payments_charged: one row per late payment whose interest a letter charged tonight
-- (SPEC §9.5), for the ERP to mark as interest_charged = true. Written only when a level
-- charges interest on late payments.
-- Grain: payment_id. Inputs: interest_lines, letters.
SELECT il.payment_id, il.letter_id, CAST(sum(il.interest_amount) AS DECIMAL(18, 2)) AS interest_amount
FROM interest_lines AS il
WHERE il.line_type = 'late_interest' AND il.letter_id IN (SELECT letter_id FROM letters)
GROUP BY il.payment_id, il.letter_id
ORDER BY il.payment_id
