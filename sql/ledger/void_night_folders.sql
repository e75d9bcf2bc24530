-- void night folders: the folders of the finished runs of night $run_date other than $folder:
-- the same letters may have been voided from there, and their voids.jsonl is read first.
-- Grain: folder. Inputs: runs. Parameters: $run_date, $folder.
SELECT DISTINCT folder FROM runs
WHERE run_date = $run_date::DATE AND status = 'finished' AND folder <> $folder
ORDER BY folder
