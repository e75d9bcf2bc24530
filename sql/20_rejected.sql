-- rejected: one row per input row set aside in non-strict mode (SPEC §2.3), with every
-- problem of the row; an item (or a payment, SPEC §9.5) whose customer row was rejected is
-- rejected with it, and so are those of a customer [input.customers] missing = "create" made
-- when the run renders letters (it has no postal address; its items carry the problem).
-- Grain: (source, _row). currency and open_amount are kept where they parsed, so that
-- reconcile can account for every amount (SPEC §8.2).
WITH
bad AS (
    SELECT source, _row, string_agg(column_name || ': ' || message, '; ' ORDER BY column_name, message) AS reason
    FROM problems GROUP BY source, _row
),
bad_customers AS (
    SELECT p.customer_id, 'customers row ' || min(p._row) AS why
    FROM customers_parsed AS p JOIN bad ON bad.source = 'customers' AND bad._row = p._row
    WHERE p.customer_id IS NOT NULL GROUP BY p.customer_id
    UNION ALL
    -- a customer [input.customers] missing = "create" made, which a run with letters rejects
    -- (17_created_customer_problems): it has no row, so its items, each rejected itself, say why
    SELECT i.customer_id, 'no customers row; open_items row ' || min(i._row) || ' says why'
    FROM open_items_parsed AS i
    JOIN problems AS pr ON pr.source = 'open_items' AND pr._row = i._row
                       AND pr.column_name = 'customer_id' AND pr.kind = 'address_missing'
    GROUP BY i.customer_id
),
customer_rows AS (
    -- the rows that belong to a customer, and go with it when its row is rejected
    SELECT 'open_items' AS source, _row, customer_id FROM open_items_parsed
    UNION ALL
    SELECT 'payments', _row, customer_id FROM payments_parsed        -- SPEC §9.5
),
row_reasons AS (
    -- an item or payment row with a problem of its own, or of a rejected customer
    SELECT source, _row, reason FROM bad WHERE source IN ('open_items', 'payments')
    UNION ALL
    SELECT r.source, r._row, 'customer_id: customer ''' || r.customer_id || ''' was rejected (' || bc.why || ')'
    FROM customer_rows AS r
    JOIN bad_customers AS bc USING (customer_id)
    ANTI JOIN bad AS b ON b.source = r.source AND b._row = r._row
)
SELECT $customers_file AS source_file, 'customers' AS source, r._row AS row_number, bad.reason,
       NULL::VARCHAR AS currency, NULL::DECIMAL(18, 2) AS open_amount,
       -- the columns of SPEC §11.2 and §11.1 only where the row holds them
       CAST(CASE WHEN r.contact_name IS NULL AND r.contact_email IS NULL AND r.sales_rep IS NULL
                      AND r.letter_currency IS NULL
                 THEN json_merge_patch(to_json(r), '{"contact_name": null, "contact_email": null, "sales_rep": null, "letter_currency": null}')
                 WHEN r.contact_name IS NULL AND r.contact_email IS NULL AND r.sales_rep IS NULL
                 THEN json_merge_patch(to_json(r), '{"contact_name": null, "contact_email": null, "sales_rep": null}')
                 WHEN r.letter_currency IS NULL THEN json_merge_patch(to_json(r), '{"letter_currency": null}')
                 ELSE to_json(r) END AS VARCHAR) AS row_text
FROM as_text(raw_customers) AS r
JOIN bad ON bad.source = 'customers' AND bad._row = r._row
UNION ALL
SELECT $items_file, 'open_items', r._row, rr.reason, p.currency, p.open_amount,
       -- the columns of SPEC §9.2 and §9.4 only where the row holds them
       CAST(CASE WHEN r.compensation_charged IS NULL AND r.interest_paid_to IS NULL
                 THEN json_merge_patch(to_json(r), '{"compensation_charged": null, "interest_paid_to": null}')
                 ELSE to_json(r) END AS VARCHAR)
FROM as_text(raw_open_items) AS r
JOIN row_reasons AS rr ON rr.source = 'open_items' AND rr._row = r._row
JOIN open_items_parsed AS p ON p._row = r._row
UNION ALL
SELECT $payments_file, 'payments', r._row, rr.reason, p.currency, NULL::DECIMAL(18, 2),
       CAST(to_json(r) AS VARCHAR)
FROM as_text(raw_payments) AS r
JOIN row_reasons AS rr ON rr.source = 'payments' AND rr._row = r._row
JOIN payments_parsed AS p ON p._row = r._row
ORDER BY source, row_number
