-- references/letter_bodies: every letter of the night with the body of its ISO 11649
-- creditor reference, for stage 59_payment_references, which adds "RF" and the check digits
-- with python-stdnum (letters/payment_codes.py). The body is the letter id's 16 hex digits
-- (SPEC §5: the first 16 hex of the sha256 of the letter key), uppercased: ISO 11649 allows
-- 21 characters after RF and the check digits, so the id's date cannot join them.
-- Grain: letter_id. Inputs: letter_heads.
SELECT letter_id, upper(right(letter_id, letter_id_hex_digits())) AS body
FROM letter_heads
ORDER BY letter_id
