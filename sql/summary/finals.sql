-- finals: the letters an AR manager acts on tonight, final notices and credit holds (SPEC
-- §4.9), the largest amounts first, at most $limit per currency; of_all counts them all.
-- Grain: letter_id. Inputs: letters, customer_actions. Parameters: $limit.
WITH actions AS (
    SELECT letter_id, bool_or(action = 'credit_hold') AS credit_hold,
           min(value) FILTER (WHERE action = 'payment_term') AS payment_term
    FROM customer_actions GROUP BY letter_id
)
SELECT l.letter_id, l.customer_id, l.customer_name, l.currency, l.level, l.template, l.is_final,
       l.total_due, l.pdf_path, coalesce(a.credit_hold, false) AS credit_hold, a.payment_term,
       count(*) OVER () AS of_all
FROM letters AS l LEFT JOIN actions AS a USING (letter_id)
WHERE l.is_final OR a.credit_hold
QUALIFY row_number() OVER (PARTITION BY l.currency ORDER BY l.total_due DESC, l.letter_id) <= $limit
ORDER BY l.currency, l.total_due DESC, l.letter_id
