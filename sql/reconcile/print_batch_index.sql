-- print_batch_index: check 10 of `reconcile` (SPEC §10.3): the print batch's index in the
-- file's order, which is the order the letters are printed in (no ORDER BY: a scan of one
-- CSV keeps its rows' order).
-- Grain: letter_id. Inputs: print_batch (a view of the folder's print/print_batch.csv).
SELECT * FROM print_batch
