-- decisions: one row per accepted input item with its outcome and reason (SPEC §4.12).
-- An item goes out in a dunning letter or a courtesy notice (§9.6: listed, pre_due); one
-- that does not takes the reason of the notice or letter that was suppressed, or of §4.2/§4.3.
-- Grain: doc_id. Inputs: items, exclusions, advance, candidate_lines, letter_gates,
-- pre_due_lines, letter_items.
SELECT
    i.doc_id, i.customer_id, i.doc_type, i.currency, i.open_amount, i.due_date,
    CAST(i.days_past_due AS INTEGER) AS days_past_due,
    CAST(i.level_before AS INTEGER) AS level_before,
    CAST(CASE WHEN sent.letter_id IS NOT NULL THEN sent.level_after ELSE i.level_before END AS INTEGER)
        AS level_after,
    CASE WHEN sent.letter_id IS NULL                   THEN 'excluded'
         WHEN sent.level_after <> i.level_before       THEN 'dunned'
         ELSE 'listed'
    END AS outcome,
    CASE WHEN e.exclusion IS NOT NULL                  THEN e.exclusion
         WHEN sent.letter_id IS NOT NULL               THEN sent.line_reason
         WHEN n.suppressed_by IS NOT NULL              THEN n.suppressed_by   -- a courtesy notice (§9.6)
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
LEFT JOIN pre_due_lines AS n USING (_row)
LEFT JOIN letter_items AS sent USING (_row)
-- rows are sorted by doc_id when written (outputs.py)
