-- money_rule_problems: the problems of the open items' columns of the money rules (SPEC
-- §9.2, §9.4): compensation_charged and interest_paid_to that do not parse, and an invoice
-- of a policy that charges the UK compensation, which is in GBP (the letter's currency, SPEC
-- §11.1) and set by the original amount. Grain: (source, _row, column_name, kind, message),
-- source 'open_items'.
-- Inputs: open_items_parsed, raw_open_items (the values as exported), cfg_levels.
WITH
i AS MATERIALIZED (
    -- only the rows 02 flagged, with their values as exported (as text), for the messages
    SELECT p.*, CAST(r.compensation_charged AS VARCHAR) AS t_compensation_charged,
           CAST(r.interest_paid_to AS VARCHAR) AS t_interest_paid_to
    FROM open_items_parsed AS p
    JOIN raw_open_items AS r USING (_row)
    WHERE p.suspect
),
-- SPEC §9.2: invoices of a policy that charges the UK compensation (GBP, by the original amount)
uk_invoices AS (
    SELECT i._row, i.letter_currency AS currency, i.amount, i.compensation_charged, i.policy,
           (SELECT min(level) FROM cfg_levels AS l WHERE l.policy = i.policy AND l.compensation = 'uk') AS uk_level
    FROM open_items_parsed AS i
    WHERE i.doc_type = 'invoice' AND i.policy IN (SELECT policy FROM cfg_levels WHERE compensation = 'uk')
)
SELECT 'open_items' AS source, _row, 'compensation_charged' AS column_name,
       not_a_kind(t_compensation_charged, 'not_bool') AS kind,
       not_a(t_compensation_charged, 'true or false') AS message
FROM i WHERE blank(t_compensation_charged) IS NOT NULL AND parse_bool(t_compensation_charged) IS NULL
UNION ALL
SELECT 'open_items', _row, 'interest_paid_to', not_a_kind(t_interest_paid_to, 'not_date'), not_a(t_interest_paid_to, 'a date in the format ' || $items_date_format)
FROM i WHERE blank(t_interest_paid_to) IS NOT NULL AND interest_paid_to IS NULL
UNION ALL
SELECT 'open_items', _row, 'currency', 'uk_compensation_currency',
       'is ' || currency || ', but policy ''' || policy || ''' charges the UK compensation (level ' || uk_level
       || ' has compensation = "uk"), which is in GBP only'
FROM uk_invoices WHERE currency <> 'GBP'
UNION ALL
SELECT 'open_items', _row, 'amount', 'uk_compensation_amount',
       'is empty, but policy ''' || policy || ''' charges the UK compensation (level ' || uk_level
       || ' has compensation = "uk"), which is set by the invoice''s original amount'
FROM uk_invoices WHERE amount IS NULL AND NOT compensation_charged
