-- record letter items: each item line of the run's letters, with the interest and the
-- compensation its letter charged on that item summed onto it (run_letter_lines: the run's
-- `letter_lines` relation; late-payment interest belongs to payments, not items). The amounts
-- are the letter's: in a letter across currencies (SPEC §11.1) each line's letter_amount, in
-- the letter's currency, which is the one currency the ledger keeps per letter (`history`
-- prints each amount with it); without conversion letter_amount is the line's own amount.
-- Grain: (letter_id, doc_id). Inputs: run_letter_lines, $run_id.
INSERT INTO letter_items
WITH
charges AS (
    SELECT letter_id, doc_id, min(interest_from) AS interest_from, max(interest_to) AS interest_to,
           sum(interest_days) AS interest_days,
           sum(coalesce(letter_amount, interest_amount)) AS interest_amount,
           sum(compensation_amount) AS compensation_amount
    FROM run_letter_lines
    WHERE line_type IN ('interest', 'compensation')
    GROUP BY letter_id, doc_id
)
SELECT $run_id, i.letter_id, i.doc_id, i.line_type, coalesce(i.letter_amount, i.open_amount),
       i.level_before, i.level_after,
       c.interest_from, c.interest_to, c.interest_days, c.interest_amount, c.compensation_amount
FROM run_letter_lines AS i
LEFT JOIN charges AS c USING (letter_id, doc_id)
WHERE i.line_type IN ('overdue', 'current', 'credit')
