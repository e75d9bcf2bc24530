-- rejected: one row per input row set aside in non-strict mode (SPEC §2.3), with every
-- problem of the row; an item (or a payment, SPEC §9.5) whose customer row was rejected is
-- rejected with it. Grain: (source, _row). currency and open_amount are kept where they
-- parsed, so that reconcile can account for every amount (SPEC §8.2).
WITH
bad AS (
    SELECT source, _row, string_agg(column_name || ': ' || message, '; ' ORDER BY column_name, message) AS reason
    FROM problems GROUP BY source, _row
),
bad_customers AS (
    SELECT p.customer_id, min(p._row) AS _row
    FROM customers_parsed AS p JOIN bad ON bad.source = 'customers' AND bad._row = p._row
    WHERE p.customer_id IS NOT NULL GROUP BY p.customer_id
),
item_reasons AS (
    SELECT _row, reason FROM bad WHERE source = 'open_items'
    UNION ALL
    SELECT i._row, 'customer_id: customer ''' || i.customer_id || ''' was rejected (customers row '
                   || bc._row || ')'
    FROM open_items_parsed AS i JOIN bad_customers AS bc USING (customer_id)
    WHERE i._row NOT IN (SELECT _row FROM bad WHERE source = 'open_items')
),
payment_reasons AS (
    -- SPEC §9.5: a payment row with a problem, or of a rejected customer
    SELECT _row, reason FROM bad WHERE source = 'payments'
    UNION ALL
    SELECT p._row, 'customer_id: customer ''' || p.customer_id || ''' was rejected (customers row '
                   || bc._row || ')'
    FROM payments_parsed AS p JOIN bad_customers AS bc USING (customer_id)
    WHERE p._row NOT IN (SELECT _row FROM bad WHERE source = 'payments')
)
SELECT $customers_file AS source_file, 'customers' AS source, r._row AS row_number, bad.reason,
       NULL::VARCHAR AS currency, NULL::DECIMAL(18, 2) AS open_amount,
       CAST(to_json(r) AS VARCHAR) AS row_text
FROM as_text(raw_customers) AS r
JOIN bad ON bad.source = 'customers' AND bad._row = r._row
UNION ALL
SELECT $items_file, 'open_items', r._row, ir.reason, p.currency, p.open_amount,
       -- the columns of SPEC §9.2 and §9.4 only where the row holds them
       CAST(CASE WHEN r.compensation_charged IS NULL AND r.interest_paid_to IS NULL
                 THEN json_merge_patch(to_json(r), '{"compensation_charged": null, "interest_paid_to": null}')
                 ELSE to_json(r) END AS VARCHAR)
FROM as_text(raw_open_items) AS r
JOIN item_reasons AS ir USING (_row)
JOIN open_items_parsed AS p USING (_row)
UNION ALL
SELECT $payments_file, 'payments', r._row, pr.reason, p.currency, NULL::DECIMAL(18, 2),
       CAST(to_json(r) AS VARCHAR)
FROM as_text(raw_payments) AS r
JOIN payment_reasons AS pr USING (_row)
JOIN payments_parsed AS p USING (_row)
ORDER BY source, row_number
