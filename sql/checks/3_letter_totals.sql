-- §8.3 Each letter's totals equal the sums of its lines; total_due follows §4.8 (with §9:
-- plus compensation; a courtesy notice's, level 0, is its current total).
-- With letters across currencies (SPEC §11.1) a line's part of the totals is its letter_amount,
-- in the letter's currency (NULL when no policy sets letter_currency: the line's own amount),
-- and each letter_amount must be its line's amount (open_amount, an interest line's
-- interest_amount; not compensation, charged in the letter currency) times its rate, rounded
-- half away from zero to the letter currency's minor unit, a line in the letter's currency at
-- rate 1: totals that add up are not enough, as a changed rate with its line and totals
-- changed to match would otherwise pass.
-- One row: ok, detail. Inputs: letters, letter_lines (compensation_total / compensation_amount
-- NULL when no level charges compensation, letter_amount NULL without letter_currency),
-- cfg_policies (include_in_total), cfg_currencies (minor_unit).
WITH
sums AS (
    SELECT letter_id,
           coalesce(sum(coalesce(letter_amount, open_amount)) FILTER (WHERE line_type = 'overdue'), 0) AS overdue,
           coalesce(sum(coalesce(letter_amount, open_amount)) FILTER (WHERE line_type = 'current'), 0) AS current,
           coalesce(sum(coalesce(letter_amount, open_amount)) FILTER (WHERE line_type = 'credit'), 0) AS credit,
           coalesce(sum(coalesce(letter_amount, interest_amount))
                    FILTER (WHERE line_type IN ('interest', 'late_interest')), 0) AS interest,
           coalesce(sum(compensation_amount) FILTER (WHERE line_type = 'compensation'), 0) AS compensation,
           count(*) FILTER (WHERE line_type IN ('overdue', 'current', 'credit')) AS item_lines
    FROM letter_lines GROUP BY letter_id
),
-- the letters with a line whose letter_amount is not its amount converted at its rate
misconverted AS (
    SELECT DISTINCT letter_id FROM (
        SELECT ll.letter_id, ll.letter_amount, ll.rate, ll.currency = l.currency AS own, cur.minor_unit,
               CASE WHEN ll.line_type IN ('interest', 'late_interest') THEN ll.interest_amount
                    ELSE ll.open_amount END * ll.rate AS exact
        FROM letter_lines AS ll
        JOIN letters AS l USING (letter_id)
        LEFT JOIN cfg_currencies AS cur ON cur.currency = l.currency
        WHERE ll.letter_amount IS NOT NULL AND ll.line_type <> 'compensation'   -- in the letter currency (§9.4)
    )
    -- each branch cast on its own: a CASE of round()s to different scales takes the smallest
    WHERE rate IS NULL OR (own AND rate <> 1)
       OR letter_amount IS DISTINCT FROM CASE minor_unit WHEN 0 THEN CAST(round(exact, 0) AS DECIMAL(18, 2))
                                                         WHEN 1 THEN CAST(round(exact, 1) AS DECIMAL(18, 2))
                                                         WHEN 2 THEN CAST(round(exact, 2) AS DECIMAL(18, 2)) END
),
checked AS (
    SELECT l.letter_id,
           s.letter_id IS NOT NULL
           AND l.letter_id NOT IN (SELECT letter_id FROM misconverted)
           AND l.overdue_total = s.overdue AND l.current_total = s.current
           AND l.credit_total = s.credit AND l.interest_total = s.interest
           AND coalesce(l.compensation_total, 0) = s.compensation
           AND l.line_count = s.item_lines
           AND l.total_due = CASE WHEN l.level = 0 THEN l.current_total
                                  ELSE l.overdue_total + l.credit_total + l.fee + coalesce(l.compensation_total, 0)
                                       + CASE WHEN l.policy IN (SELECT policy FROM cfg_policies WHERE NOT include_in_total) THEN 0
                                              ELSE l.interest_total END END
           AS ok
    FROM letters AS l LEFT JOIN sums AS s USING (letter_id)
)
SELECT coalesce(bool_and(ok), true)
       AND NOT EXISTS (SELECT 1 FROM letter_lines WHERE letter_id NOT IN (SELECT letter_id FROM letters)) AS ok,
       count(*) || ' letters, ' || count(*) FILTER (WHERE NOT ok) || ' with totals that differ from their lines'
       || coalesce(' (' || nullif((SELECT count(*) FROM misconverted), 0)
                   || ' with a letter_amount that is not its line''s amount at its rate)', '')
       || coalesce(' (first: ' || min(letter_id) FILTER (WHERE NOT ok) || ')', '')
       || ', ' || (SELECT count(*) FROM letter_lines WHERE letter_id NOT IN (SELECT letter_id FROM letters))
       || ' lines without a letter' AS detail
FROM checked
