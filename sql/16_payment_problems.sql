-- payment_problems: every problem of a payments row but its payment_id (10_id_problems)
-- (SPEC §9.5): an unknown customer or document, a payment that contradicts its document,
-- values that do not parse, implausible or future dates, unsafe or too long text.
-- Grain: (source, _row, column_name, kind, message), source 'payments'. Inputs: payments_parsed
-- (with the values as exported, as text).
-- With no row in payments_parsed, pipeline.ROWS_FROM makes this relation from sql/problems/none.sql.
WITH
pay AS MATERIALIZED (SELECT * FROM payments_parsed),
-- the text columns, one row each: (row, column, value, the value as the control-character
-- check reads it: a branch may hold line breaks)
payment_texts AS (
    SELECT _row, 'payment_id' AS col, payment_id AS t, payment_id AS checked FROM pay
    UNION ALL SELECT _row, 'customer_id', customer_id, customer_id FROM pay
    UNION ALL SELECT _row, 'doc_id', doc_id, doc_id FROM pay
    UNION ALL SELECT _row, 'branch', branch, without_line_breaks(branch) FROM pay
)
SELECT 'payments' AS source, _row, 'customer_id' AS column_name, customer_id_kind(customer_id) AS kind,
       customer_id_problem(customer_id, 'payment') AS message
FROM pay WHERE customer_id IS NULL OR is_null_word(customer_id) OR NOT customer_known
UNION ALL
SELECT 'payments', _row, 'doc_id', CASE WHEN doc_id IS NULL THEN 'empty' ELSE 'null_word' END,
       CASE WHEN doc_id IS NULL THEN 'is empty; every payment names the document it settled'
            ELSE not_a(doc_id, 'a document id') END
FROM pay WHERE doc_id IS NULL OR is_null_word(doc_id)
UNION ALL
SELECT 'payments', _row, 'currency',
       CASE WHEN blank(t_currency) IS NULL THEN 'empty' ELSE not_a_kind(t_currency, 'not_currency') END,
       CASE WHEN blank(t_currency) IS NULL THEN 'is empty; every payment needs its ISO 4217 currency code'
            ELSE not_a(t_currency, 'a known ISO 4217 currency code') END
FROM pay WHERE currency IS NULL
UNION ALL
SELECT 'payments', _row, 'currency', 'currency_differs_from_document',
       'is ' || currency || ', but document ''' || doc_id || ''' is in ' || doc_currency
       || ' in the open items; a payment settles its document in the document''s currency'
FROM pay WHERE currency <> doc_currency
UNION ALL
SELECT 'payments', _row, 'customer_id', 'customer_differs_from_document',
       'is ''' || customer_id || ''', but document ''' || doc_id || ''' belongs to customer '''
       || doc_customer_id || ''' in the open items'
FROM pay WHERE customer_id <> doc_customer_id
UNION ALL
SELECT 'payments', _row, col,
       CASE WHEN blank(t) IS NULL THEN 'empty' ELSE not_a_kind(t, 'not_date') END,
       CASE WHEN blank(t) IS NULL THEN 'is empty; every payment needs its ' || what
            ELSE not_a(t, 'a date in the format ' || $payments_date_format) END
FROM (SELECT _row, 'due_date' AS col, t_due_date AS t, due_date AS v, 'document''s due date' AS what FROM pay
      UNION ALL SELECT _row, 'paid_on', t_paid_on, paid_on, 'payment date' FROM pay)
WHERE v IS NULL
UNION ALL
SELECT 'payments', _row, col, 'implausible_date', implausible_message(t, v, $as_of::DATE, $plausible_years)
FROM (SELECT _row, 'due_date' AS col, t_due_date AS t, due_date AS v FROM pay
      UNION ALL SELECT _row, 'paid_on', t_paid_on, paid_on FROM pay)
WHERE implausible(v, $plausible_from, $plausible_to) AND NOT (col = 'paid_on' AND v > $as_of::DATE)
UNION ALL
SELECT 'payments', _row, 'paid_on', 'paid_after_run_date', 'is ' || paid_on || ', after the run date ' || $as_of::DATE
       || '; a payment cannot have been made yet'
FROM pay WHERE paid_on > $as_of::DATE
UNION ALL
SELECT 'payments', _row, 'amount',
       CASE WHEN blank(t_amount) IS NULL THEN 'empty' WHEN amount IS NULL THEN not_a_kind(t_amount, 'not_amount')
            WHEN amount <= 0 THEN 'not_positive' ELSE 'too_many_decimals' END,
       CASE WHEN blank(t_amount) IS NULL THEN 'is empty; every payment needs the amount it settled'
            WHEN amount IS NULL THEN not_a(t_amount, 'a plain decimal amount (digits, one decimal ' ||
                 CASE WHEN $payments_decimal_comma THEN 'comma' ELSE 'point' END || ', at most 2 decimals)')
            WHEN amount <= 0 THEN 'must be above zero (the part of the document the payment settled), not '
                                  || blank(t_amount)
            ELSE blank(t_amount) || ' has more decimals than ' || currency || ' allows (' || minor_unit || ')' END
FROM pay
WHERE amount IS NULL OR amount <= 0
   OR CASE minor_unit WHEN 0 THEN round(amount, 0) <> amount WHEN 1 THEN round(amount, 1) <> amount ELSE false END
UNION ALL
SELECT 'payments', _row, 'interest_charged', not_a_kind(t_interest_charged, 'not_bool'), not_a(t_interest_charged, 'true or false')
FROM pay WHERE blank(t_interest_charged) IS NOT NULL AND parse_bool(t_interest_charged) IS NULL
UNION ALL
SELECT 'payments', _row, 'branch', 'null_word', not_a(t_branch, '')
FROM pay WHERE is_null_word(t_branch)
UNION ALL
-- ids may not hold invisible format characters either (00_macros.sql)
SELECT 'payments', _row, col, 'unsafe_char',
       unsafe_id_text(checked)
FROM payment_texts
WHERE has_unsafe_id_char(checked)
UNION ALL
SELECT 'payments', _row, col, 'too_long', too_long_message(t) FROM payment_texts WHERE too_long(t)
