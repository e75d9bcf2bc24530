-- rate_coverage_gap: the first policy (by name) whose reference-rate table does not reach back
-- to a day interest is charged for (SPEC §3.4), with that first day and one item charged for
-- it; no row when every table covers every day. A run stops on a row (ConfigError, exit 2).
-- Not a pipeline stage: guards.check_rate_coverage runs it once the night is decided.
-- Grain: policy (at most one row). Inputs: interest_lines, letter_heads.
SELECT l.policy, min(i.interest_from) AS first_day, any_value(i.doc_id) AS doc_id
FROM interest_lines AS i
JOIN letter_heads AS l USING (letter_id)
WHERE i.rate_percent IS NULL
GROUP BY l.policy
ORDER BY l.policy
LIMIT 1
