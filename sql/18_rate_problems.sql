-- rate_problems: the problems of letters across currencies (SPEC §11.1). Of the exchange
-- rates file (source 'rates'; these always stop a run, strict or not: the rates are reference
-- data, and dropping a row would silently convert at an older rate): a value that does not
-- parse, an unknown currency, a rate that is not a plain decimal above zero with at most 10
-- decimals and 16 integer digits (nor with a thousands separator: '4,309' is 4.309 or 4309),
-- from = to, and a (rate_date, from, to) given twice. Of the lines to convert: an open item
-- (open_amount <> 0) whose letter currency differs from its own, and a payment whose late
-- interest a letter could charge (§9.5: its policy has a late_payment_interest level,
-- paid late, not yet charged), with no rate of the direct pair (item currency -> letter
-- currency; never the inverse or a third currency) on or before its rate day (column
-- currency, kind 'no_rate FROM TO'); and an item whose converted amount would not fit a
-- DECIMAL(18,2), an item of 100 or more (of its currency) whose converted amount rounds to
-- nothing in the letter currency (a rate that turns such a debt into 0.00 is not the pair's
-- rate: a letter would dun it for nothing; a smaller residue may: 0.01 PLN is 0.00 EUR, and
-- 100 of the weakest currencies traded, IDR or VND, is still 0.01 EUR or 0.00), or whose letter
-- could not hold its customer's items converted (column open_amount).
-- Grain: (source, _row, column_name, kind, message). Inputs: rates_parsed, open_items_parsed,
-- payments_parsed, cfg_letter_currencies, cfg_levels, cfg_currencies.
WITH
r AS MATERIALIZED (SELECT * FROM rates_parsed),
usable AS (SELECT * FROM r WHERE usable),
pairs AS (
    SELECT from_currency, to_currency, min(rate_date) AS first_date FROM usable GROUP BY ALL
),
duplicates AS (
    SELECT _row, rate_date, from_currency, to_currency,
           min(_row) OVER (PARTITION BY rate_date, from_currency, to_currency) AS first_row
    FROM r WHERE rate_date IS NOT NULL AND from_currency IS NOT NULL AND to_currency IS NOT NULL
),
-- the lines that need a rate: open items, and payments a late-interest level could charge
needs AS (
    SELECT 'open_items' AS source, 'item' AS what, i._row, i.currency, i.letter_currency, i.rate_day, i.due_date,
           i.policy, i.open_amount
    FROM open_items_parsed AS i
    WHERE i.open_amount <> 0 AND i.letter_currency <> i.currency AND i.rate_day IS NOT NULL
    UNION ALL
    SELECT 'payments', 'payment', p._row, p.currency, p.letter_currency, p.rate_day, p.due_date, p.policy, NULL
    FROM payments_parsed AS p
    WHERE p.letter_currency <> p.currency AND p.rate_day IS NOT NULL
      AND p.paid_on > p.due_date AND NOT p.interest_charged
      AND p.policy IN (SELECT policy FROM cfg_levels WHERE late_payment_interest)
),
matched AS (
    SELECT n.*, u.rate, u.rate_date
    FROM needs AS n
    ASOF LEFT JOIN usable AS u
      ON u.from_currency = n.currency AND u.to_currency = n.letter_currency AND n.rate_day >= u.rate_date
),
described AS (
    SELECT m.*, lc.rate_days_before,
           -- how the rate day was found, as the message says it
           CASE WHEN lc.rate_date = 'due_date' AND m.due_date IS NOT NULL THEN 'due date ' || m.due_date
                WHEN lc.rate_date = 'due_date' THEN 'run date ' || $as_of::DATE || ', no due date'
                ELSE 'run date ' || $as_of::DATE END || ' - ' || lc.rate_days_before || ' days' AS day_rule,
           pr.first_date, inv.from_currency IS NOT NULL AS inverse_given
    FROM matched AS m
    LEFT JOIN cfg_letter_currencies AS lc USING (policy)
    LEFT JOIN pairs AS pr ON pr.from_currency = m.currency AND pr.to_currency = m.letter_currency
    LEFT JOIN pairs AS inv ON inv.from_currency = m.letter_currency AND inv.to_currency = m.currency
),
letter_groups AS (
    -- SPEC §11.1 beside 13_overflow_problems (which bounds each customer and item currency): the
    -- items of one customer and letter currency, converted, with interest and fees at their
    -- highest (at most 250 times the amounts, as 13 takes it) must fit a letter's DECIMAL(18,2)
    SELECT i.customer_id, i.letter_currency,
           sum(abs(CASE WHEN i.letter_currency = i.currency THEN i.open_amount
                        ELSE try(CAST(i.open_amount AS DECIMAL(18, 2)) * m.rate) END)) AS letter_total
    FROM open_items_parsed AS i
    LEFT JOIN matched AS m ON m.source = 'open_items' AND m._row = i._row
    WHERE i.customer_id IS NOT NULL AND i.letter_currency IS NOT NULL AND i.open_amount IS NOT NULL
      AND (i.customer_id, i.letter_currency) IN (SELECT customer_id, letter_currency FROM open_items_parsed
                                                 WHERE letter_currency <> currency)
    GROUP BY ALL
)
SELECT 'rates' AS source, _row, 'rate_date' AS column_name,
       CASE WHEN blank(t_rate_date) IS NULL THEN 'empty' ELSE not_a_kind(t_rate_date, 'not_date') END AS kind,
       CASE WHEN blank(t_rate_date) IS NULL THEN 'is empty; every rate needs the day it is of'
            ELSE not_a(t_rate_date, 'a date in the format ' || $rates_date_format) END AS message
FROM r WHERE rate_date IS NULL
UNION ALL
SELECT 'rates', _row, col,
       CASE WHEN blank(t) IS NULL THEN 'empty' ELSE not_a_kind(t, 'not_currency') END,
       CASE WHEN blank(t) IS NULL THEN 'is empty; every rate needs the ISO 4217 code it converts ' || direction
            ELSE not_a(t, 'a known ISO 4217 currency code') END
FROM (SELECT _row, 'from_currency' AS col, t_from_currency AS t, from_currency AS v, 'from' AS direction FROM r
      UNION ALL SELECT _row, 'to_currency', t_to_currency, to_currency, 'to' FROM r)
WHERE v IS NULL
UNION ALL
SELECT 'rates', _row, 'to_currency', 'same_currency',
       'is ' || to_currency || ', the same as from_currency; a rate converts one currency into another '
       || '(a line in its letter''s own currency needs none)'
FROM r WHERE from_currency = to_currency
UNION ALL
SELECT 'rates', _row, 'rate',
       CASE WHEN blank(t_rate) IS NULL THEN 'empty'
            WHEN rate IS NOT NULL THEN 'not_positive'
            WHEN other_separator THEN 'separator'
            WHEN regexp_full_match(blank(t_rate), '\+?\d{17,}([.,]\d+)?') THEN 'too_large'
            WHEN parts_value(amount_parts(blank(t_rate), $rates_decimal_comma), 38) IS NOT NULL THEN 'too_many_decimals'
            ELSE not_a_kind(t_rate, 'not_rate') END,
       CASE WHEN blank(t_rate) IS NULL THEN 'is empty; every row needs its rate (1 from_currency = rate to_currency)'
            WHEN rate IS NOT NULL THEN 'must be above zero (1 from_currency = rate to_currency), not ' || blank(t_rate)
            WHEN regexp_full_match(blank(t_rate), '\+?\d{17,}([.,]\d+)?')
                 THEN blank(t_rate) || ' is more than a rate can be (at most 16 digits before the decimal '
                      || CASE WHEN $rates_decimal_comma THEN 'comma' ELSE 'point' END || '); check the row'
            WHEN other_separator
                 THEN '''' || blank(t_rate) || ''' holds '
                      || CASE WHEN $rates_decimal_comma THEN '''.''; a rate is plain digits with one decimal comma and '
                                                             || 'no thousands separator (''.'' is the decimal point '
                                                             || 'without decimal_comma under [input.rates])'
                              ELSE ''',''; a rate is plain digits with one decimal point and no thousands separator '
                                   || '(if '','' is its decimal comma, set decimal_comma = true under [input.rates])'
                         END
            WHEN parts_value(amount_parts(blank(t_rate), $rates_decimal_comma), 38) IS NOT NULL
                 THEN blank(t_rate) || ' has more than 10 decimals; give the rate with at most 10'
            ELSE not_a(t_rate, 'a plain decimal rate above zero (digits, one decimal '
                               || CASE WHEN $rates_decimal_comma THEN 'comma' ELSE 'point' END
                               || ', at most 10 decimals, no exponent)') END
FROM (SELECT *,
             -- the separator that is not the decimal one, in a number either way of reading it:
             -- a thousands separator, or a decimal comma the config does not set
             strpos(blank(t_rate), CASE WHEN $rates_decimal_comma THEN '.' ELSE ',' END) > 0
             AND (parts_value(amount_parts(blank(t_rate), $rates_decimal_comma), 10) IS NOT NULL
                  OR parts_value(amount_parts(blank(t_rate), NOT $rates_decimal_comma), 10) IS NOT NULL)
             AS other_separator
      FROM r)
WHERE rate IS NULL OR rate <= 0
UNION ALL
SELECT 'rates', _row, 'rate_date', 'duplicate',
       'repeats the ' || from_currency || '->' || to_currency || ' rate of ' || rate_date || ' (first at row '
       || first_row || '); a pair has one rate a day: keep one row'
FROM duplicates WHERE _row > first_row
UNION ALL
SELECT source, _row, 'currency', 'no_rate ' || currency || ' ' || letter_currency,
       CASE WHEN $rates_file = ''
            THEN 'is ' || currency || ', but policy ''' || policy || ''' writes its letters in ' || letter_currency
                 || ' and the run has no exchange rates; give them with --rates (a ' || currency || '->'
                 || letter_currency || ' rate on or before ' || rate_day || ', the rate day of the ' || what || ': '
                 || day_rule || ')'
            ELSE 'no ' || currency || '->' || letter_currency || ' rate on or before ' || rate_day || ' in '
                 || $rates_file || ' (rate day of the ' || what || ': ' || day_rule || ')'
                 || coalesce('; its first ' || currency || '->' || letter_currency || ' rate is of ' || first_date, '')
                 || CASE WHEN inverse_given THEN '; it has ' || letter_currency || '->' || currency
                         || ' rates, but only the direct pair converts a line' ELSE '' END
                 || '; add a row with rate_date ' || rate_day || ' (or earlier), from_currency ' || currency
                 || ', to_currency ' || letter_currency || ' and the rate (1 ' || currency || ' = rate '
                 || letter_currency || ')' END
FROM described WHERE rate IS NULL
UNION ALL
SELECT source, _row, 'open_amount', 'converted_too_large',
       open_amount || ' ' || currency || ' at the rate ' || rtrim(rtrim(CAST(rate AS VARCHAR), '0'), '.')
       || ' (' || currency || '->' || letter_currency
       || ' of ' || rate_date || ') is more than an amount can hold (9999999999999999.99); check that rate in '
       || $rates_file
FROM described
WHERE rate IS NOT NULL AND coalesce(abs(try(CAST(open_amount AS DECIMAL(18, 2)) * rate)) >= 10000000000000000, true)
  AND open_amount IS NOT NULL
UNION ALL
SELECT d.source, d._row, 'open_amount', 'converted_to_zero',
       d.open_amount || ' ' || d.currency || ' at the rate ' || rtrim(rtrim(CAST(d.rate AS VARCHAR), '0'), '.')
       || ' (' || d.currency || '->' || d.letter_currency || ' of ' || d.rate_date || ') is 0 ' || d.letter_currency
       || ' in its letter; an amount of 100 or more cannot convert into nothing: check that rate in ' || $rates_file
FROM described AS d
JOIN cfg_currencies AS cur ON cur.currency = d.letter_currency
WHERE d.rate IS NOT NULL AND abs(d.open_amount) >= 100
  AND try(in_letter_currency(d.open_amount, d.rate, cur.minor_unit)) = 0
UNION ALL
SELECT 'open_items', i._row, 'open_amount', 'letter_overflow',
       'the open items of customer ''' || i.customer_id || ''' converted into ' || i.letter_currency || ' add up to '
       || rtrim(rtrim(CAST(g.letter_total AS VARCHAR), '0'), '.') || ' ' || i.letter_currency
       || ', and with interest and fees a letter could exceed what it can hold (9999999999999999.99); '
       || 'check the amounts and the rates in ' || $rates_file
FROM open_items_parsed AS i
JOIN letter_groups AS g USING (customer_id, letter_currency)
WHERE i.letter_currency <> i.currency AND i.open_amount <> 0
  AND g.letter_total IS NOT NULL   -- NULL: no item converts (18 says why above)
  AND coalesce(try(g.letter_total * 250) > 9999999999999999.99, true)
