-- item_details: one row per accepted item with the facts its decision rests on, so that
-- `explain` can say why from the output folder alone. Grain: doc_id.
-- Inputs: items, exclusions, advance, candidate_lines, letter_gates.
SELECT
    i.doc_id, i.customer_id, i.policy, i.branch, i.last_dunned_before, i.blocked, i.disputed,
    i.grace_until, i.customer_grace_until, i.dunning_blocked, e.exclusion,
    a.target_level, a.advance_reason, c.letter_id AS candidate_letter_id, c.line_type,
    g.suppressed_by, g.overdue_total AS candidate_overdue_total, g.credit_total AS candidate_credit_total
FROM items AS i
JOIN exclusions AS e USING (_row)
LEFT JOIN advance AS a USING (_row)
LEFT JOIN candidate_lines AS c USING (_row)
LEFT JOIN letter_gates AS g ON g.letter_id = c.letter_id
