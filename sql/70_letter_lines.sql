-- letter_lines: one row per line of a letter (SPEC §5): overdue, current, credit lines
-- each by (due_date, doc_id), then the interest lines in the order of their items.
-- Grain: (letter_id, line_no). Inputs: letters, candidate_lines, interest_lines.
WITH
item_lines AS (
    SELECT c.letter_id, c.line_type, c.doc_id, c.doc_type, c.doc_date, c.due_date,
           c.days_past_due, c.open_amount, c.level_before, c.level_after,
           row_number() OVER (PARTITION BY c.letter_id
                              ORDER BY CASE c.line_type WHEN 'overdue' THEN 1 WHEN 'current' THEN 2 ELSE 3 END,
                                       c.due_date NULLS LAST, c.doc_id) AS item_order
    FROM candidate_lines AS c
    WHERE c.letter_id IN (SELECT letter_id FROM letters)
),
all_lines AS (
    SELECT letter_id, line_type, doc_id, doc_type, doc_date, due_date, days_past_due, open_amount,
           level_before, level_after, NULL::DATE AS interest_from, NULL::DATE AS interest_to,
           NULL::INTEGER AS interest_days, NULL::DECIMAL(18, 6) AS rate_percent,
           NULL::DECIMAL(18, 2) AS interest_amount, 0 AS part, item_order
    FROM item_lines
    UNION ALL
    SELECT il.letter_id, 'interest', il.doc_id, it.doc_type, it.doc_date, it.due_date,
           it.days_past_due, it.open_amount, NULL, NULL, il.interest_from, il.interest_to,
           il.interest_days, il.rate_percent, il.interest_amount, 1, it.item_order
    FROM interest_lines AS il
    JOIN item_lines AS it ON it.letter_id = il.letter_id AND it.doc_id = il.doc_id
)
SELECT
    letter_id,
    CAST(row_number() OVER (PARTITION BY letter_id ORDER BY part, item_order, interest_from) AS INTEGER)
        AS line_no,
    line_type, doc_id, doc_type, doc_date, due_date, CAST(days_past_due AS INTEGER) AS days_past_due,
    open_amount, CAST(level_before AS INTEGER) AS level_before, CAST(level_after AS INTEGER) AS level_after,
    interest_from, interest_to, interest_days, rate_percent, interest_amount
FROM all_lines
ORDER BY letter_id, line_no
