-- fee_reversals: one credit per document the voided letters posted (`void`): fee documents,
-- and with SPEC §9 the compensation and interest documents (empty views when the run has none).
-- A reversal is posted on the day of the void, not the run's: doc_date and due_date are
-- $void_date (a credit is due at once).
-- Grain: fee_doc_id. Inputs: fee_documents, compensation_documents, interest_documents.
-- Parameters: $letters, $void_date.
SELECT 'REV-' || fee_doc_id AS fee_doc_id, customer_id, currency, -amount AS amount,
       $void_date::DATE AS doc_date, $void_date::DATE AS due_date, letter_id,
       'Reversal of ' || description AS description
FROM (SELECT * FROM fee_documents
      UNION ALL SELECT * FROM compensation_documents
      UNION ALL SELECT * FROM interest_documents)
WHERE list_contains($letters, letter_id)
ORDER BY letter_id, fee_doc_id
