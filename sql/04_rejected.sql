-- rejected: one row per input row set aside in non-strict mode (SPEC §2.3), with every
-- problem of the row; an item whose customer row was rejected is rejected with it.
-- Grain: (source, _row). currency and open_amount are kept where they parsed, so that
-- reconcile can account for every amount (SPEC §8.2).
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
)
SELECT $customers_file AS source_file, 'customers' AS source, r._row AS row_number, bad.reason,
       NULL::VARCHAR AS currency, NULL::DECIMAL(18, 2) AS open_amount,
       CAST(to_json(r) AS VARCHAR) AS row_text
FROM raw_customers AS r JOIN bad ON bad.source = 'customers' AND bad._row = r._row
UNION ALL
SELECT $items_file, 'open_items', r._row, ir.reason, p.currency, p.open_amount,
       CAST(to_json(r) AS VARCHAR)
FROM raw_open_items AS r
JOIN item_reasons AS ir USING (_row)
JOIN open_items_parsed AS p USING (_row)
ORDER BY source, row_number
