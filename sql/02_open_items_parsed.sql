-- open_items_parsed: one row per row of the open-items export, values typed (NULL where
-- the text does not parse), joined with its customer, and flagged `suspect` when a check
-- of a single row will fail (12_item_problems then reads only those rows' text again).
-- doc_type is mapped through [input.open_items] doc_types; an empty doc_type means invoice.
-- With overpaid_invoice = "credit", an overpaid invoice (negative open amount) is a credit_memo.
-- currency is the row's own, or [input.open_items] currency for an export without the column.
-- compensation_charged (default false) and interest_paid_to are the optional columns of
-- SPEC §9.2 and §9.4. Dates more than [run] plausible_years from the run date, and a due
-- date before the document date, make a row suspect too.
-- letter_currency (SPEC §11.1) is the currency of the letter the item goes into, worked out
-- here once for every later stage: its policy's letter_currency, or for "customer" the
-- customer's letter_currency, else the item's own currency (always, without §11 keys).
-- rate_day is the day its exchange rate is taken for when the two differ (NULL otherwise):
-- the run date, or with rate_date = "due_date" its due date (the run date without one),
-- minus rate_days_before.
-- Inputs: raw_open_items (text, or the types of a Parquet export), customers_parsed, cfg_doc_types, cfg_currencies,
-- cfg_policies, cfg_letter_currencies.
WITH
customers AS (
    -- one row per customer id; an id listed twice is a problem of the customers file
    SELECT customer_id, any_value(dunning_blocked) AS dunning_blocked, any_value(grace_until) AS customer_grace_until,
           any_value(interest_rate) AS customer_interest_rate, any_value(policy) AS policy,
           any_value(letter_currency) AS customer_letter_currency
    FROM customers_parsed WHERE customer_id IS NOT NULL GROUP BY customer_id
),
parsed AS (
    SELECT
        r._row,
        blank(r.doc_id)                                   AS doc_id,
        blank(r.customer_id)                              AS customer_id,
        CASE WHEN blank(r.doc_type) IS NULL THEN 'invoice'
             ELSE coalesce(mapped.doc_type, standard.doc_type)
        END                                               AS doc_type,
        parse_date(r.doc_date, $items_date_format)        AS doc_date,
        parse_date(r.due_date, $items_date_format)        AS due_date,
        cur.currency                                      AS currency,
        cur.minor_unit                                    AS minor_unit,
        parse_amount(r.amount, $items_decimal_comma)      AS amount,
        parse_amount(r.open_amount, $items_decimal_comma) AS open_amount,
        CASE WHEN blank(r.dunning_level) IS NULL THEN 0 ELSE parse_int(r.dunning_level) END AS level_before,
        parse_date(r.last_dunned_on, $items_date_format)  AS last_dunned_before,
        parse_bool(r.blocked)                             AS blocked,
        parse_bool(r.disputed)                            AS disputed,
        parse_date(r.grace_until, $items_date_format)     AS grace_until,
        blank(r.branch)                                   AS branch,
        parse_bool(r.compensation_charged)                AS compensation_charged,  -- SPEC §9.2
        parse_date(r.interest_paid_to, $items_date_format) AS interest_paid_to,    -- SPEC §9.4
        -- whether the export holds a value, only to tell "empty" from "does not parse" below
        given(r.doc_date) AS has_doc_date, given(r.due_date) AS has_due_date, given(r.amount) AS has_amount,
        given(r.last_dunned_on) AS has_last_dunned, given(r.blocked) AS has_blocked,
        given(r.disputed) AS has_disputed, given(r.grace_until) AS has_grace,
        given(r.compensation_charged) AS has_compensation_charged,
        given(r.interest_paid_to) AS has_interest_paid_to
    FROM raw_open_items AS r
    LEFT JOIN cfg_doc_types AS mapped ON mapped.export_value = blank(r.doc_type)
    LEFT JOIN cfg_doc_types AS standard
           ON standard.export_value IS NULL AND standard.doc_type = lower(blank(r.doc_type))
    -- [input.open_items] currency ($items_currency) is every row's currency when the export has no column
    LEFT JOIN cfg_currencies AS cur ON cur.currency = upper(coalesce(blank(r.currency), $items_currency))
),
overpaid AS (
    -- [input.open_items] overpaid_invoice = "credit" ($overpaid_credit): a raising item with a
    -- negative open amount is the open credit it is, decided as a credit_memo (else a problem of 12)
    SELECT p.* REPLACE (
        CASE WHEN $overpaid_credit AND p.open_amount < 0 AND p.doc_type IN ('invoice', 'debit_memo', 'fee', 'refund')
             THEN 'credit_memo' ELSE p.doc_type END AS doc_type)
    FROM parsed AS p
),
typed AS (
    SELECT p.*, p.doc_type IN ('invoice', 'debit_memo', 'fee', 'refund') AS is_raising
    FROM overpaid AS p
),
lettered AS (
    -- SPEC §11.1: the letter currency, and the day of the exchange rate when it differs
    SELECT t.*, c.customer_id IS NOT NULL AS customer_known, c.dunning_blocked, c.customer_grace_until,
           c.customer_interest_rate, c.policy,
           CASE WHEN lc.letter_currency IS NULL THEN t.currency
                WHEN lc.letter_currency = 'customer' THEN coalesce(c.customer_letter_currency, t.currency)
                ELSE lc.letter_currency END AS letter_currency,
           lc.rate_date AS rate_date_basis, lc.rate_days_before
    FROM typed AS t
    LEFT JOIN customers AS c USING (customer_id)
    LEFT JOIN cfg_letter_currencies AS lc ON lc.policy = c.policy
)
SELECT
    t._row, t.doc_id, t.customer_id, t.doc_type, t.is_raising, t.doc_date, t.due_date, t.currency,
    t.minor_unit, t.amount, t.open_amount, t.level_before, t.last_dunned_before,
    coalesce(t.blocked, false) AS blocked, coalesce(t.disputed, false) AS disputed,
    t.grace_until, t.branch,
    coalesce(t.compensation_charged, false) AS compensation_charged, t.interest_paid_to,
    t.customer_known,
    t.dunning_blocked, t.customer_grace_until, t.customer_interest_rate,
    t.policy, pol.last_level,
    datediff('day', t.due_date, $as_of::DATE) AS days_past_due,   -- on the run date (SPEC §4.1)
    t.letter_currency,                                             -- SPEC §11.1
    CASE WHEN t.letter_currency <> t.currency
         THEN CAST(CASE WHEN t.rate_date_basis = 'due_date' THEN coalesce(t.due_date, $as_of::DATE)
                        ELSE $as_of::DATE END - t.rate_days_before AS DATE) END AS rate_day,
    -- a check of this row alone will fail (the checks themselves are in 10-15)
    t.doc_id IS NULL OR is_null_word(t.doc_id) OR t.customer_id IS NULL OR is_null_word(t.customer_id)
    OR t.doc_type IS NULL OR t.currency IS NULL OR t.open_amount IS NULL
    OR (t.due_date IS NULL AND (t.has_due_date OR t.is_raising))
    OR (t.doc_date IS NULL AND t.has_doc_date)
    OR (t.last_dunned_before IS NULL AND t.has_last_dunned)
    OR (t.grace_until IS NULL AND t.has_grace)
    OR (t.amount IS NULL AND t.has_amount)
    OR (t.blocked IS NULL AND t.has_blocked) OR (t.disputed IS NULL AND t.has_disputed)
    OR t.level_before IS NULL OR t.level_before < 0
    OR (t.is_raising AND t.open_amount < 0) OR (NOT t.is_raising AND t.open_amount > 0)
    OR (t.minor_unit < 2 AND (round(t.open_amount, 1) <> t.open_amount OR round(t.amount, 1) <> t.amount
                              OR (t.minor_unit = 0 AND (round(t.open_amount, 0) <> t.open_amount
                                                        OR round(t.amount, 0) <> t.amount))))
    OR is_null_word(t.branch)
    OR has_unsafe_id_char(t.doc_id) OR has_unsafe_id_char(t.customer_id)
    OR has_unsafe_id_char(without_line_breaks(t.branch))
    OR too_long(t.doc_id) OR too_long(t.customer_id) OR too_long(t.branch)
    -- dates far from the run date, and a due date before the document's date
    OR implausible(t.due_date, $plausible_from, $plausible_to) OR implausible(t.doc_date, $plausible_from, $plausible_to)
    OR implausible(t.last_dunned_before, $plausible_from, $plausible_to)
    OR implausible(t.grace_until, $plausible_from, $plausible_to)
    OR implausible(t.interest_paid_to, $plausible_from, $plausible_to)
    OR coalesce(t.due_date < t.doc_date, false)
    OR (t.compensation_charged IS NULL AND t.has_compensation_charged)
    OR (t.interest_paid_to IS NULL AND t.has_interest_paid_to)
    AS suspect
FROM lettered AS t
LEFT JOIN cfg_policies AS pol ON pol.policy = t.policy
