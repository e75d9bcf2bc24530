-- decisions: one row per accepted input item with its outcome and reason (SPEC §4.12).
-- Grain: doc_id. Inputs: items, exclusions, advance, candidate_lines, letter_gates, letters.
SELECT
    i.doc_id, i.customer_id, i.doc_type, i.currency, i.open_amount, i.due_date,
    CAST(i.days_past_due AS INTEGER) AS days_past_due,
    CAST(i.level_before AS INTEGER) AS level_before,
    CAST(CASE WHEN sent.letter_id IS NOT NULL THEN c.level_after ELSE i.level_before END AS INTEGER)
        AS level_after,
    CASE WHEN sent.letter_id IS NULL                   THEN 'excluded'
         WHEN c.level_after <> i.level_before          THEN 'dunned'
         ELSE 'listed'
    END AS outcome,
    CASE WHEN e.exclusion IS NOT NULL                  THEN e.exclusion
         WHEN sent.letter_id IS NOT NULL               THEN c.line_reason
         WHEN g.suppressed_by IS NOT NULL              THEN g.suppressed_by
         WHEN a.advance_reason IS NOT NULL             THEN a.advance_reason
         ELSE 'credit'                                 -- a lowering item that is not listed
    END AS reason,
    sent.letter_id
FROM items AS i
JOIN exclusions AS e USING (_row)
LEFT JOIN advance AS a USING (_row)
LEFT JOIN candidate_lines AS c USING (_row)
LEFT JOIN letter_gates AS g ON g.letter_id = c.letter_id
LEFT JOIN letters AS sent ON sent.letter_id = c.letter_id
-- rows are sorted by doc_id when written (outputs.py)
