-- letter_keys: one row per letter key of tonight's candidate letters and courtesy notices,
-- suppressed ones included (their ids name them in item_details), with the id made from it
-- (SPEC §5: DL-<yyyymmdd>-<first 16 hex of sha256 of the key>). Two different keys must
-- never share an id: sql/guards/letter_id_collisions.sql looks for any that do, over this relation
-- on one machine and over every shard's rows at the coordinator of a Dask run.
-- Grain: (letter_id, letter_key). Inputs: candidate_lines, pre_due_lines.
SELECT letter_id, letter_key FROM candidate_lines
UNION
SELECT letter_id, letter_key FROM pre_due_lines
