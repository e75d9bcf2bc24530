-- letter_heads: one row per letter that goes out tonight, with the level it reaches (the
-- highest level among its item lines after the update, SPEC §4.4) and what that level
-- decides: template, pay-by date (§4.8), interest, finality and the interest end date.
-- Grain: letter_id. Inputs: candidate_lines, letter_gates, cfg_levels, cfg_policies.
WITH kept AS (
    SELECT c.letter_id, any_value(c.customer_id) AS customer_id, any_value(c.currency) AS currency,
           any_value(c.branch_part) AS branch_part, any_value(c.policy) AS policy,
           max(c.level_after) AS level, count(*) AS line_count
    FROM candidate_lines AS c JOIN letter_gates AS g USING (letter_id)
    WHERE g.suppressed_by IS NULL
    GROUP BY c.letter_id
)
SELECT
    k.*,
    l.template, l.interest, l.is_last AS is_final, l.credit_hold, l.payment_term,
    $as_of::DATE + l.days_to_settle AS pay_by,
    CASE p.calculate_to WHEN 'pay_by_date' THEN $as_of::DATE + l.days_to_settle
                        ELSE $as_of::DATE END AS interest_to,
    p.include_in_total
FROM kept AS k
JOIN cfg_levels AS l ON l.policy = k.policy AND l.level = k.level
JOIN cfg_policies AS p ON p.policy = k.policy
