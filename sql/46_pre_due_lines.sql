-- pre_due_lines: one row per item that goes into a courtesy notice before its due date
-- (SPEC §9.6, policy key pre_due_days = N): a level-0 raising item that §4.2 does not
-- exclude, with -N <= days_past_due <= 0, whose customer, currency and branch part get no
-- dunning letter tonight (after §4.5 and §9.3, in any grouping). The notice's key is the
-- letter key with the extra part 'pre_due'; its lines are 'current' lines at level 0.
-- suppressed_by is 'below_min_amount' when the notice's total is below the policy's minimum.
-- Same columns as candidate_lines, plus notice_total, suppressed_by and the facts they rest
-- on (item_details, for `explain`): the policy's pre_due_days and its min_amount in the
-- notice's currency (NULL when it sets none). Grain: _row.
-- The currency part is the letter currency, the totals sum letter amounts (SPEC §11.1).
-- Inputs: items, exclusions, item_rates, candidate_lines, letter_gates, cfg_policies, cfg_min_amounts.
WITH
dunned_keys AS (
    SELECT DISTINCT c.customer_id, c.letter_currency, c.branch_part
    FROM candidate_lines AS c JOIN letter_gates AS g USING (letter_id)
    WHERE g.suppressed_by IS NULL
),
notice_items AS (
    SELECT i.*, p.pre_due_days, CASE WHEN $consolidate_branches THEN '' ELSE coalesce(i.branch, '') END AS branch_part,
           CAST(coalesce(r.rate, 1) AS DECIMAL(28, 10)) AS rate, r.rate_date,
           coalesce(r.letter_amount, i.open_amount) AS letter_amount
    FROM items AS i
    JOIN exclusions AS e USING (_row)
    JOIN cfg_policies AS p USING (policy)
    LEFT JOIN item_rates AS r USING (_row)
    WHERE p.pre_due_days IS NOT NULL
      AND e.exclusion IS NULL AND i.is_raising AND i.level_before = 0
      AND i.days_past_due BETWEEN -p.pre_due_days AND 0
),
keyed AS (
    SELECT n.*, letter_id_of($as_of::DATE, n.letter_key) AS letter_id
    FROM (SELECT *, customer_id || '|' || letter_currency || '|' || branch_part || '|pre_due' AS letter_key
          FROM notice_items) AS n
    WHERE NOT EXISTS (SELECT 1 FROM dunned_keys AS d
                      WHERE d.customer_id = n.customer_id AND d.letter_currency = n.letter_currency
                        AND d.branch_part = n.branch_part)
),
totalled AS (
    SELECT *, sum(letter_amount) OVER (PARTITION BY letter_id) AS notice_total FROM keyed
)
SELECT
    t.letter_id, t.letter_key, t._row, t.doc_id, t.customer_id, t.currency, t.branch_part, t.policy,
    'current' AS line_type, t.doc_type, t.doc_date, t.due_date, t.days_past_due, t.open_amount, t.minor_unit,
    t.level_before, t.last_dunned_before, t.customer_interest_rate,
    t.amount, t.compensation_charged, t.interest_paid_to,
    t.level_before AS level_after, 'pre_due' AS line_reason,
    t.letter_currency, t.rate, t.rate_date, t.letter_amount,   -- SPEC §11.1, as candidate_lines
    t.notice_total, t.pre_due_days, m.min_amount,
    CASE WHEN t.notice_total < m.min_amount THEN 'below_min_amount' END AS suppressed_by
FROM totalled AS t
LEFT JOIN cfg_min_amounts AS m ON m.policy = t.policy AND m.currency = t.letter_currency
