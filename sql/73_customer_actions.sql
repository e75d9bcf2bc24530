-- customer_actions: one row per customer action a letter's level sets (SPEC §4.9).
-- Grain: (letter_id, action). Inputs: letters, letter_heads.
SELECT l.customer_id, a.action, a.value, l.letter_id, l.run_date
FROM letters AS l
JOIN letter_heads AS h USING (letter_id)
CROSS JOIN LATERAL (
    SELECT 'credit_hold' AS action, 'true' AS value WHERE h.credit_hold
    UNION ALL
    SELECT 'payment_term', h.payment_term WHERE h.payment_term IS NOT NULL
) AS a
ORDER BY l.letter_id, a.action
