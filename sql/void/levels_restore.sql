-- levels_restore: one row per item whose level (or, with SPEC §9, whose compensation_charged
-- or interest_paid_to) the voided letters changed, with the state it had before them, for the
-- ERP to re-import (`void`). The §9 columns are NULL when the run's rules were off, and
-- written only when the run's levels_update file has them (void.py).
-- Grain: doc_id. Inputs: levels_update, item_details (views of the run's folder). Parameters: $letters.
SELECT u.doc_id, u.customer_id,
       u.level_after        AS level_before,     -- what the ERP holds since the run's re-import
       u.level_before       AS level_after,      -- restored
       u.last_dunned_on     AS last_dunned_before,
       u.last_dunned_before AS last_dunned_on,   -- restored (NULL: never dunned before)
       u.letter_id,
       i.compensation_charged,                   -- restored: as the run's export had it
       i.interest_paid_to
FROM levels_update AS u
LEFT JOIN item_details AS i USING (doc_id)
WHERE list_contains($letters, u.letter_id)
ORDER BY u.doc_id
