-- problem_hints: the setting that reads a column's values when they do not parse as the
-- config says (issue 18): dates that all read in another format -> date_format; amounts
-- that all read with the other decimal separator -> decimal_comma, each under its section.
-- A hint is given only when the suggested setting reads EVERY value of the file it governs
-- (date_format: all the file's date columns; decimal_comma: all its amount columns), so that
-- following it makes those problems go, never trades them for others. Not a pipeline stage:
-- guards.problem_lines runs it only when there are problems (it reads the raw inputs once).
-- Grain: (source, column_name, kind). Inputs: problems, raw_open_items, raw_customers,
-- raw_payments (only columns of text: a typed Parquet column is read whatever the setting).
WITH
wanted AS (
    SELECT DISTINCT source, column_name, kind FROM problems WHERE kind IN ('not_date', 'not_amount', 'not_rate')
),
text_values AS (
    -- the given values of the date and amount columns, by file and what they hold, each once
    -- (an export of millions of rows has a few thousand dates: each format is tried on those)
    SELECT DISTINCT * FROM (
    SELECT 'open_items' AS source, what, blank(v) AS v
    FROM (SELECT CASE WHEN typeof(doc_date) = 'VARCHAR' THEN CAST(doc_date AS VARCHAR) END AS d1,
                 CASE WHEN typeof(due_date) = 'VARCHAR' THEN CAST(due_date AS VARCHAR) END AS d2,
                 CASE WHEN typeof(last_dunned_on) = 'VARCHAR' THEN CAST(last_dunned_on AS VARCHAR) END AS d3,
                 CASE WHEN typeof(grace_until) = 'VARCHAR' THEN CAST(grace_until AS VARCHAR) END AS d4,
                 CASE WHEN typeof(interest_paid_to) = 'VARCHAR' THEN CAST(interest_paid_to AS VARCHAR) END AS d5,
                 CASE WHEN typeof(amount) = 'VARCHAR' THEN CAST(amount AS VARCHAR) END AS a1,
                 CASE WHEN typeof(open_amount) = 'VARCHAR' THEN CAST(open_amount AS VARCHAR) END AS a2
          FROM raw_open_items WHERE EXISTS (SELECT 1 FROM wanted WHERE source = 'open_items'))
    UNPIVOT (v FOR col IN (d1, d2, d3, d4, d5, a1, a2))
    CROSS JOIN LATERAL (SELECT CASE WHEN col LIKE 'd%' THEN 'date' ELSE 'amount' END AS what)
    UNION ALL
    SELECT 'customers', what, blank(v)
    FROM (SELECT CASE WHEN typeof(grace_until) = 'VARCHAR' THEN CAST(grace_until AS VARCHAR) END AS d1,
                 CASE WHEN typeof(interest_rate) = 'VARCHAR' THEN CAST(interest_rate AS VARCHAR) END AS r1
          FROM raw_customers WHERE EXISTS (SELECT 1 FROM wanted WHERE source = 'customers'))
    UNPIVOT (v FOR col IN (d1, r1))
    CROSS JOIN LATERAL (SELECT CASE WHEN col LIKE 'd%' THEN 'date' ELSE 'rate' END AS what)
    UNION ALL
    SELECT 'payments', what, blank(v)
    FROM (SELECT CASE WHEN typeof(due_date) = 'VARCHAR' THEN CAST(due_date AS VARCHAR) END AS d1,
                 CASE WHEN typeof(paid_on) = 'VARCHAR' THEN CAST(paid_on AS VARCHAR) END AS d2,
                 CASE WHEN typeof(amount) = 'VARCHAR' THEN CAST(amount AS VARCHAR) END AS a1
          FROM raw_payments WHERE EXISTS (SELECT 1 FROM wanted WHERE source = 'payments'))
    UNPIVOT (v FOR col IN (d1, d2, a1))
    CROSS JOIN LATERAL (SELECT CASE WHEN col LIKE 'd%' THEN 'date' ELSE 'amount' END AS what))
    WHERE v IS NOT NULL
),
settings AS (
    SELECT * FROM (VALUES ('open_items', $items_date_format, $items_decimal_comma),
                          ('customers', $customers_date_format, $customers_decimal_comma),
                          ('payments', $payments_date_format, $payments_decimal_comma))
                  AS s(source, date_format, decimal_comma)
),
-- per file and format day-first, month-first and other exports write, whether it reads all
-- its dates (strptime takes a constant format: one column per format)
date_reads AS (
    SELECT source,
           bool_and(try_strptime(v, '%d.%m.%Y') IS NOT NULL) AS f1, bool_and(try_strptime(v, '%d/%m/%Y') IS NOT NULL) AS f2,
           bool_and(try_strptime(v, '%m/%d/%Y') IS NOT NULL) AS f3, bool_and(try_strptime(v, '%Y-%m-%d') IS NOT NULL) AS f4,
           bool_and(try_strptime(v, '%d-%m-%Y') IS NOT NULL) AS f5, bool_and(try_strptime(v, '%Y/%m/%d') IS NOT NULL) AS f6,
           bool_and(try_strptime(v, '%d.%m.%y') IS NOT NULL) AS f7, bool_and(try_strptime(v, '%Y%m%d') IS NOT NULL) AS f8
    FROM text_values WHERE what = 'date' GROUP BY source
),
formats AS (
    -- in the order they are offered: day-first before month-first (a file of days up to 12 reads both)
    SELECT * FROM (VALUES (1, 'f1', '%d.%m.%Y'), (2, 'f2', '%d/%m/%Y'), (3, 'f3', '%m/%d/%Y'), (4, 'f4', '%Y-%m-%d'),
                          (5, 'f5', '%d-%m-%Y'), (6, 'f6', '%Y/%m/%d'), (7, 'f7', '%d.%m.%y'), (8, 'f8', '%Y%m%d'))
                  AS f(rank, name, fmt)
),
date_formats AS (
    -- per file, the first format other than the configured one that reads all its dates
    SELECT r.source, arg_min(f.fmt, f.rank) AS fmt
    FROM (UNPIVOT date_reads ON f1, f2, f3, f4, f5, f6, f7, f8 INTO NAME name VALUE reads_all) AS r
    JOIN formats AS f USING (name)
    JOIN settings AS s USING (source)
    WHERE r.reads_all AND f.fmt <> s.date_format
    GROUP BY r.source
),
separators AS (
    -- per file, whether the other decimal separator reads all its amounts (rates: 6 decimals)
    SELECT v.source, NOT s.decimal_comma AS decimal_comma
    FROM text_values AS v JOIN settings AS s USING (source)
    WHERE v.what IN ('amount', 'rate')
    GROUP BY v.source, s.decimal_comma
    HAVING bool_and(CASE WHEN v.what = 'amount' THEN parse_amount_text(v.v, NOT s.decimal_comma) IS NOT NULL
                         ELSE parts_value(amount_parts(v.v, NOT s.decimal_comma), 6) IS NOT NULL END)
)
SELECT w.source, w.column_name, w.kind,
       CASE WHEN w.kind = 'not_date'
            THEN 'the file''s dates read as ' || d.fmt || ': set date_format = "' || d.fmt || '" under [input.'
                 || w.source || ']'
            ELSE 'the file''s amounts have decimal ' || CASE WHEN s.decimal_comma THEN 'commas' ELSE 'points' END
                 || ': set decimal_comma = ' || s.decimal_comma || ' under [input.' || w.source || ']'
       END AS hint
FROM wanted AS w
LEFT JOIN date_formats AS d ON w.kind = 'not_date' AND d.source = w.source
LEFT JOIN separators AS s ON w.kind IN ('not_amount', 'not_rate') AND s.source = w.source
WHERE d.fmt IS NOT NULL OR s.decimal_comma IS NOT NULL
