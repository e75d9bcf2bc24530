-- journal_state: what the send journal ($path, OUT/delivery/sent.jsonl) says of each letter an
-- earlier `send` tried and must not mail again: `done` when a server accepted it (a status of
-- $done: accepted, or partly accepted); else `in_doubt` when an attempt handed the whole
-- message over and no answer came (the server may deliver it), with the time and reply of the
-- latest such attempt. A line cut short by a crash reads as NULLs (ignore_errors): it never counts.
-- Grain: letter_id. Inputs: the journal file. Parameters: $path, $done.
WITH
attempts AS (
    SELECT letter_id, status, try_cast("time" AS TIMESTAMPTZ)::TIMESTAMP AS attempted_at, reply
    FROM read_json($path, format = 'newline_delimited', ignore_errors = true,
                   columns = {letter_id: 'VARCHAR', status: 'VARCHAR', "time": 'VARCHAR', reply: 'VARCHAR'})
    WHERE letter_id IS NOT NULL
)
SELECT letter_id,
       CASE WHEN bool_or(status IN $done) THEN 'done' ELSE 'in_doubt' END AS state,
       max(attempted_at) FILTER (WHERE status = 'in_doubt') AS attempted_at,
       arg_max(reply, attempted_at) FILTER (WHERE status = 'in_doubt') AS reply
FROM attempts
GROUP BY letter_id
HAVING bool_or(status IN $done) OR bool_or(status = 'in_doubt')
ORDER BY letter_id
