-- problems: one row per problem found in the inputs (SPEC §2.3), before anything is written.
-- Grain: (source, _row, column_name, message); source is 'customers', 'open_items' or
-- 'payments' (SPEC §9.5). Inputs: raw_* (as exported), *_parsed (typed, NULL where
-- unparseable), address_checks (each distinct email field, judged in Python), cfg_*.
WITH
c AS MATERIALIZED (
    SELECT p.*, CAST(r.customer_id AS VARCHAR) AS t_customer_id, CAST(r.name AS VARCHAR) AS t_name,
           CAST(r.dunning_blocked AS VARCHAR) AS t_blocked, CAST(r.grace_until AS VARCHAR) AS t_grace,
           CAST(r.interest_rate AS VARCHAR) AS t_rate, CAST(r.country AS VARCHAR) AS t_country,
           CAST(r.language AS VARCHAR) AS t_language
    FROM customers_parsed AS p JOIN raw_customers AS r USING (_row)
),
customer_ids AS (
    SELECT customer_id, count(*) AS n, min(_row) AS first_row FROM c
    WHERE customer_id IS NOT NULL GROUP BY customer_id
),
i AS MATERIALIZED (
    -- only the rows 02 flagged, with their values as exported (as text), for the messages
    SELECT p.*, CAST(r.doc_id AS VARCHAR) AS t_doc_id, CAST(r.customer_id AS VARCHAR) AS t_customer_id,
           CAST(r.doc_type AS VARCHAR) AS t_doc_type, CAST(r.doc_date AS VARCHAR) AS t_doc_date,
           CAST(r.due_date AS VARCHAR) AS t_due_date, CAST(r.currency AS VARCHAR) AS t_currency,
           CAST(r.amount AS VARCHAR) AS t_amount, CAST(r.open_amount AS VARCHAR) AS t_open_amount,
           CAST(r.dunning_level AS VARCHAR) AS t_level, CAST(r.last_dunned_on AS VARCHAR) AS t_last_dunned,
           CAST(r.blocked AS VARCHAR) AS t_blocked, CAST(r.disputed AS VARCHAR) AS t_disputed,
           CAST(r.grace_until AS VARCHAR) AS t_grace, CAST(r.branch AS VARCHAR) AS t_branch,
           CAST(r.compensation_charged AS VARCHAR) AS t_compensation_charged,
           CAST(r.interest_paid_to AS VARCHAR) AS t_interest_paid_to
    FROM open_items_parsed AS p
    JOIN raw_open_items AS r USING (_row)
    WHERE p.suspect
),
doc_ids AS (
    -- grouping the 64-bit hashes of the ids first leaves only the few candidates to group by text
    SELECT doc_id, count(*) AS n, min(_row) AS first_row FROM open_items_parsed
    WHERE doc_id IS NOT NULL
      AND hash(doc_id) IN (SELECT hash(doc_id) FROM open_items_parsed WHERE doc_id IS NOT NULL
                           GROUP BY hash(doc_id) HAVING count(*) > 1)
    GROUP BY doc_id HAVING count(*) > 1
),
-- the (policy, currency) pairs of the export, found in one pass
pairs AS MATERIALIZED (
    SELECT DISTINCT policy, currency FROM open_items_parsed WHERE policy IS NOT NULL AND currency IS NOT NULL
),
policy_currencies AS (
    -- only for the policies whose levels have per-currency tables of SPEC §9
    SELECT policy, currency FROM pairs
    WHERE policy IN (SELECT policy FROM cfg_levels
                     WHERE fee_kind = 'tiers' OR has_fee_min_table OR has_fee_max_table OR compensation = 'eu')
),
-- (policy, currency) pairs whose config tables lack the currency (SPEC §3.2)
money_gaps AS (
    SELECT i.policy, i.currency, 'min_amount' AS setting
    FROM pairs AS i JOIN cfg_policies AS p USING (policy)
    WHERE p.has_min_amount
      AND NOT EXISTS (SELECT 1 FROM cfg_min_amounts m WHERE m.policy = i.policy AND m.currency = i.currency)
    UNION ALL
    SELECT i.policy, i.currency, 'fee of level ' || l.level
    FROM pairs AS i JOIN cfg_levels AS l USING (policy)
    WHERE l.has_fee_table
      AND NOT EXISTS (SELECT 1 FROM cfg_level_fees f
                      WHERE f.policy = i.policy AND f.level = l.level AND f.currency = i.currency)
    UNION ALL
    SELECT i.policy, i.currency, 'interest min_amount'
    FROM pairs AS i JOIN cfg_policies AS p USING (policy)
    WHERE p.has_interest_min AND p.charges_interest
      AND NOT EXISTS (SELECT 1 FROM cfg_interest_min_amounts m
                      WHERE m.policy = i.policy AND m.currency = i.currency)
    UNION ALL
    -- SPEC §9.1, §9.2: the money rules' own per-currency tables
    SELECT pc.policy, pc.currency, kind.setting || ' of level ' || l.level
    FROM policy_currencies AS pc JOIN cfg_levels AS l USING (policy)
    CROSS JOIN LATERAL (
        SELECT 'fee_tiers' AS setting WHERE l.fee_kind = 'tiers' AND NOT EXISTS (
            SELECT 1 FROM cfg_fee_tiers t WHERE t.policy = pc.policy AND t.level = l.level AND t.currency = pc.currency)
        UNION ALL
        SELECT 'fee_min' WHERE l.has_fee_min_table AND NOT EXISTS (
            SELECT 1 FROM cfg_fee_limits f WHERE f.policy = pc.policy AND f.level = l.level
                                             AND f.currency = pc.currency AND f.fee_min IS NOT NULL)
        UNION ALL
        SELECT 'fee_max' WHERE l.has_fee_max_table AND NOT EXISTS (
            SELECT 1 FROM cfg_fee_limits f WHERE f.policy = pc.policy AND f.level = l.level
                                             AND f.currency = pc.currency AND f.fee_max IS NOT NULL)
    ) AS kind
    UNION ALL
    SELECT pc.policy, pc.currency, 'compensation_amount (a level has compensation = "eu")'
    FROM policy_currencies AS pc
    WHERE pc.policy IN (SELECT policy FROM cfg_levels WHERE compensation = 'eu')
      AND NOT EXISTS (SELECT 1 FROM cfg_compensation_amounts a WHERE a.policy = pc.policy AND a.currency = pc.currency)
),
-- SPEC §9.2: invoices of a policy that charges the UK compensation (GBP, by the original amount)
uk_invoices AS (
    SELECT i._row, i.currency, i.amount, i.compensation_charged, i.policy,
           (SELECT min(level) FROM cfg_levels AS l WHERE l.policy = i.policy AND l.compensation = 'uk') AS uk_level
    FROM open_items_parsed AS i
    WHERE i.doc_type = 'invoice' AND i.policy IN (SELECT policy FROM cfg_levels WHERE compensation = 'uk')
),
-- SPEC §9.5: the payments input, when given
pay AS MATERIALIZED (SELECT * FROM payments_parsed),
-- the text columns of items and payments, one row each: (row, column, value, the value as
-- the control-character check reads it: a branch may hold line breaks)
item_texts AS (
    SELECT _row, 'doc_id' AS col, doc_id AS t, doc_id AS checked FROM i
    UNION ALL SELECT _row, 'customer_id', customer_id, customer_id FROM i
    UNION ALL SELECT _row, 'branch', branch, without_line_breaks(branch) FROM i
),
payment_texts AS (
    SELECT _row, 'payment_id' AS col, payment_id AS t, payment_id AS checked FROM pay
    UNION ALL SELECT _row, 'customer_id', customer_id, customer_id FROM pay
    UNION ALL SELECT _row, 'doc_id', doc_id, doc_id FROM pay
    UNION ALL SELECT _row, 'branch', branch, without_line_breaks(branch) FROM pay
),
payment_ids AS (
    SELECT payment_id, count(*) AS n, min(_row) AS first_row FROM pay
    WHERE payment_id IS NOT NULL GROUP BY payment_id HAVING count(*) > 1
),
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

-- customers -------------------------------------------------------------------------
SELECT 'customers' AS source, _row, 'customer_id' AS column_name,
       CASE WHEN t_customer_id IS NULL OR blank(t_customer_id) IS NULL THEN 'is empty; every customer needs an id'
            ELSE not_a(t_customer_id, 'a customer id') END AS message
FROM c WHERE customer_id IS NULL OR is_null_word(customer_id)
UNION ALL
SELECT 'customers', c._row, 'customer_id',
       '''' || c.customer_id || ''' appears ' || ids.n || ' times (first at row ' || ids.first_row
       || '); each customer must be listed once'
FROM c JOIN customer_ids AS ids USING (customer_id) WHERE ids.n > 1
UNION ALL
SELECT 'customers', _row, 'name',
       CASE WHEN name IS NULL THEN 'is empty; every customer needs a name' ELSE not_a(name, 'a name') END
FROM c WHERE name IS NULL OR is_null_word(name)
UNION ALL
SELECT 'customers', _row, 'dunning_blocked', not_a(t_blocked, 'true or false')
FROM c WHERE blank(t_blocked) IS NOT NULL AND parse_bool(t_blocked) IS NULL
UNION ALL
SELECT 'customers', _row, 'grace_until', not_a(t_grace, 'a date in the format ' || $customers_date_format)
FROM c WHERE blank(t_grace) IS NOT NULL AND grace_until IS NULL
UNION ALL
SELECT 'customers', _row, 'grace_until', implausible_message(t_grace, grace_until, $as_of::DATE, $plausible_years)
FROM c WHERE implausible(grace_until, $plausible_from, $plausible_to)
UNION ALL
SELECT 'customers', _row, 'interest_rate',
       CASE WHEN rate_given IS NOT NULL THEN 'must be a percent from 0 to 100, not ' || trim(t_rate)
            ELSE not_a(t_rate, 'a percent rate (a plain decimal, at most 6 decimals)') END
FROM c WHERE blank(t_rate) IS NOT NULL AND interest_rate IS NULL
UNION ALL
SELECT 'customers', _row, 'country', not_a(t_country, 'an ISO 3166-1 alpha-2 country code')
FROM c WHERE country IS NOT NULL AND NOT regexp_full_match(country, '[A-Z]{2}')
UNION ALL
SELECT 'customers', _row, 'language', not_a(t_language, 'a language code such as en, de, fr or pl')
FROM c WHERE NOT regexp_full_match(language, '[a-z]{2,3}([_-][a-z]{2})?')
UNION ALL
SELECT 'customers', _row, 'delivery', not_a(delivery, 'a delivery channel (email, print or both)')
FROM c WHERE delivery NOT IN ('email', 'print', 'both')
UNION ALL
SELECT 'customers', c._row, 'email',
       CASE WHEN c.email IS NULL THEN 'is empty, but delivery ''' || c.delivery || ''' needs an email address'
            ELSE '''' || c.email || ''' is not a well-formed email address: ' || a.problem
                 || '; give plain addresses local@domain, several separated by ;' END
FROM c LEFT JOIN address_checks AS a USING (email)  -- judged by delivery's own parser (addresses.py)
WHERE c.delivery IN ('email', 'both') AND (c.email IS NULL OR a.problem IS NOT NULL)
UNION ALL
-- text holding control characters (00_macros.sql); an address that goes out is judged above
SELECT 'customers', _row, col, unsafe_text(t, checked)
FROM (SELECT _row, 'customer_id' AS col, customer_id AS t, customer_id AS checked FROM c
      UNION ALL SELECT _row, 'name', name, without_line_breaks(name) FROM c
      UNION ALL SELECT _row, 'address', address, without_line_breaks(address) FROM c
      UNION ALL SELECT _row, 'customer_class', customer_class, customer_class FROM c
      UNION ALL SELECT _row, 'policy', policy_named, policy_named FROM c
      UNION ALL SELECT _row, 'postal_code', postal_code, postal_code FROM c
      UNION ALL SELECT _row, 'email', email, email FROM c WHERE delivery NOT IN ('email', 'both'))
WHERE has_unsafe_char(checked)
UNION ALL
SELECT 'customers', _row, 'policy',
       'names policy ''' || policy_named || ''', which the config does not define'
FROM c WHERE policy_named IS NOT NULL AND policy IS NULL
UNION ALL
SELECT 'customers', _row, col, too_long_message(v)
FROM (SELECT _row, 'customer_id' AS col, customer_id AS v FROM c
      UNION ALL SELECT _row, 'name', name FROM c
      UNION ALL SELECT _row, 'address', address FROM c
      UNION ALL SELECT _row, 'email', email FROM c
      UNION ALL SELECT _row, 'postal_code', postal_code FROM c
      UNION ALL SELECT _row, 'customer_class', customer_class FROM c
      UNION ALL SELECT _row, 'policy', policy_named FROM c)
WHERE too_long(v)

-- open items ------------------------------------------------------------------------
UNION ALL
SELECT 'open_items', _row, 'doc_id',
       CASE WHEN doc_id IS NULL THEN 'is empty; every item needs a document id' ELSE not_a(doc_id, 'a document id') END
FROM i WHERE doc_id IS NULL OR is_null_word(doc_id)
UNION ALL
SELECT 'open_items', p._row, 'doc_id',
       '''' || p.doc_id || ''' appears ' || ids.n || ' times (first at row ' || ids.first_row
       || '); document ids must be unique'
FROM open_items_parsed AS p JOIN doc_ids AS ids USING (doc_id)
UNION ALL
SELECT 'open_items', _row, 'customer_id',
       CASE WHEN customer_id IS NULL THEN 'is empty; every item needs a customer'
            WHEN is_null_word(customer_id) THEN not_a(customer_id, '')
            ELSE 'customer ''' || customer_id || ''' is not in the customers file' END
FROM open_items_parsed
WHERE NOT customer_known OR (suspect AND (customer_id IS NULL OR is_null_word(customer_id)))
UNION ALL
SELECT 'open_items', _row, 'doc_type',
       not_a(t_doc_type, 'a known document type (invoice, debit_memo, fee, refund, credit_memo, payment, '
                         || 'prepayment, or one mapped in [input.open_items] doc_types)')
FROM i WHERE doc_type IS NULL
UNION ALL
SELECT 'open_items', _row, 'due_date',
       CASE WHEN blank(t_due_date) IS NULL THEN 'is empty; a ' || doc_type || ' needs a due date'
            ELSE not_a(t_due_date, 'a date in the format ' || $items_date_format) END
FROM i WHERE due_date IS NULL AND (blank(t_due_date) IS NOT NULL OR is_raising)
UNION ALL
SELECT 'open_items', _row, col, not_a(t, 'a date in the format ' || $items_date_format)
FROM (SELECT _row, 'doc_date' AS col, t_doc_date AS t, doc_date AS v FROM i
      UNION ALL SELECT _row, 'last_dunned_on', t_last_dunned, last_dunned_before FROM i
      UNION ALL SELECT _row, 'grace_until', t_grace, grace_until FROM i)
WHERE blank(t) IS NOT NULL AND v IS NULL
UNION ALL
-- dates more than plausible_years from the run date: a mistyped year, never years of interest
SELECT 'open_items', _row, col, implausible_message(t, v, $as_of::DATE, $plausible_years)
FROM (SELECT _row, 'due_date' AS col, t_due_date AS t, due_date AS v FROM i
      UNION ALL SELECT _row, 'doc_date', t_doc_date, doc_date FROM i
      UNION ALL SELECT _row, 'last_dunned_on', t_last_dunned, last_dunned_before FROM i
      UNION ALL SELECT _row, 'grace_until', t_grace, grace_until FROM i
      UNION ALL SELECT _row, 'interest_paid_to', t_interest_paid_to, interest_paid_to FROM i)
WHERE implausible(v, $plausible_from, $plausible_to)
UNION ALL
SELECT 'open_items', _row, 'due_date',
       '''' || trim(t_due_date) || ''' is before the doc_date ''' || trim(t_doc_date)
       || '''; a document falls due on or after its date'
FROM i WHERE due_date < doc_date
UNION ALL
SELECT 'open_items', _row, 'currency',
       CASE WHEN blank(t_currency) IS NULL THEN 'is empty; every item needs its ISO 4217 currency code'
            ELSE not_a(t_currency, 'a known ISO 4217 currency code') END
FROM i WHERE currency IS NULL
UNION ALL
SELECT 'open_items', _row, col,
       CASE WHEN blank(t) IS NULL THEN 'is empty; every item needs its open amount'
            WHEN v IS NOT NULL THEN trim(t) || ' has more decimals than ' || currency || ' allows ('
                                    || minor_unit || ')'
            ELSE not_a(t, 'a plain decimal amount (digits, one decimal ' ||
                          CASE WHEN $items_decimal_comma THEN 'comma' ELSE 'point' END ||
                          ', at most 2 decimals, at most 16 integer digits)') END
FROM (SELECT _row, 'open_amount' AS col, t_open_amount AS t, open_amount AS v, currency, minor_unit FROM i
      UNION ALL SELECT _row, 'amount', t_amount, amount, currency, minor_unit FROM i)
WHERE (col = 'open_amount' AND blank(t) IS NULL)
   OR (blank(t) IS NOT NULL AND v IS NULL)
   OR (v IS NOT NULL AND CASE minor_unit WHEN 0 THEN round(v, 0) <> v WHEN 1 THEN round(v, 1) <> v
                                       ELSE false END)
UNION ALL
SELECT 'open_items', _row, 'open_amount',
       trim(t_open_amount) || ' contradicts doc_type ' || doc_type || ' (' ||
       CASE WHEN is_raising THEN 'an open ' || doc_type || ' is positive'
            ELSE 'an open ' || doc_type || ' is negative' END || ')'
FROM i WHERE (is_raising AND open_amount < 0) OR (NOT is_raising AND open_amount > 0)
UNION ALL
SELECT 'open_items', _row, 'dunning_level',
       CASE WHEN level_before IS NULL THEN not_a(t_level, 'a whole number')
            ELSE 'must not be negative, not ' || level_before END
FROM i WHERE level_before IS NULL OR level_before < 0
UNION ALL
SELECT 'open_items', _row, 'dunning_level',
       'level ' || level_before || ' is above the last level (' || last_level
       || ') of policy ''' || policy || ''''
FROM open_items_parsed WHERE level_before > last_level
UNION ALL
SELECT 'open_items', _row, col, not_a(t, 'true or false')
FROM (SELECT _row, 'blocked' AS col, t_blocked AS t FROM i
      UNION ALL SELECT _row, 'disputed', t_disputed FROM i)
WHERE blank(t) IS NOT NULL AND parse_bool(t) IS NULL
UNION ALL
SELECT 'open_items', _row, 'branch', not_a(t_branch, '')
FROM i WHERE is_null_word(t_branch)
UNION ALL
SELECT 'open_items', _row, col, unsafe_text(t, checked) FROM item_texts WHERE has_unsafe_char(checked)
UNION ALL
SELECT 'open_items', _row, col, too_long_message(t) FROM item_texts WHERE too_long(t)
UNION ALL
-- a letter's total must fit DECIMAL(18,2): the items of one customer and currency may
-- not add up to more than its largest value, nor reach it with interest and fees (letter_limits)
SELECT 'open_items', p._row, 'open_amount',
       'the open items of customer ''' || p.customer_id || ''' in ' || p.currency || ' add up to '
       || cents_text(big.open_cents) || CASE
           WHEN big.open_cents > 999999999999999999 THEN ', more than a letter can hold (9999999999999999.99); '
                                                         || 'check the amounts'
           ELSE ', and with interest since their due dates and fees a letter could reach '
                || cents_text(big.bound_cents) || ', more than it can hold (9999999999999999.99); '
                || 'check the amounts, due dates and interest rates' END
FROM open_items_parsed AS p
JOIN (SELECT * FROM letter_limits WHERE bound_cents > 999999999999999999) AS big
  USING (customer_id, currency)
UNION ALL
SELECT 'open_items', i._row, 'currency',
       'policy ''' || g.policy || ''' has no ' || g.setting || ' for ' || g.currency
       || '; add ' || g.currency || ' to that table in the config'
FROM open_items_parsed AS i JOIN money_gaps AS g USING (policy, currency)

-- open items: the columns of SPEC §9.2 and §9.4 ----------------------------------
UNION ALL
SELECT 'open_items', _row, 'compensation_charged', not_a(t_compensation_charged, 'true or false')
FROM i WHERE blank(t_compensation_charged) IS NOT NULL AND parse_bool(t_compensation_charged) IS NULL
UNION ALL
SELECT 'open_items', _row, 'interest_paid_to', not_a(t_interest_paid_to, 'a date in the format ' || $items_date_format)
FROM i WHERE blank(t_interest_paid_to) IS NOT NULL AND interest_paid_to IS NULL
UNION ALL
SELECT 'open_items', _row, 'currency',
       'is ' || currency || ', but policy ''' || policy || ''' charges the UK compensation (level ' || uk_level
       || ' has compensation = "uk"), which is in GBP only'
FROM uk_invoices WHERE currency <> 'GBP'
UNION ALL
SELECT 'open_items', _row, 'amount',
       'is empty, but policy ''' || policy || ''' charges the UK compensation (level ' || uk_level
       || ' has compensation = "uk"), which is set by the invoice''s original amount'
FROM uk_invoices WHERE amount IS NULL AND NOT compensation_charged

-- payments (SPEC §9.5) ------------------------------------------------------------
UNION ALL
SELECT 'payments', _row, 'payment_id',
       CASE WHEN payment_id IS NULL THEN 'is empty; every payment needs an id' ELSE not_a(payment_id, 'a payment id') END
FROM pay WHERE payment_id IS NULL OR is_null_word(payment_id)
UNION ALL
SELECT 'payments', pay._row, 'payment_id',
       '''' || pay.payment_id || ''' appears ' || ids.n || ' times (first at row ' || ids.first_row
       || '); payment ids must be unique'
FROM pay JOIN payment_ids AS ids USING (payment_id)
UNION ALL
SELECT 'payments', _row, 'customer_id',
       CASE WHEN customer_id IS NULL THEN 'is empty; every payment needs a customer'
            WHEN is_null_word(customer_id) THEN not_a(customer_id, '')
            ELSE 'customer ''' || customer_id || ''' is not in the customers file' END
FROM pay WHERE customer_id IS NULL OR is_null_word(customer_id) OR NOT customer_known
UNION ALL
SELECT 'payments', _row, 'doc_id',
       CASE WHEN doc_id IS NULL THEN 'is empty; every payment names the document it settled'
            ELSE not_a(doc_id, 'a document id') END
FROM pay WHERE doc_id IS NULL OR is_null_word(doc_id)
UNION ALL
SELECT 'payments', _row, 'currency',
       CASE WHEN blank(t_currency) IS NULL THEN 'is empty; every payment needs its ISO 4217 currency code'
            ELSE not_a(t_currency, 'a known ISO 4217 currency code') END
FROM pay WHERE currency IS NULL
UNION ALL
SELECT 'payments', _row, 'currency',
       'is ' || currency || ', but document ''' || doc_id || ''' is in ' || doc_currency
       || ' in the open items; a payment settles its document in the document''s currency'
FROM pay WHERE currency <> doc_currency
UNION ALL
SELECT 'payments', _row, 'customer_id',
       'is ''' || customer_id || ''', but document ''' || doc_id || ''' belongs to customer '''
       || doc_customer_id || ''' in the open items'
FROM pay WHERE customer_id <> doc_customer_id
UNION ALL
SELECT 'payments', _row, col,
       CASE WHEN blank(t) IS NULL THEN 'is empty; every payment needs its ' || what
            ELSE not_a(t, 'a date in the format ' || $payments_date_format) END
FROM (SELECT _row, 'due_date' AS col, t_due_date AS t, due_date AS v, 'document''s due date' AS what FROM pay
      UNION ALL SELECT _row, 'paid_on', t_paid_on, paid_on, 'payment date' FROM pay)
WHERE v IS NULL
UNION ALL
SELECT 'payments', _row, col, implausible_message(t, v, $as_of::DATE, $plausible_years)
FROM (SELECT _row, 'due_date' AS col, t_due_date AS t, due_date AS v FROM pay
      UNION ALL SELECT _row, 'paid_on', t_paid_on, paid_on FROM pay)
WHERE implausible(v, $plausible_from, $plausible_to) AND NOT (col = 'paid_on' AND v > $as_of::DATE)
UNION ALL
SELECT 'payments', _row, 'paid_on', 'is ' || paid_on || ', after the run date ' || $as_of::DATE
       || '; a payment cannot have been made yet'
FROM pay WHERE paid_on > $as_of::DATE
UNION ALL
SELECT 'payments', _row, 'amount',
       CASE WHEN blank(t_amount) IS NULL THEN 'is empty; every payment needs the amount it settled'
            WHEN amount IS NULL THEN not_a(t_amount, 'a plain decimal amount (digits, one decimal ' ||
                 CASE WHEN $payments_decimal_comma THEN 'comma' ELSE 'point' END || ', at most 2 decimals)')
            WHEN amount <= 0 THEN 'must be above zero (the part of the document the payment settled), not '
                                  || trim(t_amount)
            ELSE trim(t_amount) || ' has more decimals than ' || currency || ' allows (' || minor_unit || ')' END
FROM pay
WHERE amount IS NULL OR amount <= 0
   OR CASE minor_unit WHEN 0 THEN round(amount, 0) <> amount WHEN 1 THEN round(amount, 1) <> amount ELSE false END
UNION ALL
SELECT 'payments', _row, 'interest_charged', not_a(t_interest_charged, 'true or false')
FROM pay WHERE blank(t_interest_charged) IS NOT NULL AND parse_bool(t_interest_charged) IS NULL
UNION ALL
SELECT 'payments', _row, 'branch', not_a(t_branch, '')
FROM pay WHERE is_null_word(t_branch)
UNION ALL
SELECT 'payments', _row, col, unsafe_text(t, checked) FROM payment_texts WHERE has_unsafe_char(checked)
UNION ALL
SELECT 'payments', _row, col, too_long_message(t) FROM payment_texts WHERE too_long(t)
