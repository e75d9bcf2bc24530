-- letter_heads: one row per letter that goes out tonight, with the level it reaches (the
-- highest level among its item lines after the update, SPEC §4.4) and what that level
-- decides: template, pay-by date (§4.8), interest, finality and the interest end date, and
-- the level's money rules of §9 (compensation, post_interest, late_payment_interest).
-- A courtesy notice (§9.6, kind 'pre_due') is level 0: template pre_due, no interest, no
-- fee, pay-by date the earliest due date of its lines. interest_basis: the day count its
-- policy charges interest by (item_details carries it and `interest` for `explain`).
-- Grain: letter_id. Inputs: letter_items, cfg_levels, cfg_policies.
WITH kept AS (
    SELECT c.letter_id, any_value(c.customer_id) AS customer_id, any_value(c.currency) AS currency,
           any_value(c.branch_part) AS branch_part, any_value(c.policy) AS policy,
           max(c.level_after) AS level, count(*) AS line_count,
           bool_or(c.line_reason = 'pre_due') AS is_pre_due, min(c.due_date) AS earliest_due
    FROM letter_items AS c
    GROUP BY c.letter_id
)
SELECT
    k.letter_id, k.customer_id, k.currency, k.branch_part, k.policy, k.level, k.line_count,
    CASE WHEN k.is_pre_due THEN 'pre_due' ELSE 'dunning' END AS kind,
    CASE WHEN k.is_pre_due THEN 'pre_due' ELSE l.template END AS template,
    coalesce(l.interest, false) AS interest, coalesce(l.is_last, false) AS is_final,
    coalesce(l.credit_hold, false) AS credit_hold, l.payment_term,
    CASE WHEN k.is_pre_due THEN k.earliest_due ELSE $as_of::DATE + l.days_to_settle END AS pay_by,
    CASE p.calculate_to WHEN 'pay_by_date' THEN $as_of::DATE + l.days_to_settle
                        ELSE $as_of::DATE END AS interest_to,
    p.include_in_total, p.basis AS interest_basis,
    l.compensation, coalesce(l.post_interest, false) AS post_interest,
    coalesce(l.late_payment_interest, false) AS late_payment_interest
FROM kept AS k
LEFT JOIN cfg_levels AS l ON l.policy = k.policy AND l.level = k.level
JOIN cfg_policies AS p ON p.policy = k.policy
