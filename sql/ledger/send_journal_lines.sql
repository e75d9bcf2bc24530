-- send journal lines: every line of an output folder's send journal ($path,
-- OUT/delivery/sent.jsonl), numbered, as the attempt of `send` it records, for the ledger's
-- `sends` (ledger/sends.py folds them in). A line that is no JSON object but starts the way
-- `send` starts a line, and lacks the send_id a whole line ends with, was cut short by a crash
-- (cut): it never counts, as `send` reads it.
-- `damage` says what else is wrong with a line (NULL: nothing); a file that is no UTF-8 text
-- is one row with line_no NULL. A line written before send_id existed takes $legacy_send_id,
-- and its time tells it from another `send`'s line of the same letter and attempt.
-- Grain: line of the journal. Inputs: the journal file. Parameters: $path, $legacy_send_id, $now.
WITH
file AS (
    SELECT try(decode(content)) AS text FROM read_blob($path)
),
split AS (
    SELECT string_split(text, chr(10)) AS lines FROM file WHERE text IS NOT NULL
),
numbered AS (
    SELECT i::INTEGER AS line_no, lines[i] AS line FROM split, range(1, len(lines) + 1) AS t(i)
),
typed AS (
    SELECT line_no, line,
           try(json_type(line)) IS NOT DISTINCT FROM 'OBJECT' AS is_object,
           try(json_type(line, ['$.send_id', '$.letter_id', '$.status', '$.attempt', '$.message_id', '$.reply',
                                '$.time'])) AS types
    FROM numbered
    WHERE trim(line) <> ''
),
judged AS (
    SELECT *,
           -- a whole line ends with its send_id: one holding it, with more after, was edited, not cut
           NOT is_object AND starts_with(line, '{"letter_id": ')
               AND NOT regexp_matches(line, '"send_id": "[^"]*"}') AS cut,
           CASE
               WHEN NOT is_object THEN 'is no JSON object'
               WHEN types[2] IS DISTINCT FROM 'VARCHAR' THEN 'has no letter_id'
               WHEN types[3] IS DISTINCT FROM 'VARCHAR'
                    OR try(line->>'$.status') NOT IN ('attempting', 'accepted', 'partial', 'temporary',
                                                      'permanent', 'disconnected', 'in_doubt', 'not_attempted')
                   THEN 'has no status `send` writes'
               WHEN types[4] IS NULL OR types[4] NOT IN ('UBIGINT', 'BIGINT') THEN 'has no attempt number'
               WHEN coalesce(types[1], 'NULL') NOT IN ('VARCHAR', 'NULL')
                    OR coalesce(types[5], 'NULL') NOT IN ('VARCHAR', 'NULL')
                    OR coalesce(types[6], 'NULL') NOT IN ('VARCHAR', 'NULL')
                    OR coalesce(types[7], 'NULL') NOT IN ('VARCHAR', 'NULL')
                   THEN 'has a send_id, message_id, reply or time that is no text'
           END AS problem
    FROM typed
)
SELECT line_no, cut, CASE WHEN NOT cut THEN problem END AS damage,
       CASE WHEN problem IS NULL THEN coalesce(line->>'$.send_id', $legacy_send_id) END AS send_id,
       CASE WHEN problem IS NULL THEN line->>'$.send_id' IS NULL END AS legacy,
       CASE WHEN problem IS NULL THEN line->>'$.letter_id' END AS letter_id,
       CASE WHEN problem IS NULL THEN line->>'$.message_id' END AS message_id,
       CASE WHEN problem IS NULL THEN line->>'$.status' END AS status,
       CASE WHEN problem IS NULL THEN line->>'$.reply' END AS reply,
       CASE WHEN problem IS NULL THEN try_cast(line->>'$.attempt' AS INTEGER) END AS attempt,
       CASE WHEN problem IS NULL
            THEN coalesce(try_cast(line->>'$.time' AS TIMESTAMPTZ)::TIMESTAMP, $now::TIMESTAMP) END AS sent_at
FROM judged
UNION ALL
SELECT NULL, false, 'is no UTF-8 text', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM file WHERE text IS NULL
