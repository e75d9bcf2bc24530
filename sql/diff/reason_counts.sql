-- reason_counts: one row per decision (outcome, reason) whose number of items differs
-- between run A and run B, with both counts and the shift B - A.
-- Grain: (outcome, reason). Inputs: a_decisions, b_decisions.
WITH
a AS (SELECT outcome, reason, count(*) AS items FROM a_decisions GROUP BY ALL),
b AS (SELECT outcome, reason, count(*) AS items FROM b_decisions GROUP BY ALL)
SELECT
    coalesce(a.outcome, b.outcome) AS outcome,
    coalesce(a.reason, b.reason) AS reason,
    coalesce(a.items, 0) AS items_a,
    coalesce(b.items, 0) AS items_b,
    coalesce(b.items, 0) - coalesce(a.items, 0) AS shift
FROM a
FULL JOIN b ON a.outcome = b.outcome AND a.reason = b.reason
WHERE coalesce(a.items, 0) <> coalesce(b.items, 0)
ORDER BY outcome, reason
