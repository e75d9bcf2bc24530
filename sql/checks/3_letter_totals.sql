-- §8.3 Each letter's totals equal the sums of its lines; total_due follows §4.8.
-- One row: ok, detail. Parameters: $interest_outside_total (policies with include_in_total = false).
WITH sums AS (
    SELECT letter_id,
           coalesce(sum(open_amount) FILTER (WHERE line_type = 'overdue'), 0) AS overdue,
           coalesce(sum(open_amount) FILTER (WHERE line_type = 'current'), 0) AS current,
           coalesce(sum(open_amount) FILTER (WHERE line_type = 'credit'), 0) AS credit,
           coalesce(sum(interest_amount) FILTER (WHERE line_type = 'interest'), 0) AS interest,
           count(*) FILTER (WHERE line_type IN ('overdue', 'current', 'credit')) AS item_lines
    FROM letter_lines GROUP BY letter_id
),
checked AS (
    SELECT l.letter_id,
           s.letter_id IS NOT NULL
           AND l.overdue_total = s.overdue AND l.current_total = s.current
           AND l.credit_total = s.credit AND l.interest_total = s.interest
           AND l.line_count = s.item_lines
           AND l.total_due = l.overdue_total + l.credit_total + l.fee
               + CASE WHEN list_contains($interest_outside_total, l.policy) THEN 0 ELSE l.interest_total END
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
