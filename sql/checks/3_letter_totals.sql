-- §8.3 Each letter's totals equal the sums of its lines; total_due follows §4.8 (with §9:
-- plus compensation; a courtesy notice's, level 0, is its current total).
-- With letters across currencies (SPEC §11.1) a line's part of the totals is its letter_amount,
-- in the letter's currency (NULL when no policy sets letter_currency: the line's own amount).
-- One row: ok, detail. Inputs: letters, letter_lines (compensation_total / compensation_amount
-- NULL when no level charges compensation, letter_amount NULL without letter_currency),
-- cfg_policies (include_in_total).
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
checked AS (
    SELECT l.letter_id,
           s.letter_id IS NOT NULL
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
       || coalesce(' (first: ' || min(letter_id) FILTER (WHERE NOT ok) || ')', '')
       || ', ' || (SELECT count(*) FROM letter_lines WHERE letter_id NOT IN (SELECT letter_id FROM letters))
       || ' lines without a letter' AS detail
FROM checked
