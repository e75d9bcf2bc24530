-- problem_groups: the input problems as `validate` and a strict run print them (SPEC §2.3):
-- one row per column and kind of problem (a German export's 238 amounts with decimal commas
-- are one row, not 238), with the first row's message (its value as the example), how many
-- rows have it and the next few rows; open items first, then customers, then payments, each
-- by first row. Not a pipeline stage: guards.problem_lines formats the rows as
-- `file:row: column: message (and n more rows like it: rows ...)` with the hint of
-- reports/problem_hints. Grain: (source, column_name, kind). Inputs: problems.
SELECT source, min(_row) AS first_row, count(*) AS n, column_name, kind,
       arg_min(message, _row) AS message,
       min(_row, 4)[2:] AS next_rows  -- the 2nd to 4th row of the kind: the line shows where else
FROM problems
GROUP BY source, column_name, kind
ORDER BY CASE source WHEN 'open_items' THEN 1 WHEN 'customers' THEN 2 ELSE 3 END, first_row,
         column_name, message, kind
