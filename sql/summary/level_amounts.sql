-- level_amounts: letters and total due per currency and level (the charts "Total due per level").
-- Grain: (currency, level). Inputs: letters_by_level (analyst view).
SELECT currency, level, sum(letters) AS letters, sum(total_due) AS total_due
FROM letters_by_level GROUP BY currency, level ORDER BY currency, level
