-- §8.5 Fee documents match the letters with a non-zero fee.
-- One row: ok, detail.
WITH expected AS (
    SELECT 'FEE-' || letter_id AS fee_doc_id, letter_id, customer_id, currency, fee AS amount, pay_by
    FROM letters WHERE fee <> 0
),
mismatched AS (
    SELECT coalesce(e.fee_doc_id, f.fee_doc_id) AS fee_doc_id
    FROM expected AS e FULL JOIN fee_documents AS f USING (fee_doc_id)
    WHERE e.fee_doc_id IS NULL OR f.fee_doc_id IS NULL OR e.amount <> f.amount
       OR e.letter_id <> f.letter_id OR e.customer_id <> f.customer_id OR e.currency <> f.currency
       OR e.pay_by <> f.due_date
)
SELECT NOT EXISTS (SELECT 1 FROM mismatched) AS ok,
       (SELECT count(*) FROM fee_documents) || ' fee documents vs ' || (SELECT count(*) FROM expected)
       || ' letters with a fee; ' || (SELECT count(*) FROM mismatched) || ' mismatched'
       || coalesce(' (first: ' || (SELECT min(fee_doc_id) FROM mismatched) || ')', '') AS detail
