-- payment_references: each letter's ISO 11649 creditor reference (issue 19): "RF", two check
-- digits and a body of 21 characters, the most ISO 11649 allows after them. The body is the
-- letter's date as YYDDD (year and day of the year) and the letter id's 16 hex digits,
-- uppercased. The id's hex digits repeat every night for the same letter key (SPEC §5), so the
-- date keeps a reference unique across nights, and the letter id can be read back from it
-- (DL-20261124-0214c89edb90d63f -> 263280214C89EDB90D63F).
-- The check digits are ISO 7064 MOD 97-10 as python-stdnum computes them
-- (letters/payment_codes.creditor_reference; tests/test_payment_references_sql.py holds this
-- file to it): the body and "RF00" read as one number, each letter as two digits (A = 10 ...
-- Z = 35), its rest modulo 97 taken digit by digit; the check digits are 98 minus that rest.
-- In SQL rather than a Python call per letter: 0.4 s of CPU instead of 3.6 s for the 276,000
-- letters of a night of 10 M items.
-- Grain: letter_id. Inputs: letter_heads.
WITH
bodies AS (
    SELECT letter_id,
           strftime(strptime(substr(letter_id, 4, 8), '%Y%m%d'), '%y%j')
               || upper(right(letter_id, letter_id_hex_digits())) AS body
    FROM letter_heads
),
rests AS (
    SELECT letter_id, body,
           list_reduce(list_transform(string_split(body || 'RF00', ''),
                                      lambda c: CASE WHEN c BETWEEN '0' AND '9' THEN ascii(c) - 48
                                                     ELSE ascii(c) - 55 END),          -- 'A' -> 10
                       lambda rest, v: (rest * CASE WHEN v < 10 THEN 10 ELSE 100 END + v) % 97,
                       0) AS rest
    FROM bodies
)
SELECT letter_id, 'RF' || lpad(CAST(98 - rest AS VARCHAR), 2, '0') || body AS payment_reference
FROM rests
ORDER BY letter_id
