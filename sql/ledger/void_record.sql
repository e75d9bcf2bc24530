-- void record: the letters of voids made from output folder $folder (absolute), one row per
-- letter ($void_ids, $letter_ids and $void_dates side by side), those `voids` lacks: after a
-- void, and from OUT/voids.jsonl when a void was killed before the ledger heard of it.
-- Grain: (void_id, letter_id). Inputs: voids. Parameters: $void_ids, $letter_ids, $void_dates,
-- $folder, $recorded_at. Returns the rows added.
INSERT INTO voids (void_id, letter_id, void_date, folder, recorded_at)
SELECT v.void_id, v.letter_id, v.void_date::DATE, $folder, $recorded_at
FROM (SELECT unnest($void_ids::VARCHAR[]) AS void_id, unnest($letter_ids::VARCHAR[]) AS letter_id,
             unnest($void_dates::VARCHAR[]) AS void_date) AS v
WHERE NOT EXISTS (SELECT 1 FROM voids AS x WHERE x.void_id = v.void_id AND x.letter_id = v.letter_id)
QUALIFY row_number() OVER (PARTITION BY v.void_id, v.letter_id) = 1
