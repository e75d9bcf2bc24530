-- record item states: each item whose re-importable state the run changed, as its levels
-- file carries it (run_levels_update: the run's `levels_update` relation), and with
-- stale_export = "use_export" the lagging items' state as the export shows it (the run took
-- it: it is the latest state from now on). A part whose rule is off is not tracked (NULL).
-- Grain: (doc_id, letter_id). Inputs: run_levels_update, run_export_states, $run_id,
-- $track_compensation, $track_interest.
INSERT INTO item_states
SELECT $run_id, letter_id, doc_id, customer_id, level_before, level_after, last_dunned_before, last_dunned_on,
       CASE WHEN $track_compensation THEN compensation_charged END,
       CASE WHEN $track_interest THEN interest_paid_to END
FROM run_levels_update
UNION ALL
SELECT $run_id, NULL, doc_id, customer_id, level, level, last_dunned_on, last_dunned_on,
       CASE WHEN $track_compensation THEN compensation_charged END,
       CASE WHEN $track_interest THEN interest_paid_to END
FROM run_export_states
