-- problem_groups: the input problems as `validate` and a strict run print them (SPEC §2.3):
-- one row per kind of problem (source file, column, message) with its first row and how many
-- rows have it; open items first, then customers, then payments, each by first row.
-- Not a pipeline stage: guards.problem_lines formats the rows as `file:row: column: message`.
-- Grain: (source, column_name, message). Inputs: problems.
SELECT source, min(_row) AS first_row, count(*) AS n, column_name, message
FROM problems
GROUP BY source, column_name, message
ORDER BY CASE source WHEN 'open_items' THEN 1 WHEN 'customers' THEN 2 ELSE 3 END, first_row,
         column_name, message
