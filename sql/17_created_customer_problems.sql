-- created_customer_problems: in a run that renders letters ($render_pdf), every item of a
-- customer that [input.customers] missing = "create" made (no row of the customers file,
-- _row NULL: no postal address, delivery print): its letter would have an empty window
-- (SPEC §10.1, issue 19). The customer has no row to name, so each of its items is named, at
-- its customer_id, with the kind of a customers row without an address ('address_missing'):
-- a strict run prints one line for them all (reports/problem_groups), a non-strict run rejects
-- the items and the customer's payments with it (20_rejected). A run without PDFs (--no-pdf,
-- decisions only) fills no window: nothing here.
-- Grain: (source, _row, column_name, kind, message), source 'open_items', one row per item of
-- such a customer. Inputs: customers_parsed, open_items_parsed.
WITH
created AS (
    -- a created customer's delivery is print (no email, SPEC §10.1) and it has no address;
    -- the test is that of 11_customer_problems all the same
    SELECT customer_id FROM customers_parsed
    WHERE _row IS NULL AND delivery IN ('print', 'both')
      AND blank(regexp_replace(address, '[\r\n]', '', 'g')) IS NULL
)
SELECT 'open_items' AS source, i._row, 'customer_id' AS column_name, 'address_missing' AS kind,
       'customer ''' || i.customer_id || ''' has no row in the customers file ([input.customers] missing = "create" '
       || 'made it, with no postal address), but its letters go by post; add its row with the postal address (or an '
       || 'email address with delivery email) to '
       || coalesce($customers_file, 'a customers file given with --customers')
       || ', or run with --no-pdf for decisions only' AS message
FROM open_items_parsed AS i
JOIN created AS c USING (customer_id)
WHERE $render_pdf
