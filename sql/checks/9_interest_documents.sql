-- §9.4 Interest documents match the letters whose level posts interest and whose interest
-- total is not zero (INT-<letter_id>, amount = interest_total, whether or not the letter's
-- total_due includes it: with include_in_total = false the document is the only demand for
-- it, and check 3 holds total_due to the other parts); every item charged in them
-- has interest_paid_to = its last day charged in levels_update; and no day is charged twice:
-- no interest line of an item starts on or before the interest_paid_to the export gave it.
-- One row: ok, detail. Inputs: letters, letter_lines, interest_documents, item_details,
-- levels_update, cfg_levels (post_interest).
WITH
posting AS (
    SELECT l.* FROM letters AS l JOIN cfg_levels AS c ON c.policy = l.policy AND c.level = l.level
    WHERE l.interest_total <> 0 AND c.post_interest
),
expected AS (
    SELECT 'INT-' || letter_id AS fee_doc_id, letter_id, customer_id, currency, interest_total AS amount, pay_by
    FROM posting
),
mismatched AS (
    SELECT coalesce(e.fee_doc_id, d.fee_doc_id) AS fee_doc_id
    FROM expected AS e FULL JOIN interest_documents AS d USING (fee_doc_id)
    WHERE e.fee_doc_id IS NULL OR d.fee_doc_id IS NULL OR e.amount <> d.amount
       OR e.letter_id <> d.letter_id OR e.customer_id <> d.customer_id OR e.currency <> d.currency
       OR e.pay_by <> d.due_date
),
last_days AS (
    SELECT ll.doc_id, max(ll.interest_to) AS last_day
    FROM letter_lines AS ll JOIN posting USING (letter_id)
    WHERE ll.line_type = 'interest' GROUP BY ll.doc_id
),
not_recorded AS (
    SELECT d.doc_id FROM last_days AS d LEFT JOIN levels_update AS u USING (doc_id)
    WHERE u.interest_paid_to IS DISTINCT FROM d.last_day
),
twice AS (
    SELECT DISTINCT ll.doc_id FROM letter_lines AS ll JOIN item_details AS i USING (doc_id)
    WHERE ll.line_type = 'interest' AND ll.interest_from <= i.interest_paid_to
)
SELECT NOT EXISTS (SELECT 1 FROM mismatched) AND NOT EXISTS (SELECT 1 FROM not_recorded)
       AND NOT EXISTS (SELECT 1 FROM twice) AS ok,
       (SELECT count(*) FROM interest_documents) || ' interest documents vs ' || (SELECT count(*) FROM expected)
       || ' letters posting interest; ' || (SELECT count(*) FROM mismatched) || ' mismatched'
       || coalesce(' (first: ' || (SELECT min(fee_doc_id) FROM mismatched) || ')', '')
       || ', ' || (SELECT count(*) FROM not_recorded) || ' item(s) without their interest_paid_to'
       || ', ' || (SELECT count(*) FROM twice) || ' item(s) charged again for days already paid to'
       AS detail
