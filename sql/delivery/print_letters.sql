-- print_letters: one row per letter whose channel includes print (SPEC §10.3), in postal
-- order: the order the printer's batch and its index follow.
-- Grain: letter_id. Inputs: letters, recipients.
SELECT l.letter_id, l.pdf_path
FROM letters AS l
JOIN recipients AS r USING (letter_id)
WHERE r.delivery IN ('print', 'both')
ORDER BY r.country NULLS LAST, r.postal_code NULLS LAST, l.letter_id
