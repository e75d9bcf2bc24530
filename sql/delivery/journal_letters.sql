-- journal letters: every letter id the send journal just read records an attempt at
-- (journal_sends.sql's `sends`), as one sorted list (NULL when there is none).
-- Grain: one row. Inputs: sends.
SELECT list(DISTINCT letter_id ORDER BY letter_id) FROM sends
