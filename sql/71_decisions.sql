-- decisions: one row per accepted input item with its outcome and reason (SPEC §4.12, §5),
-- in doc_id order. A view: the columns of SPEC §5 from item_outcomes.
-- Grain: doc_id. Inputs: item_outcomes.
SELECT doc_id, customer_id, doc_type, currency, open_amount, due_date, days_past_due, level_before,
       level_after, outcome, reason, letter_id
FROM item_outcomes
