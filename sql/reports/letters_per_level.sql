-- letters_per_level: how many letters the run writes at each level, for run.json.
-- Not a pipeline stage: manifest.py runs it on the decided night.
-- Grain: level. Inputs: letters.
SELECT level, count(*) AS letters
FROM letters
GROUP BY level
ORDER BY level
