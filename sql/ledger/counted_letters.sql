-- counted letters: the letters whose state counts before night $run_date: letters of
-- finished runs of earlier nights that no void undid, from each night's latest run (a night
-- run again replaces its earlier run: its levels file is the one re-imported), and, from an
-- earlier run of a night, the letters a server accepted all the same.
-- Grain: (run_id, letter_id). Inputs: runs, letters, voids, sends, $run_date.
WITH
latest_of_night AS (
    SELECT run_date, max(run_id) AS run_id FROM runs WHERE status = 'finished' GROUP BY run_date
)
SELECT l.run_id, l.letter_id, r.run_date, r.folder
FROM letters AS l
JOIN runs AS r USING (run_id)
WHERE r.status = 'finished' AND r.run_date < $run_date
  AND l.letter_id NOT IN (SELECT letter_id FROM voids)
  AND (l.run_id IN (SELECT run_id FROM latest_of_night)
       OR l.letter_id IN (SELECT letter_id FROM sends WHERE status IN ('accepted', 'partial')))
