-- compensation_documents: one row per compensation line (SPEC §9.2), a receivable to post,
-- with the columns of fee_documents: id CMP-<letter_id>-<doc_id>, doc_date the run date,
-- due_date the letter's pay-by date. Written only when a level charges compensation.
-- Grain: (letter_id, doc_id). Inputs: compensation_lines, letters.
SELECT 'CMP-' || l.letter_id || '-' || cl.doc_id AS fee_doc_id, l.customer_id, l.currency,
       cl.compensation_amount AS amount, l.run_date AS doc_date, l.pay_by AS due_date, l.letter_id,
       'Recovery compensation ' || cl.doc_id AS description
FROM compensation_lines AS cl
JOIN letters AS l USING (letter_id)
ORDER BY l.letter_id, cl.doc_id
