-- send record: one attempt of `send`: its `attempting` row, committed before the message goes
-- out, or its outcome once the server answered (after the journal line). Added once: a
-- `send` folding this folder's journal at the same moment may have added the outcome already.
-- Grain: attempt. Inputs: sends. Parameters: $send_id, $letter_id, $message_id, $folder,
-- $status, $reply, $attempt, $sent_at.
INSERT INTO sends (send_id, letter_id, message_id, folder, status, reply, attempt, sent_at)
SELECT $send_id, $letter_id, $message_id, $folder, $status, $reply, $attempt, $sent_at
WHERE NOT EXISTS (SELECT 1 FROM sends
                  WHERE letter_id = $letter_id AND send_id = $send_id AND attempt = $attempt AND status = $status)
