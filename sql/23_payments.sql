-- payments: one row per accepted payment of the optional payments input (SPEC §9.5) with the
-- letter key it belongs to: customer, letter currency (SPEC §11.1; its own currency without
-- a letter_currency policy) and branch part (the payment's branch, else
-- its document's when the document is still open). Empty when the run has no payments.
-- A payment whose interest a counted letter of the ledger charged is taken as charged with
-- stale_export = "use_ledger" (ledger_payment_overrides; empty otherwise).
-- Grain: payment_id. Inputs: payments_parsed, rejected, ledger_payment_overrides.
SELECT
    p.payment_id, p.customer_id, p.doc_id, p.currency, p.minor_unit, p.due_date, p.paid_on, p.amount,
    p.interest_charged OR p.payment_id IN (SELECT payment_id FROM ledger_payment_overrides) AS interest_charged,
    p.customer_interest_rate,
    CASE WHEN $consolidate_branches THEN '' ELSE coalesce(p.branch, p.doc_branch, '') END AS branch_part,
    p.letter_currency, p.rate_day   -- SPEC §11.1 (27_payment_rates converts)
FROM payments_parsed AS p
WHERE p._row NOT IN (SELECT row_number FROM rejected WHERE source = 'payments')
