-- by_level: letters and the parts of total due per currency, policy and level for summary.html.
-- Grain: (currency, policy, level). Inputs: letters_by_level (analyst view).
SELECT * FROM letters_by_level ORDER BY currency, policy, level
