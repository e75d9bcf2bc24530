-- send fold journal: the attempts of the journal just read (journal_lines) that `sends` lacks,
-- added with the folder they were sent from ($folder, absolute). An attempt is known by its
-- send_id, letter_id, attempt number and status (a `send` records each once); a line written
-- before send_id existed also by its time, since its send_id stands for every earlier `send`
-- of the folder. Lines cut short by a crash are left out: they never counted.
-- Grain: attempt. Inputs: journal_lines, sends. Parameters: $folder. Returns the rows added.
INSERT INTO sends (send_id, letter_id, message_id, folder, status, reply, attempt, sent_at)
SELECT j.send_id, j.letter_id, j.message_id, $folder, j.status, j.reply, j.attempt, j.sent_at
FROM journal_lines AS j
WHERE NOT j.cut AND j.damage IS NULL
  AND NOT EXISTS (
        SELECT 1 FROM sends AS s
        WHERE s.letter_id = j.letter_id AND s.send_id = j.send_id AND s.attempt = j.attempt
          AND s.status = j.status AND (NOT j.legacy OR s.sent_at = j.sent_at))
QUALIFY row_number() OVER (PARTITION BY j.send_id, j.letter_id, j.attempt, j.status,
                                        CASE WHEN j.legacy THEN j.sent_at END ORDER BY j.line_no) = 1
