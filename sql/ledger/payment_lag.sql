-- payment lag: each accepted late payment the export shows uncharged (interest_charged =
-- false) whose interest a counted letter already charged (ledger_payments, loaded from
-- ledger/payment_state): payments_charged.csv of that run was not re-imported.
-- Grain: payment_id. Inputs: payments_parsed, rejected, ledger_payments.
SELECT p.payment_id, l.letter_id, l.run_date, l.folder
FROM payments_parsed AS p
JOIN ledger_payments AS l USING (payment_id)
WHERE NOT p.interest_charged
  AND p._row NOT IN (SELECT row_number FROM rejected WHERE source = 'payments')
ORDER BY p.payment_id
