-- letter_gates: one row per candidate letter with its overdue and credit totals and the
-- threshold that suppresses it (SPEC §4.5, §9.3), NULL when it goes out. Tested in order:
-- below_min_amount, below_min_percent (policy min_percent: the overdue total against the
-- open balance of the letter's customer, currency and branch part), customer_in_credit.
-- With them the thresholds that applied (item_details, for `explain`): the policy's
-- min_amount in the letter's currency and its min_percent (NULL when it sets none).
-- Every amount is in the letter's currency (SPEC §11.1): the lines' letter_amount, the balance
-- of the items converted the same way (26_item_rates), the minimum of that currency.
-- Grain: letter_id. Inputs: candidate_lines, items, exclusions, item_rates, cfg_min_amounts, cfg_policies.
WITH totals AS (
    SELECT c.letter_id, any_value(c.policy) AS policy, any_value(c.letter_currency) AS currency,
           any_value(c.customer_id) AS customer_id, any_value(c.branch_part) AS branch_part,
           coalesce(sum(c.letter_amount) FILTER (WHERE c.line_type = 'overdue'), 0) AS overdue_total,
           coalesce(sum(c.letter_amount) FILTER (WHERE c.line_type = 'credit'), 0)  AS credit_total,
           count(*) FILTER (WHERE c.line_type = 'credit')                          AS credit_lines
    FROM candidate_lines AS c
    GROUP BY c.letter_id
),
balances AS (
    -- SPEC §9.3: every raising item that §4.2 does not exclude, due or not, whatever the
    -- grouping; only for the policies that set min_percent
    SELECT i.customer_id, i.letter_currency AS currency,
           CASE WHEN $consolidate_branches THEN '' ELSE coalesce(i.branch, '') END AS branch_part,
           sum(coalesce(r.letter_amount, i.open_amount)) AS open_balance
    FROM items AS i JOIN exclusions AS e USING (_row)
    LEFT JOIN item_rates AS r USING (_row)
    WHERE e.exclusion IS NULL AND i.is_raising
      AND i.policy IN (SELECT policy FROM cfg_policies WHERE min_percent IS NOT NULL)
    GROUP BY ALL
)
SELECT
    t.letter_id, t.overdue_total, t.credit_total, b.open_balance, m.min_amount, p.min_percent,
    CASE WHEN t.overdue_total < m.min_amount                              THEN 'below_min_amount'
         -- overdue_total < min_percent % of the balance, without dividing decimals
         WHEN t.overdue_total * 100 < p.min_percent * b.open_balance         THEN 'below_min_percent'
         WHEN t.credit_lines > 0 AND t.overdue_total + t.credit_total <= 0 THEN 'customer_in_credit'
    END AS suppressed_by
FROM totals AS t
LEFT JOIN cfg_min_amounts AS m USING (policy, currency)
LEFT JOIN cfg_policies AS p USING (policy)
LEFT JOIN balances AS b USING (customer_id, currency, branch_part)
