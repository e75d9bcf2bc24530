-- letter_lines: one row per line of a letter (SPEC §5): overdue, current, credit lines
-- each by (due_date, doc_id), then the interest lines in the order of their items, then the
-- late-payment interest lines (§9.5) by (due_date, doc_id, payment_id), then the
-- compensation lines (§9.2) in the order of their items. A late-interest line shows the
-- payment's document, due date, days late (paid_on - due_date) and the paid amount in
-- open_amount; a compensation line repeats its item's columns like an interest line.
-- compensation_amount is written only when a level charges compensation (outputs.py).
-- SPEC §11.1: currency (the line's document's), rate (1 document currency = rate letter
-- currency; 1 in the letter's own currency, NULL on compensation lines, which are in the
-- letter currency), rate_date (the day of the rate used) and letter_amount (open_amount x rate
-- on item lines, interest_amount x rate on interest lines, compensation_amount on compensation
-- lines: what the letter's totals sum) are written only when a policy sets letter_currency.
-- Grain: (letter_id, line_no). Inputs: letters, letter_items, interest_lines, compensation_lines.
WITH
item_lines AS (
    SELECT c.letter_id, c.line_type, c.doc_id, c.doc_type, c.doc_date, c.due_date,
           c.days_past_due, c.open_amount, c.level_before, c.level_after,
           c.currency, c.rate, c.rate_date, c.letter_amount,
           row_number() OVER (PARTITION BY c.letter_id
                              ORDER BY CASE c.line_type WHEN 'overdue' THEN 1 WHEN 'current' THEN 2 ELSE 3 END,
                                       c.due_date NULLS LAST, c.doc_id) AS item_order
    FROM letter_items AS c
),
late_lines AS (
    SELECT il.*, dense_rank() OVER (PARTITION BY il.letter_id ORDER BY il.due_date, il.doc_id, il.payment_id)
                 AS payment_order
    FROM interest_lines AS il
    WHERE il.line_type = 'late_interest'
),
all_lines AS (
    SELECT letter_id, line_type, doc_id, doc_type, doc_date, due_date, days_past_due, open_amount,
           level_before, level_after, NULL::DATE AS interest_from, NULL::DATE AS interest_to,
           NULL::INTEGER AS interest_days, NULL::DECIMAL(18, 6) AS rate_percent,
           NULL::DECIMAL(18, 2) AS interest_amount, NULL::DECIMAL(18, 2) AS compensation_amount,
           currency, rate, rate_date, letter_amount,
           0 AS part, item_order
    FROM item_lines
    UNION ALL
    SELECT il.letter_id, 'interest', il.doc_id, it.doc_type, it.doc_date, it.due_date,
           it.days_past_due, it.open_amount, NULL, NULL, il.interest_from, il.interest_to,
           il.interest_days, il.rate_percent, il.interest_amount, NULL,
           il.currency, il.rate, il.rate_date, il.letter_amount, 1, it.item_order
    FROM interest_lines AS il
    JOIN item_lines AS it ON it.letter_id = il.letter_id AND it.doc_id = il.doc_id
    WHERE il.line_type = 'interest'
    UNION ALL
    SELECT ll.letter_id, 'late_interest', ll.doc_id, NULL, NULL, ll.due_date,
           datediff('day', ll.due_date, pm.paid_on), ll.charged_amount, NULL, NULL, ll.interest_from,
           ll.interest_to, ll.interest_days, ll.rate_percent, ll.interest_amount, NULL,
           ll.currency, ll.rate, ll.rate_date, ll.letter_amount, 2, ll.payment_order
    FROM late_lines AS ll
    JOIN payments AS pm USING (payment_id)
    UNION ALL
    SELECT cl.letter_id, 'compensation', cl.doc_id, it.doc_type, it.doc_date, it.due_date,
           it.days_past_due, it.open_amount, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           cl.compensation_amount, it.currency, NULL, NULL, cl.compensation_amount, 3, it.item_order
    FROM compensation_lines AS cl
    JOIN item_lines AS it ON it.letter_id = cl.letter_id AND it.doc_id = cl.doc_id
)
SELECT
    letter_id,
    CAST(row_number() OVER (PARTITION BY letter_id ORDER BY part, item_order, interest_from) AS INTEGER)
        AS line_no,
    line_type, doc_id, doc_type, doc_date, due_date, CAST(days_past_due AS INTEGER) AS days_past_due,
    open_amount, CAST(level_before AS INTEGER) AS level_before, CAST(level_after AS INTEGER) AS level_after,
    interest_from, interest_to, interest_days, rate_percent, interest_amount, compensation_amount,
    currency, rate, rate_date, letter_amount
FROM all_lines
ORDER BY letter_id, line_no
