-- fee_documents: one row per letter with a non-zero fee, a receivable to post (SPEC §4.7).
-- Grain: letter_id. Inputs: letters.
SELECT 'FEE-' || letter_id AS fee_doc_id, customer_id, currency, fee AS amount,
       run_date AS doc_date, pay_by AS due_date, letter_id,
       'Dunning fee level ' || level AS description
FROM letters
WHERE fee <> 0
ORDER BY letter_id
