-- outbox_pending: the messages of the outbox that `send` still has to deliver: every one but
-- those the journal records as accepted ($done, from journal_state.sql), by letter_id.
-- Grain: letter_id. Inputs: outbox (a view of an output folder). Parameters: $done.
SELECT letter_id, "to", subject, message_id, eml_path, sha256 FROM outbox
WHERE NOT list_contains($done, letter_id) ORDER BY letter_id
