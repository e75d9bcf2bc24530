-- input_totals: what the open-items export held per currency, before anything was decided or
-- set aside (SPEC §8.2), for run.json's input_totals; an unreadable currency counts as '?'.
-- Not a pipeline stage: run.py runs it once the rows are set aside, before the decision drops
-- the parsed items (pipeline.drop_spent); manifest.py writes it.
-- Grain: currency. Inputs: open_items_parsed.
SELECT coalesce(currency, '?') AS currency, count(*) AS items, coalesce(sum(open_amount), 0) AS open_amount
FROM open_items_parsed
GROUP BY ALL
ORDER BY 1
