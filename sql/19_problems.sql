-- problems: one row per problem found in the inputs (SPEC §2.3), before anything is written.
-- Grain: (source, _row, column_name, kind, message); source is 'customers', 'open_items',
-- 'payments' (SPEC §9.5) or 'rates' (§11.1); kind names what is wrong whatever the value
-- ('not_date', 'not_amount', 'duplicate', ...): the lines users see group a column's problems
-- by it. Inputs: the problem stages 10-18, one per concern. The rows come
-- source by source, each source's ids first, in the order the checks have always been listed
-- (the lines users see are sorted by problem_lines and 20_rejected all the same).
SELECT source, _row, column_name, kind, message FROM id_problems WHERE source = 'customers'
UNION ALL
SELECT source, _row, column_name, kind, message FROM customer_problems
UNION ALL
SELECT source, _row, column_name, kind, message FROM id_problems WHERE source = 'open_items'
UNION ALL
SELECT source, _row, column_name, kind, message FROM item_problems
UNION ALL
SELECT source, _row, column_name, kind, message FROM overflow_problems
UNION ALL
SELECT source, _row, column_name, kind, message FROM coverage_problems
UNION ALL
SELECT source, _row, column_name, kind, message FROM money_rule_problems
UNION ALL
SELECT source, _row, column_name, kind, message FROM created_customer_problems
UNION ALL
SELECT source, _row, column_name, kind, message FROM id_problems WHERE source = 'payments'
UNION ALL
SELECT source, _row, column_name, kind, message FROM payment_problems
UNION ALL
SELECT source, _row, column_name, kind, message FROM rate_problems   -- SPEC §11.1
