-- fee_reversals: one credit per fee document of the voided letters (`void`).
-- Grain: letter_id. Inputs: fee_documents. Parameters: $letters.
SELECT 'REV-' || fee_doc_id AS fee_doc_id, customer_id, currency, -amount AS amount,
       doc_date, doc_date AS due_date, letter_id,
       'Reversal of ' || description AS description
FROM fee_documents
WHERE list_contains($letters, letter_id)
ORDER BY letter_id
