-- §8.2 Per currency, the open amount of the input equals decisions plus rejected.
-- One row: ok, detail. Parameters: $input_currencies, $input_amounts (run.json input_totals).
WITH expected AS (
    SELECT unnest($input_currencies) AS currency, unnest($input_amounts)::DECIMAL(38, 2) AS amount
),
found AS (
    SELECT currency, sum(open_amount) AS amount FROM (
        SELECT currency, open_amount FROM decisions
        UNION ALL
        SELECT coalesce(currency, '?'), coalesce(open_amount, 0) FROM rejected WHERE source = 'open_items'
    ) GROUP BY currency
),
compared AS (
    SELECT coalesce(e.currency, f.currency) AS currency, coalesce(e.amount, 0) AS expected,
           coalesce(f.amount, 0) AS found
    FROM expected AS e FULL JOIN found AS f USING (currency)
)
SELECT coalesce(bool_and(expected = found), true) AS ok,
       coalesce(string_agg(currency || ' input ' || expected || ' = decided+rejected ' || found, '; '
                           ORDER BY currency), 'no items') AS detail
FROM compared
