-- compensation_lines: one row per statutory recovery compensation (SPEC §9.2): on a letter
-- whose level sets compensation, every overdue invoice line whose item has not been
-- compensated before (compensation_charged = false) gets one fixed amount:
--   eu: the policy's compensation_amount[currency] (default EUR 40.00; Directive 2011/7/EU
--       art. 6, BGB §288(5));
--   uk: GBP by the invoice's original amount: below 1,000.00 -> 40.00, below 10,000.00 ->
--       70.00, otherwise 100.00 (Late Payment of Commercial Debts Act s.5A).
-- 14_coverage_problems and 15_money_rule_problems have made sure the amount exists
-- (currency table, GBP, original amount). The amount is in the letter's currency (SPEC
-- §11.1): eu's table is read for it, uk's bands compare the original amount converted at the
-- item's rate (1 for an item in its letter's own currency).
-- Grain: (letter_id, doc_id). Inputs: letter_heads, letter_items, cfg_compensation_amounts.
SELECT
    h.letter_id, i.doc_id, i._row, h.compensation AS compensation_kind,
    CAST(CASE h.compensation
             WHEN 'eu' THEN a.amount
             WHEN 'uk' THEN CASE WHEN in_letter_currency(i.amount, i.rate, 2) < 1000.00  THEN 40.00
                                 WHEN in_letter_currency(i.amount, i.rate, 2) < 10000.00 THEN 70.00
                                 ELSE 100.00 END
         END AS DECIMAL(18, 2)) AS compensation_amount
FROM letter_heads AS h
JOIN letter_items AS i USING (letter_id)
LEFT JOIN cfg_compensation_amounts AS a ON a.policy = h.policy AND a.currency = h.currency
WHERE h.compensation IS NOT NULL
  AND i.line_type = 'overdue' AND i.doc_type = 'invoice' AND NOT i.compensation_charged
