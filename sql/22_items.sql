-- items: one row per accepted open item with its customer and policy and the days past
-- due on the run date (SPEC §4.1). Everything after this stage reads `items`. A view
-- (pipeline.VIEW_RELATIONS): the rows of open_items_parsed are not copied.
-- Inputs: open_items_parsed (already joined with its customer), rejected, cfg_policies.
SELECT
    i._row, i.doc_id, i.customer_id, i.doc_type, i.is_raising, i.doc_date, i.due_date, i.currency,
    i.minor_unit, i.amount, i.open_amount, i.level_before, i.last_dunned_before, i.blocked,
    i.disputed, i.grace_until, i.branch, i.dunning_blocked,
    i.customer_grace_until, i.customer_interest_rate, i.policy,
    i.compensation_charged, i.interest_paid_to,          -- SPEC §9.2, §9.4
    p.last_level, p.sequential, p.min_days_between_letters, i.days_past_due
FROM open_items_parsed AS i
LEFT JOIN cfg_policies AS p ON p.policy = i.policy
WHERE i._row NOT IN (SELECT row_number FROM rejected WHERE source = 'open_items')
