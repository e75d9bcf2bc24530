-- levels: letters per level over all currencies and policies (the chart "Letters per level").
-- Grain: level. Inputs: letters_by_level (analyst view).
SELECT level, sum(letters) AS letters FROM letters_by_level GROUP BY level ORDER BY level
