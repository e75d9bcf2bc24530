-- no item overrides: the empty relation 22_items joins when the run takes no state from a
-- ledger (no ledger, or stale_export other than "use_ledger"), with item_overrides' columns.
-- Grain: doc_id. Inputs: none.
SELECT NULL::VARCHAR AS doc_id, NULL::INTEGER AS level_before, NULL::DATE AS last_dunned_before,
       NULL::BOOLEAN AS compensation_charged, NULL::DATE AS interest_paid_to
WHERE false
