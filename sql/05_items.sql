-- items: one row per accepted open item, joined with its customer and policy, with the
-- days past due on the run date (SPEC §4.1). Everything after this stage reads `items`.
-- Inputs: open_items_parsed, customers_parsed, rejected, cfg_policies.
SELECT
    i.doc_id, i.customer_id, i.doc_type,
    i.doc_type IN ('invoice', 'debit_memo', 'fee', 'refund') AS is_raising,
    i.doc_date, i.due_date, i.currency, i.minor_unit, i.amount, i.open_amount,
    i.level_before, i.last_dunned_before, i.blocked, i.disputed, i.grace_until, i.branch,
    c.name AS customer_name, c.language, c.dunning_blocked, c.grace_until AS customer_grace_until,
    c.interest_rate AS customer_interest_rate, c.policy,
    p.last_level, p.sequential, p.min_days_between_letters,
    datediff('day', i.due_date, $as_of::DATE) AS days_past_due
FROM open_items_parsed AS i
JOIN customers_parsed AS c
  ON c.customer_id = i.customer_id
 AND c._row NOT IN (SELECT row_number FROM rejected WHERE source = 'customers')
LEFT JOIN cfg_policies AS p ON p.policy = c.policy
WHERE i._row NOT IN (SELECT row_number FROM rejected WHERE source = 'open_items')
