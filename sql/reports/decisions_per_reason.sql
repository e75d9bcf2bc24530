-- decisions_per_reason: how many items got each outcome for each reason (SPEC §4.12), for
-- run.json's decisions_per_reason ("outcome/reason" -> items).
-- Not a pipeline stage: manifest.py runs it on the decided night.
-- Grain: (outcome, reason). Inputs: decisions.
SELECT outcome, reason, count(*) AS items
FROM decisions
GROUP BY ALL
ORDER BY outcome, reason
