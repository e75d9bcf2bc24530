-- item_problems: every problem of an open items row but its doc_id (10_id_problems), the
-- letters' overflow guard (13), the config's coverage (14) and the columns of the money
-- rules (15): an unknown customer, values that do not parse or contradict each other,
-- implausible dates, unsafe or too long text (SPEC §2.1, §2.3).
-- Grain: (source, _row, column_name, kind, message), source 'open_items'.
-- Inputs: open_items_parsed, raw_open_items (the values as exported).
WITH
i AS MATERIALIZED (
    -- only the rows 02 flagged, with their values as exported (as text), for the messages
    SELECT p.*, CAST(r.doc_type AS VARCHAR) AS t_doc_type, CAST(r.doc_date AS VARCHAR) AS t_doc_date,
           CAST(r.due_date AS VARCHAR) AS t_due_date, CAST(r.currency AS VARCHAR) AS t_currency,
           CAST(r.amount AS VARCHAR) AS t_amount, CAST(r.open_amount AS VARCHAR) AS t_open_amount,
           CAST(r.dunning_level AS VARCHAR) AS t_level, CAST(r.last_dunned_on AS VARCHAR) AS t_last_dunned,
           CAST(r.blocked AS VARCHAR) AS t_blocked, CAST(r.disputed AS VARCHAR) AS t_disputed,
           CAST(r.grace_until AS VARCHAR) AS t_grace, CAST(r.branch AS VARCHAR) AS t_branch,
           CAST(r.interest_paid_to AS VARCHAR) AS t_interest_paid_to
    FROM open_items_parsed AS p
    JOIN raw_open_items AS r USING (_row)
    WHERE p.suspect
),
-- the text columns, one row each: (row, column, value, the value as
-- the control-character check reads it: a branch may hold line breaks)
item_texts AS (
    SELECT _row, 'doc_id' AS col, doc_id AS t, doc_id AS checked FROM i
    UNION ALL SELECT _row, 'customer_id', customer_id, customer_id FROM i
    UNION ALL SELECT _row, 'branch', branch, without_line_breaks(branch) FROM i
)
SELECT 'open_items' AS source, _row, 'customer_id' AS column_name, customer_id_kind(customer_id) AS kind,
       customer_id_problem(customer_id, 'item') AS message
FROM open_items_parsed
WHERE NOT customer_known OR (suspect AND (customer_id IS NULL OR is_null_word(customer_id)))
UNION ALL
SELECT 'open_items', _row, 'doc_type', not_a_kind(t_doc_type, 'not_doc_type'),
       not_a(t_doc_type, 'a known document type (invoice, debit_memo, fee, refund, credit_memo, payment, '
                         || 'prepayment, or one mapped in [input.open_items] doc_types)')
FROM i WHERE doc_type IS NULL
UNION ALL
SELECT 'open_items', _row, 'due_date',
       CASE WHEN blank(t_due_date) IS NULL THEN 'empty' ELSE not_a_kind(t_due_date, 'not_date') END,
       CASE WHEN blank(t_due_date) IS NULL THEN 'is empty; a ' || doc_type || ' needs a due date'
            ELSE not_a(t_due_date, 'a date in the format ' || $items_date_format) END
FROM i WHERE due_date IS NULL AND (blank(t_due_date) IS NOT NULL OR is_raising)
UNION ALL
SELECT 'open_items', _row, col, not_a_kind(t, 'not_date'), not_a(t, 'a date in the format ' || $items_date_format)
FROM (SELECT _row, 'doc_date' AS col, t_doc_date AS t, doc_date AS v FROM i
      UNION ALL SELECT _row, 'last_dunned_on', t_last_dunned, last_dunned_before FROM i
      UNION ALL SELECT _row, 'grace_until', t_grace, grace_until FROM i)
WHERE blank(t) IS NOT NULL AND v IS NULL
UNION ALL
-- dates more than plausible_years from the run date: a mistyped year, never years of interest
SELECT 'open_items', _row, col, 'implausible_date', implausible_message(t, v, $as_of::DATE, $plausible_years)
FROM (SELECT _row, 'due_date' AS col, t_due_date AS t, due_date AS v FROM i
      UNION ALL SELECT _row, 'doc_date', t_doc_date, doc_date FROM i
      UNION ALL SELECT _row, 'last_dunned_on', t_last_dunned, last_dunned_before FROM i
      UNION ALL SELECT _row, 'grace_until', t_grace, grace_until FROM i
      UNION ALL SELECT _row, 'interest_paid_to', t_interest_paid_to, interest_paid_to FROM i)
WHERE implausible(v, $plausible_from, $plausible_to)
UNION ALL
SELECT 'open_items', _row, 'due_date', 'due_before_doc_date',
       '''' || blank(t_due_date) || ''' is before the doc_date ''' || blank(t_doc_date)
       || '''; a document falls due on or after its date'
FROM i WHERE due_date < doc_date
UNION ALL
SELECT 'open_items', _row, 'currency',
       CASE WHEN blank(t_currency) IS NULL THEN 'empty' ELSE not_a_kind(t_currency, 'not_currency') END,
       CASE WHEN blank(t_currency) IS NULL THEN 'is empty; every item needs its ISO 4217 currency code'
            ELSE not_a(t_currency, 'a known ISO 4217 currency code') END
FROM i WHERE currency IS NULL
UNION ALL
SELECT 'open_items', _row, col,
       CASE WHEN blank(t) IS NULL THEN 'empty' WHEN v IS NOT NULL THEN 'too_many_decimals'
            ELSE not_a_kind(t, 'not_amount') END,
       CASE WHEN blank(t) IS NULL THEN 'is empty; every item needs its open amount'
            WHEN v IS NOT NULL THEN blank(t) || ' has more decimals than ' || currency || ' allows ('
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
SELECT 'open_items', _row, 'open_amount', 'sign_contradicts_doc_type',
       blank(t_open_amount) || ' contradicts doc_type ' || doc_type || ' (' ||
       CASE WHEN is_raising THEN 'an open ' || doc_type || ' is positive'
            ELSE 'an open ' || doc_type || ' is negative' END || ')'
FROM i WHERE (is_raising AND open_amount < 0) OR (NOT is_raising AND open_amount > 0)
UNION ALL
SELECT 'open_items', _row, 'dunning_level',
       CASE WHEN level_before IS NULL THEN not_a_kind(t_level, 'not_whole_number') ELSE 'negative_level' END,
       CASE WHEN level_before IS NULL THEN not_a(t_level, 'a whole number')
            ELSE 'must not be negative, not ' || level_before END
FROM i WHERE level_before IS NULL OR level_before < 0
UNION ALL
SELECT 'open_items', _row, 'dunning_level', 'level_above_last',
       'level ' || level_before || ' is above the last level (' || last_level
       || ') of policy ''' || policy || ''''
FROM open_items_parsed WHERE level_before > last_level
UNION ALL
SELECT 'open_items', _row, col, not_a_kind(t, 'not_bool'), not_a(t, 'true or false')
FROM (SELECT _row, 'blocked' AS col, t_blocked AS t FROM i
      UNION ALL SELECT _row, 'disputed', t_disputed FROM i)
WHERE blank(t) IS NOT NULL AND parse_bool(t) IS NULL
UNION ALL
SELECT 'open_items', _row, 'branch', 'null_word', not_a(t_branch, '')
FROM i WHERE is_null_word(t_branch)
UNION ALL
-- ids may not hold invisible format characters either (00_macros.sql)
SELECT 'open_items', _row, col, 'unsafe_char',
       unsafe_id_text(checked)
FROM item_texts
WHERE has_unsafe_id_char(checked)
UNION ALL
SELECT 'open_items', _row, col, 'too_long', too_long_message(t) FROM item_texts WHERE too_long(t)
