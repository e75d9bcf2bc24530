-- outcomes: how many items each outcome had, for summary.html.
-- Grain: outcome. Inputs: decisions.
SELECT outcome, count(*) AS items FROM decisions GROUP BY outcome ORDER BY outcome
