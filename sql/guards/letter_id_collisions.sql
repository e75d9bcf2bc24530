-- letter_id_collisions: one row per letter id that two or more different letter keys would
-- share, with those keys in order (SPEC §5: two keys never share a letter; a run in which
-- they would stops with an internal error and writes nothing). Not a stage: guards.py runs it
-- over `letter_keys` once the night is decided; on a Dask cluster, over the keys of all shards
-- (each shard decides its customers alone, so only the union shows a collision between them).
-- Grain: letter_id. Inputs: letter_keys.
SELECT letter_id, list(DISTINCT letter_key ORDER BY letter_key) AS letter_keys
FROM letter_keys
GROUP BY letter_id
HAVING count(DISTINCT letter_key) > 1
ORDER BY letter_id
