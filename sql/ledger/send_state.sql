-- send state: the letters of $letters (an outbox's) that `send` must not mail now. `done`: a
-- server accepted it (wholly or for some recipients) from any folder; `folder` is where it
-- first was. `in_doubt`: no server accepted the letter, and either a `send` other than
-- $send_id wrote an `attempting` row and no outcome for the same send_id, letter_id and
-- attempt (it stopped, or is still talking to the server, between handing the message over
-- and hearing the answer), or a `send` recorded the outcome `in_doubt` (the whole message went
-- out and no answer came); `folder`, `sent_at` and `reply` (NULL for an attempt without its
-- outcome) are the latest such attempt's. $low and $high are the least and greatest of
-- $letters: they let DuckDB skip the row groups of other nights.
-- Grain: letter_id. Inputs: sends. Parameters: $letters, $low, $high, $send_id.
WITH
wanted AS (
    SELECT * FROM sends
    WHERE letter_id BETWEEN $low AND $high AND letter_id IN (SELECT unnest($letters::VARCHAR[]))
),
done AS (
    SELECT letter_id, arg_min(folder, sent_at) AS folder, min(sent_at) AS sent_at
    FROM wanted WHERE status IN ('accepted', 'partial') GROUP BY letter_id
),
open_attempts AS (
    SELECT a.letter_id, a.folder, a.sent_at, a.reply
    FROM wanted AS a
    WHERE (a.status = 'in_doubt'
           OR a.status = 'attempting' AND a.send_id <> $send_id
              AND NOT EXISTS (SELECT 1 FROM wanted AS o
                              WHERE o.send_id = a.send_id AND o.letter_id = a.letter_id AND o.attempt = a.attempt
                                AND o.status <> 'attempting'))
      AND a.letter_id NOT IN (SELECT letter_id FROM done)
)
SELECT letter_id, 'done' AS state, folder, sent_at, NULL AS reply FROM done
UNION ALL
SELECT letter_id, 'in_doubt' AS state, arg_max(folder, sent_at) AS folder, max(sent_at) AS sent_at,
       arg_max(reply, sent_at) AS reply
FROM open_attempts GROUP BY letter_id
ORDER BY letter_id
