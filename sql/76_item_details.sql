-- item_details: one row per accepted item with the facts its decision rests on, so that
-- `explain` can say why from the output folder alone. Grain: doc_id.
-- The candidate columns describe the dunning letter the item was a candidate for, or the
-- courtesy notice (SPEC §9.6) it went into instead; for a notice, candidate_overdue_total is
-- the notice's total (what its minimum is tested on). open_balance (§9.3) and the item's
-- compensation_charged / interest_paid_to before the run (§9.2, §9.4) are written only when
-- those rules are configured (outputs.py).
-- Inputs: items, exclusions, advance, candidate_lines, letter_gates, pre_due_lines.
SELECT
    i.doc_id, i.customer_id, i.policy, i.branch, i.last_dunned_before, i.blocked, i.disputed,
    i.grace_until, i.customer_grace_until, i.dunning_blocked, e.exclusion,
    a.target_level, a.advance_reason,
    coalesce(n.letter_id, c.letter_id) AS candidate_letter_id,
    coalesce(n.line_type, c.line_type) AS line_type,
    CASE WHEN n.letter_id IS NOT NULL THEN n.suppressed_by ELSE g.suppressed_by END AS suppressed_by,
    CAST(CASE WHEN n.letter_id IS NOT NULL THEN n.notice_total ELSE g.overdue_total END AS DECIMAL(38, 2))
        AS candidate_overdue_total,
    CAST(CASE WHEN n.letter_id IS NOT NULL THEN 0 ELSE g.credit_total END AS DECIMAL(38, 2))
        AS candidate_credit_total,
    CAST(CASE WHEN n.letter_id IS NULL THEN g.open_balance END AS DECIMAL(38, 2)) AS open_balance,
    i.compensation_charged, i.interest_paid_to
FROM items AS i
JOIN exclusions AS e USING (_row)
LEFT JOIN advance AS a USING (_row)
LEFT JOIN candidate_lines AS c USING (_row)
LEFT JOIN letter_gates AS g ON g.letter_id = c.letter_id
LEFT JOIN pre_due_lines AS n USING (_row)
