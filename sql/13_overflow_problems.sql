-- overflow_problems: the items of a customer and currency whose letter could hold more than
-- DECIMAL(18,2) can (9999999999999999.99) tonight, with interest and fees at their highest,
-- so that no amount a later stage computes overflows (SPEC §2.3, §4.6, §4.7, §9).
-- Grain: (source, _row, column_name, kind, message), source 'open_items', one row per item of
-- such a customer and currency. Inputs: open_items_parsed, payments_parsed, cfg_*.
WITH
pay AS MATERIALIZED (SELECT * FROM payments_parsed),
-- What a letter of one customer and currency could reach at most tonight, in cents, so that
-- no amount a later stage computes overflows DECIMAL(18,2). The letter's level is at most the
-- highest level an item of the customer holds or can reach (reach); up to that level: every
-- open amount; when a level charges interest, the interest at the highest rate that may
-- apply (the customer's, 0 to 100 as checked, else the policy's highest fixed or reference
-- rate) on every item for every day from its due date through the latest interest end date,
-- plus 2 days (30E/360 counts February as 30 days), by a 360-day year, and on the late
-- payments likewise, rounded up, with a cent per line and rate step for the rounding; a
-- percentage fee of the highest percent on the open amounts; the largest fixed fee part;
-- and the compensation per invoice. Worked out only for the customers whose open amounts
-- could come near the limit at all (candidates): one cheap pass over the items.
policy_rates AS (
    SELECT p.policy,
           greatest(coalesce(abs(p.fixed_rate), 0),
                    coalesce((SELECT max(abs(r.rate_percent)) FROM cfg_reference_rates AS r
                              WHERE r.policy = p.policy), 0)) AS max_rate,
           1 + (SELECT count(*) FROM cfg_reference_rates AS r WHERE r.policy = p.policy) AS max_lines,
           CASE WHEN p.calculate_to = 'pay_by_date'
                THEN (SELECT max(l.days_to_settle) FROM cfg_levels AS l WHERE l.policy = p.policy)
                ELSE 0 END AS max_settle
    FROM cfg_policies AS p
),
payment_totals AS (
    SELECT customer_id, currency, sum(abs(amount)) AS paid_total, count(*) AS paid_rows,
           sum(abs(amount) * least(datediff('day', due_date, paid_on), 40000)) AS paid_amount_days
    FROM pay
    WHERE customer_id IS NOT NULL AND currency IS NOT NULL AND amount IS NOT NULL AND paid_on > due_date
    GROUP BY customer_id, currency
),
candidates AS MATERIALIZED (
    -- interest at up to 200 % (a reference rate of -100 and a margin of -100, in absolute
    -- value) for up to 40,000 + 3,650 + 2 days by a 360-day year is less than 243 times the
    -- amount; a percentage fee at most once more: 250 times the amounts with the largest fixed
    -- parts of the config bounds every letter
    SELECT g.customer_id, g.currency
    FROM (SELECT customer_id, currency, sum(abs(open_amount)) AS open_total, count(*) AS n
          FROM open_items_parsed
          WHERE customer_id IS NOT NULL AND currency IS NOT NULL AND open_amount IS NOT NULL
          GROUP BY customer_id, currency) AS g
    LEFT JOIN payment_totals AS p USING (customer_id, currency)
    CROSS JOIN (SELECT (SELECT coalesce(max(fee), 0) FROM cfg_level_fees)
                       + (SELECT coalesce(max(fixed_sum), 0) FROM (SELECT sum(fixed) AS fixed_sum FROM cfg_fee_tiers
                                                                  GROUP BY policy, level, currency))
                       + (SELECT coalesce(max(fee_min), 0) FROM cfg_fee_limits) AS fixed,
                       greatest((SELECT coalesce(max(amount), 0) FROM cfg_compensation_amounts), 100.00)
                           AS compensation) AS m
    WHERE (g.open_total + coalesce(p.paid_total, 0)) * 250 + m.fixed + g.n * m.compensation
          > 9999999999999999.99
),
item_totals AS MATERIALIZED (
    -- days beyond a century are clamped: such a date is a problem of its own (plausible_years)
    SELECT customer_id, currency, any_value(policy) AS policy, any_value(customer_interest_rate) AS customer_rate,
           sum(abs(open_amount)) AS open_total,
           sum(abs(open_amount)) FILTER (WHERE charged) AS charged_total,
           sum(abs(open_amount) * least(greatest(charged_days, 0), 40000)) FILTER (WHERE charged) AS charged_amount_days,
           count(*) FILTER (WHERE charged) AS charged_rows,
           count(*) FILTER (WHERE doc_type = 'invoice') AS invoices,
           max(days_past_due) AS max_days_past_due, max(level_before) AS max_level_before
    FROM (SELECT *, doc_type IN ('invoice', 'debit_memo', 'refund') AND due_date IS NOT NULL AS charged,
                 datediff('day', greatest(due_date, coalesce(interest_paid_to, due_date)), $as_of::DATE)
                     AS charged_days
          FROM open_items_parsed
          SEMI JOIN candidates USING (customer_id, currency)
          WHERE customer_id IS NOT NULL AND currency IS NOT NULL AND open_amount IS NOT NULL)
    GROUP BY customer_id, currency
),
exposure_totals AS MATERIALIZED (
    SELECT t.customer_id, t.currency, t.policy, t.invoices, t.max_days_past_due, t.max_level_before,
           CAST(t.open_total * 100 AS HUGEINT) AS open_cents,
           -- cent-days: x micro-percent / (100 percent x 10^6 micro x 360 days), rounded up
           ((CAST(coalesce(t.charged_amount_days, 0) * 100 AS HUGEINT)
             + CAST(coalesce(t.charged_total, 0) * 100 AS HUGEINT) * (coalesce(pr.max_settle, 0) + 2)
             + CAST(coalesce(p.paid_amount_days, 0) * 100 AS HUGEINT)
             + CAST(coalesce(p.paid_total, 0) * 100 AS HUGEINT) * 2 + 359) // 360
            * CAST(coalesce(t.customer_rate, pr.max_rate, 0) * 1000000 AS HUGEINT) + 99999999)
           // CAST(100000000 AS HUGEINT)
           + (t.charged_rows + coalesce(p.paid_rows, 0)) * coalesce(pr.max_lines, 1) AS interest_cents
    FROM item_totals AS t
    LEFT JOIN payment_totals AS p USING (customer_id, currency)
    LEFT JOIN policy_rates AS pr USING (policy)
),
reach AS (
    -- the highest level a letter of the customer could have tonight: an item's level or the
    -- highest threshold it passes, one level above its own at most in a sequential policy
    SELECT t.customer_id, t.currency, t.policy, t.open_cents, t.interest_cents, t.invoices,
           least(greatest(coalesce(t.max_level_before, 0),
                          least(coalesce(t.passed_level, 0),
                                CASE WHEN p.sequential THEN coalesce(t.max_level_before, 0) + 1 END)),
                 p.last_level) AS reach_level
    FROM (SELECT e.customer_id, e.currency, e.policy, e.open_cents, e.interest_cents, e.invoices,
                 e.max_level_before, max(l.level) AS passed_level
          FROM exposure_totals AS e
          LEFT JOIN cfg_levels AS l ON l.policy = e.policy AND l.days_past_due < e.max_days_past_due
          GROUP BY e.customer_id, e.currency, e.policy, e.open_cents, e.interest_cents, e.invoices,
                   e.max_level_before) AS t
    LEFT JOIN cfg_policies AS p USING (policy)
),
level_money AS (
    -- per policy, level and currency of the export: what a letter of this level may add
    SELECT l.policy, l.level, c.currency, l.interest,
           greatest(coalesce(l.fee_percent, 0), coalesce(tp.max_percent, 0)) AS fee_percent,
           greatest(coalesce(f.fee, 0), coalesce(tf.fixed_sum, 0), coalesce(m.fee_min, 0)) AS fixed_fee,
           CASE l.compensation WHEN 'eu' THEN coalesce(a.amount, 0) WHEN 'uk' THEN 100.00 ELSE 0 END
               AS compensation
    FROM cfg_levels AS l
    CROSS JOIN (SELECT DISTINCT currency FROM item_totals) AS c
    LEFT JOIN (SELECT policy, level, max(percent) AS max_percent FROM cfg_fee_tiers GROUP BY policy, level) AS tp
           ON tp.policy = l.policy AND tp.level = l.level
    LEFT JOIN (SELECT policy, level, currency, sum(fixed) AS fixed_sum FROM cfg_fee_tiers
               GROUP BY policy, level, currency) AS tf
           ON tf.policy = l.policy AND tf.level = l.level AND tf.currency = c.currency
    LEFT JOIN cfg_level_fees AS f ON f.policy = l.policy AND f.level = l.level AND f.currency = c.currency
    LEFT JOIN cfg_fee_limits AS m ON m.policy = l.policy AND m.level = l.level AND m.currency = c.currency
    LEFT JOIN cfg_compensation_amounts AS a ON a.policy = l.policy AND a.currency = c.currency
),
level_caps AS (
    -- the same up to each level
    SELECT l.policy, l.level, m.currency, bool_or(m.interest) AS interest, max(m.fee_percent) AS fee_percent,
           max(m.fixed_fee) AS fixed_fee, max(m.compensation) AS compensation
    FROM cfg_levels AS l
    JOIN level_money AS m ON m.policy = l.policy AND m.level <= l.level
    GROUP BY l.policy, l.level, m.currency
),
letter_limits AS (
    SELECT r.customer_id, r.currency, r.policy, r.open_cents,
           r.open_cents + CASE WHEN coalesce(lc.interest, false) THEN r.interest_cents ELSE 0 END
           + (r.open_cents * CAST(coalesce(lc.fee_percent, 0) * 1000000 AS HUGEINT) + 99999999)
             // CAST(100000000 AS HUGEINT)
           + CAST(coalesce(lc.fixed_fee, 0) * 100 AS HUGEINT)
           + r.invoices * CAST(coalesce(lc.compensation, 0) * 100 AS HUGEINT) AS bound_cents
    FROM reach AS r
    LEFT JOIN level_caps AS lc ON lc.policy = r.policy AND lc.currency = r.currency AND lc.level = r.reach_level
)
-- a letter's total must fit DECIMAL(18,2): the items of one customer and currency may
-- not add up to more than its largest value, nor reach it with interest and fees (letter_limits)
SELECT 'open_items' AS source, p._row, 'open_amount' AS column_name, 'letter_overflow' AS kind,
       'the open items of customer ''' || p.customer_id || ''' in ' || p.currency || ' add up to '
       || cents_text(big.open_cents) || CASE
           WHEN big.open_cents > 999999999999999999 THEN ', more than a letter can hold (9999999999999999.99); '
                                                         || 'check the amounts'
           ELSE ', and with interest since their due dates and fees a letter could reach '
                || cents_text(big.bound_cents) || ', more than it can hold (9999999999999999.99); '
                || 'check the amounts, due dates and interest rates' END AS message
FROM open_items_parsed AS p
JOIN (SELECT * FROM letter_limits WHERE bound_cents > 999999999999999999) AS big
  USING (customer_id, currency)
