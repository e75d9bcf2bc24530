-- levels_restore: one row per item whose level the voided letters changed, with the level
-- and last-dunned date it had before them, for the ERP to re-import (`void`).
-- Grain: doc_id. Inputs: levels_update (views of the run's folder). Parameters: $letters.
SELECT doc_id, customer_id,
       level_after        AS level_before,     -- what the ERP holds since the run's re-import
       level_before       AS level_after,      -- restored
       last_dunned_on     AS last_dunned_before,
       last_dunned_before AS last_dunned_on,   -- restored (NULL: never dunned before)
       letter_id
FROM levels_update
WHERE list_contains($letters, letter_id)
ORDER BY doc_id
