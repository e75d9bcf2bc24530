-- has_letter: whether the folder's letters hold letter $id (`render --letter`).
-- Grain: one row. Inputs: letters (a view of an output folder). Parameters: $id.
SELECT count(*) > 0 AS found FROM letters WHERE letter_id = $id
