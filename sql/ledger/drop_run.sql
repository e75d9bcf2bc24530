-- drop run: a run that never put its folder in place (killed before the rename): its rows
-- stay for the record, but only finished runs count anywhere.
-- Grain: run. Inputs: runs, $run_id.
UPDATE runs SET status = 'dropped' WHERE run_id = $run_id
