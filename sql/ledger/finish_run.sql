-- finish run: the run's folder is in place: its letters count from now on.
-- Grain: run. Inputs: runs, $run_id.
UPDATE runs SET status = 'finished' WHERE run_id = $run_id
