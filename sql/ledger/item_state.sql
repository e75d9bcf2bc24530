-- item state: each item's latest state the ledger knows before the night (counted_letters,
-- made first as a temporary table), with the run whose levels file carries it: the state the
-- export should show if every levels file was re-imported. A state a run took from the
-- export (stale_export = "use_export", letter_id NULL) counts like a letter's; within one
-- run a letter's state wins over it.
-- Grain: doc_id. Inputs: item_states, runs, counted_letters, $run_date.
WITH
latest_of_night AS (
    SELECT run_date, max(run_id) AS run_id FROM runs WHERE status = 'finished' GROUP BY run_date
),
counted AS (
    SELECT s.*, c.run_date, c.folder
    FROM item_states AS s
    JOIN counted_letters AS c ON c.run_id = s.run_id AND c.letter_id = s.letter_id
    UNION ALL BY NAME
    SELECT s.*, r.run_date, r.folder
    FROM item_states AS s
    JOIN latest_of_night AS n USING (run_id)
    JOIN runs AS r USING (run_id)
    WHERE s.letter_id IS NULL AND r.run_date < $run_date
)
SELECT doc_id, level_after AS level, last_dunned_on, compensation_charged, interest_paid_to,
       letter_id, run_date, folder
FROM counted
QUALIFY row_number() OVER (PARTITION BY doc_id
                           ORDER BY run_date DESC, run_id DESC, letter_id IS NULL, letter_id) = 1
ORDER BY doc_id
