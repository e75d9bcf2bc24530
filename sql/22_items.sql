-- items: one row per accepted open item with its customer and policy and the days past
-- due on the run date (SPEC §4.1). Everything after this stage reads `items`. A view
-- (pipeline.VIEW_RELATIONS): the rows of open_items_parsed are not copied.
-- With a ledger and stale_export = "use_ledger", an item whose export lags the ledger takes
-- the ledger's state (ledger_item_overrides; empty otherwise): the run decides as if the
-- levels file had been re-imported.
-- Inputs: open_items_parsed (already joined with its customer), rejected, cfg_policies,
-- ledger_item_overrides.
SELECT
    i._row, i.doc_id, i.customer_id, i.doc_type, i.is_raising, i.doc_date, i.due_date, i.currency,
    i.minor_unit, i.amount, i.open_amount,
    CASE WHEN o.doc_id IS NULL THEN i.level_before ELSE o.level_before END AS level_before,
    CASE WHEN o.doc_id IS NULL THEN i.last_dunned_before ELSE o.last_dunned_before END AS last_dunned_before,
    i.blocked,
    i.disputed, i.grace_until, i.branch, i.dunning_blocked,
    i.customer_grace_until, i.customer_interest_rate, i.policy,
    -- SPEC §9.2, §9.4
    CASE WHEN o.doc_id IS NULL THEN i.compensation_charged ELSE o.compensation_charged END AS compensation_charged,
    CASE WHEN o.doc_id IS NULL THEN i.interest_paid_to ELSE o.interest_paid_to END AS interest_paid_to,
    p.last_level, p.sequential, p.min_days_between_letters, i.days_past_due,
    i.letter_currency, i.rate_day   -- SPEC §11.1 (26_item_rates converts)
FROM open_items_parsed AS i
LEFT JOIN cfg_policies AS p ON p.policy = i.policy
LEFT JOIN ledger_item_overrides AS o ON o.doc_id = i.doc_id
-- an ANTI JOIN, not NOT IN (...): DuckDB then knows how many rows it keeps. It took a NOT IN
-- filter to keep a fifth of the items, and planned every join of every later stage for that
-- fifth (hash tables built over all items' wide rows instead of over the smaller side).
ANTI JOIN rejected AS r ON r.source = 'open_items' AND r.row_number = i._row
