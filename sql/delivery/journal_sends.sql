-- journal sends: the attempts of a folder's send journal (journal_lines, made from
-- ledger/send_journal_lines.sql, its damage already refused) in the shape of the ledger's
-- `sends`, so that ledger/send_state.sql says of a folder without a ledger what it says with
-- one: which letters a server accepted, and which are in doubt. Lines cut short by a crash
-- never count. The folder is the journal's own, named by the caller.
-- Grain: attempt. Inputs: journal_lines.
SELECT send_id, letter_id, message_id, CAST(NULL AS VARCHAR) AS folder, status, reply, attempt, sent_at
FROM journal_lines
WHERE NOT cut AND damage IS NULL
