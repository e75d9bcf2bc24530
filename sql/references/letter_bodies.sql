-- references/letter_bodies: every letter of the night with the body of its ISO 11649
-- creditor reference, for stage 59_payment_references, which adds "RF" and the check digits
-- with python-stdnum (letters/payment_codes.py). The body is the letter's date as YYDDD (year
-- and day of the year) and the letter id's 16 hex digits, uppercased: 21 characters, the most
-- ISO 11649 allows after RF and the check digits. The id's hex digits repeat every night for
-- the same letter key (SPEC §5), so the date keeps a reference unique across nights, and the
-- letter id can be read back from it (DL-20261124-0214c89edb90d63f -> 263280214C89EDB90D63F).
-- Grain: letter_id. Inputs: letter_heads.
SELECT letter_id,
       strftime(strptime(substr(letter_id, 4, 8), '%Y%m%d'), '%y%j')
           || upper(right(letter_id, letter_id_hex_digits())) AS body
FROM letter_heads
ORDER BY letter_id
