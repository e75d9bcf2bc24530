-- interest_documents: one row per letter whose level posts its interest (SPEC §9.4,
-- post_interest = true) and whose interest total is not zero: a receivable to post, with
-- the columns of fee_documents: id INT-<letter_id>, amount the interest total, doc_date the
-- run date, due_date the pay-by date. Written only when a level posts interest.
-- Grain: letter_id. Inputs: letters, letter_heads.
SELECT 'INT-' || l.letter_id AS fee_doc_id, l.customer_id, l.currency, l.interest_total AS amount,
       l.run_date AS doc_date, l.pay_by AS due_date, l.letter_id,
       'Dunning interest level ' || l.level AS description
FROM letters AS l
JOIN letter_heads AS h USING (letter_id)
WHERE h.post_interest AND l.interest_total <> 0
ORDER BY l.letter_id
