-- letter_gates: one row per candidate letter with its overdue and credit totals and the
-- threshold that suppresses it (SPEC §4.5), NULL when it goes out.
-- Grain: letter_id. Inputs: candidate_lines, cfg_min_amounts.
WITH totals AS (
    SELECT c.letter_id, any_value(c.policy) AS policy, any_value(c.currency) AS currency,
           coalesce(sum(c.open_amount) FILTER (WHERE c.line_type = 'overdue'), 0) AS overdue_total,
           coalesce(sum(c.open_amount) FILTER (WHERE c.line_type = 'credit'), 0)  AS credit_total,
           count(*) FILTER (WHERE c.line_type = 'credit')                          AS credit_lines
    FROM candidate_lines AS c
    GROUP BY c.letter_id
)
SELECT
    t.letter_id, t.overdue_total, t.credit_total,
    CASE WHEN t.overdue_total < m.min_amount                              THEN 'below_min_amount'
         WHEN t.credit_lines > 0 AND t.overdue_total + t.credit_total <= 0 THEN 'customer_in_credit'
    END AS suppressed_by
FROM totals AS t
LEFT JOIN cfg_min_amounts AS m USING (policy, currency)
