-- level_changes: one row per item whose level change differs between run A and run B,
-- levels_update compared by doc_id: changed in one run only, or to a different level.
-- Grain: doc_id. Inputs: a_levels_update, b_levels_update.
SELECT
    coalesce(a.doc_id, b.doc_id) AS doc_id,
    coalesce(a.customer_id, b.customer_id) AS customer_id,
    a.level_before AS level_before_a, a.level_after AS level_after_a, a.letter_id AS letter_id_a,
    b.level_before AS level_before_b, b.level_after AS level_after_b, b.letter_id AS letter_id_b
FROM a_levels_update AS a
FULL JOIN b_levels_update AS b ON a.doc_id = b.doc_id
WHERE a.doc_id IS NULL OR b.doc_id IS NULL
   OR a.level_after IS DISTINCT FROM b.level_after
   OR a.level_before IS DISTINCT FROM b.level_before
ORDER BY doc_id
