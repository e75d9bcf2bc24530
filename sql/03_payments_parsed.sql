-- payments_parsed: one row per row of the optional payments input (SPEC §9.5, `--payments`),
-- values typed (NULL where the text does not parse; 16_payment_problems says why), with what the
-- checks compare it with: the customer, and the open item of the same doc_id when there is one.
-- letter_currency and rate_day (SPEC §11.1) as 02_open_items_parsed works them out for an item:
-- the currency of the letter the payment's late interest would go into, and when it differs
-- from the payment's, the day of its exchange rate (the payment's due date with
-- rate_date = "due_date").
-- Empty when the run has no payments. Grain: _row.
-- Inputs: raw_payments (text, or the types of a Parquet export), customers_parsed, open_items_parsed, cfg_currencies,
-- cfg_letter_currencies.
WITH
parsed AS (
    SELECT
        r._row,
        blank(r.payment_id)                                  AS payment_id,
        blank(r.customer_id)                                 AS customer_id,
        blank(r.doc_id)                                      AS doc_id,
        cur.currency                                         AS currency,
        cur.minor_unit                                       AS minor_unit,
        parse_date(r.due_date, $payments_date_format)        AS due_date,
        parse_date(r.paid_on, $payments_date_format)         AS paid_on,
        parse_amount(r.amount, $payments_decimal_comma)      AS amount,
        blank(r.branch)                                      AS branch,
        coalesce(parse_bool(r.interest_charged), false)      AS interest_charged,
        -- the values as exported, as text, for the messages of 16_payment_problems
        CAST(r.payment_id AS VARCHAR) AS t_payment_id, CAST(r.customer_id AS VARCHAR) AS t_customer_id,
        CAST(r.doc_id AS VARCHAR) AS t_doc_id, CAST(r.currency AS VARCHAR) AS t_currency,
        CAST(r.due_date AS VARCHAR) AS t_due_date, CAST(r.paid_on AS VARCHAR) AS t_paid_on,
        CAST(r.amount AS VARCHAR) AS t_amount, CAST(r.branch AS VARCHAR) AS t_branch,
        CAST(r.interest_charged AS VARCHAR) AS t_interest_charged
    FROM raw_payments AS r
    LEFT JOIN cfg_currencies AS cur ON cur.currency = upper(blank(r.currency))
),
customers AS (
    SELECT customer_id, any_value(policy) AS policy, any_value(interest_rate) AS customer_interest_rate,
           any_value(letter_currency) AS customer_letter_currency
    FROM customers_parsed WHERE customer_id IS NOT NULL GROUP BY customer_id
),
documents AS (
    -- the open item a payment settled part of, when it is still open (a doc_id listed twice is
    -- a problem of the open items; any one of its rows will do here)
    SELECT doc_id, any_value(customer_id) AS doc_customer_id, any_value(currency) AS doc_currency,
           any_value(branch) AS doc_branch
    FROM open_items_parsed
    WHERE doc_id IN (SELECT blank(doc_id) FROM raw_payments)
    GROUP BY doc_id
)
SELECT p.*, c.customer_id IS NOT NULL AS customer_known, c.policy, c.customer_interest_rate,
       d.doc_customer_id, d.doc_currency, d.doc_branch,
       l.letter_currency,
       CASE WHEN l.letter_currency <> p.currency
            THEN CAST(CASE WHEN lc.rate_date = 'due_date' THEN coalesce(p.due_date, $as_of::DATE)
                           ELSE $as_of::DATE END - lc.rate_days_before AS DATE) END AS rate_day
FROM parsed AS p
LEFT JOIN customers AS c USING (customer_id)
LEFT JOIN documents AS d USING (doc_id)
LEFT JOIN cfg_letter_currencies AS lc ON lc.policy = c.policy
CROSS JOIN LATERAL (
    SELECT CASE WHEN lc.letter_currency IS NULL THEN p.currency
                WHEN lc.letter_currency = 'customer' THEN coalesce(c.customer_letter_currency, p.currency)
                ELSE lc.letter_currency END AS letter_currency
) AS l
