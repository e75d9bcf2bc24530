-- outbox_letters: check 10 of `reconcile` (SPEC §10.2): each letter of the outbox index and its message.
-- Grain: letter_id. Inputs: outbox (a view of the folder's outbox.parquet).
SELECT letter_id, eml_path FROM outbox ORDER BY letter_id
