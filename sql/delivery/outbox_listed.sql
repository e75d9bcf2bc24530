-- outbox_listed: every message of outbox.parquet with its file and sha256, which `send`
-- checks against the files before anything goes out (SPEC §10.4).
-- Grain: letter_id. Inputs: outbox (a view of an output folder).
SELECT letter_id, eml_path, sha256 FROM outbox
