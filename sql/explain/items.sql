-- explain/items: one row per item asked about (the item $doc_id, or every item of customer
-- $customer_id), with its decision, every fact of item_details it rests on, its line of
-- the letter it went into and that letter; in doc_id order.
-- SPEC §11.1: the item's letter currency and, when it was converted, the rate, its day, the
-- rate day and its amount in the letter currency (NULL in a folder whose run set no
-- letter_currency: the letter is in the item's currency).
-- Grain: doc_id. Inputs: decisions, item_details, letters, letter_lines (an output folder).
SELECT d.doc_id, d.customer_id, d.doc_type, d.currency, d.open_amount, d.due_date, d.days_past_due,
       d.level_before, d.level_after, d.outcome, d.reason, d.letter_id,
       i.policy, i.last_dunned_before, i.grace_until, i.customer_grace_until, i.exclusion,
       i.advance_reason, i.candidate_letter_id, i.suppressed_by,
       i.candidate_overdue_total, i.candidate_credit_total, i.open_balance,
       i.final_doc_id, i.final_level, i.grace_of, i.sequential, i.min_days_between_letters,
       i.reached_level, i.reached_days_past_due, i.threshold_level, i.threshold_days_past_due,
       i.level_before_days_past_due, i.spacing_days_needed, i.days_since_last_letter,
       i.min_amount, i.min_percent, i.pre_due_days, i.letter_charges_interest, i.interest_basis,
       i.interest_eligible, i.range_level, i.range_days_to,
       coalesce(i.letter_currency, d.currency) AS letter_currency, i.rate, i.rate_date, i.rate_day,
       i.letter_amount,
       l.level AS letter_level, l.template, l.is_final, l.pay_by, l.total_due, l.interest_total,
       l.payment_reference,
       ll.line_type,
       (SELECT list(t.doc_id ORDER BY t.doc_id) FROM decisions AS t
         WHERE t.letter_id = d.letter_id AND t.reason = 'advanced') AS triggers,
       (SELECT count(*) FROM letters AS k
         WHERE k.customer_id = d.customer_id AND k.currency = coalesce(i.letter_currency, d.currency)) AS key_letters
FROM decisions AS d
-- open_balance (SPEC §9.3) is NULL unless a policy sets min_percent (outputs/folder.py)
LEFT JOIN item_details AS i USING (doc_id)
LEFT JOIN letters AS l USING (letter_id)
LEFT JOIN letter_lines AS ll
  ON ll.letter_id = d.letter_id AND ll.doc_id = d.doc_id AND ll.line_type IN ('overdue', 'current', 'credit')
WHERE d.doc_id = $doc_id OR d.customer_id = $customer_id
ORDER BY d.doc_id
