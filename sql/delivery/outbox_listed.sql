-- outbox_listed: every message of outbox.parquet with its file and sha256, which `send`
-- checks against the files before anything goes out (SPEC §10.4), and whether the row names
-- a letter of the run (`known`) and how many rows name it (`copies`): an edited outbox whose
-- digest was written into run.json too could name a file elsewhere, or one letter twice.
-- Grain: outbox row. Inputs: outbox, letters (views of an output folder).
SELECT o.letter_id, o.eml_path, o.sha256,
       o.letter_id IN (SELECT letter_id FROM letters) AS known,
       count(*) OVER (PARTITION BY o.letter_id) AS copies
FROM outbox AS o
