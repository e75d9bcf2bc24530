-- levels_update: one row per item whose level changed tonight, for the ERP to re-import
-- (SPEC §4.10, §5). Grain: doc_id. Inputs: decisions, items.
SELECT d.doc_id, d.customer_id, d.level_before, d.level_after,
       i.last_dunned_before, $as_of::DATE AS last_dunned_on, d.letter_id
FROM decisions AS d JOIN items AS i USING (doc_id)
WHERE d.level_after <> d.level_before
ORDER BY d.doc_id
