-- void voided: every letter the ledger records as voided, from any folder, with the first void
-- that undid it and the folder it was made from: `void` voids a letter once, across folders.
-- Grain: letter_id. Inputs: voids.
SELECT letter_id, arg_min(void_id, recorded_at) AS void_id, arg_min(folder, recorded_at) AS folder
FROM voids GROUP BY letter_id ORDER BY letter_id
