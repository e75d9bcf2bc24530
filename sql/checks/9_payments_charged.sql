-- §9.5 payments_charged matches the late-payment interest lines: per letter the same
-- interest, each payment charged once, and only in letters that went out.
-- One row: ok, detail.
WITH
lines AS (
    SELECT letter_id, sum(interest_amount) AS interest FROM letter_lines
    WHERE line_type = 'late_interest' GROUP BY letter_id
),
charged AS (
    SELECT letter_id, sum(interest_amount) AS interest FROM payments_charged GROUP BY letter_id
),
mismatched AS (
    SELECT coalesce(l.letter_id, c.letter_id) AS letter_id
    FROM lines AS l FULL JOIN charged AS c USING (letter_id)
    WHERE l.letter_id IS NULL OR c.letter_id IS NULL OR l.interest <> c.interest
       OR coalesce(l.letter_id, c.letter_id) NOT IN (SELECT letter_id FROM letters)
),
twice AS (
    SELECT payment_id FROM payments_charged GROUP BY payment_id HAVING count(*) > 1
)
SELECT NOT EXISTS (SELECT 1 FROM mismatched) AND NOT EXISTS (SELECT 1 FROM twice) AS ok,
       (SELECT count(*) FROM payments_charged) || ' payments charged in ' || (SELECT count(*) FROM charged)
       || ' letters vs ' || (SELECT count(*) FROM lines) || ' letters with late-payment interest; '
       || (SELECT count(*) FROM mismatched) || ' mismatched'
       || coalesce(' (first: ' || (SELECT min(letter_id) FROM mismatched) || ')', '')
       || ', ' || (SELECT count(*) FROM twice) || ' payment(s) charged twice' AS detail
