-- accepted_letters: the letters the send journal ($path, OUT/delivery/sent.jsonl) records
-- with a status of $done (accepted, or partly accepted) by an earlier `send`, as one list
-- (NULL when there is none). A line cut short by a crash reads as NULLs (ignore_errors): it
-- never counts as accepted.
-- Grain: one row. Inputs: the journal file. Parameters: $path, $done.
SELECT list(DISTINCT letter_id) FILTER (WHERE status IN $done AND letter_id IS NOT NULL)
FROM read_json($path, format = 'newline_delimited', ignore_errors = true,
               columns = {letter_id: 'VARCHAR', status: 'VARCHAR'})
