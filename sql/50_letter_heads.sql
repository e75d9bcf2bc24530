-- letter_heads: one row per letter that goes out tonight, with the level it reaches (the
-- highest level among its item lines after the update, SPEC §4.4) and what that level
-- decides: template, pay-by date (§4.8), interest, finality and the interest end date, and
-- the level's money rules of §9 (compensation, post_interest, late_payment_interest).
-- A courtesy notice (§9.6, kind 'pre_due') is level 0: template pre_due, no interest, no
-- fee, pay-by date the earliest due date of its lines. interest_basis: the day count its
-- policy charges interest by (item_details carries it and `interest` for `explain`).
-- With [run] pay_by_calendar ($pay_by_calendar), a computed pay-by date (run date +
-- days_to_settle) on a Saturday, a Sunday or a holiday of pay_by_holidays moves to the next
-- business day, and interest calculated to the pay-by date runs to the moved day; the courtesy
-- notice's pay-by is the invoices' own due date (the contract's) and does not move. Without a
-- calendar ($pay_by_calendar NULL) every date is as computed.
-- Grain: letter_id. Inputs: letter_items, cfg_levels, cfg_policies, pay_by_holidays.
WITH business_days AS (
    -- the days from the run date to a month past the latest computed pay-by date that are
    -- neither weekend (ISO day 6, 7) nor holiday; none without a calendar
    SELECT CAST(t.day AS DATE) AS day
    FROM range(CAST($as_of::DATE AS TIMESTAMP),
               CAST($as_of::DATE + coalesce((SELECT max(days_to_settle) FROM cfg_levels), 0) + 32 AS TIMESTAMP),
               INTERVAL 1 DAY) AS t(day)
    WHERE $pay_by_calendar IS NOT NULL AND isodow(t.day) < 6
      AND CAST(t.day AS DATE) NOT IN (SELECT h.day FROM pay_by_holidays AS h)
),
settle AS (
    -- per level, the day its computed pay-by date (run date + days_to_settle) is paid by
    SELECT l.policy, l.level,
           CASE WHEN $pay_by_calendar IS NULL THEN $as_of::DATE + l.days_to_settle
                ELSE (SELECT min(b.day) FROM business_days AS b
                      WHERE b.day >= $as_of::DATE + l.days_to_settle) END AS pay_by
    FROM cfg_levels AS l
),
kept AS (
    SELECT c.letter_id, any_value(c.customer_id) AS customer_id,
           any_value(c.letter_currency) AS currency,   -- the letter's currency (SPEC §11.1)
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
    CASE WHEN k.is_pre_due THEN k.earliest_due ELSE s.pay_by END AS pay_by,
    CASE p.calculate_to WHEN 'pay_by_date' THEN s.pay_by ELSE $as_of::DATE END AS interest_to,
    p.include_in_total, p.basis AS interest_basis,
    l.compensation, coalesce(l.post_interest, false) AS post_interest,
    coalesce(l.late_payment_interest, false) AS late_payment_interest
FROM kept AS k
LEFT JOIN cfg_levels AS l ON l.policy = k.policy AND l.level = k.level
LEFT JOIN settle AS s ON s.policy = k.policy AND s.level = k.level
JOIN cfg_policies AS p ON p.policy = k.policy
