-- channels: letters per delivery channel (email, print, both), with count and total due per
-- currency, in that order (summary.html's table of channels).
-- Grain: channel. Inputs: letters, recipients.
WITH per_currency AS (
    SELECT r.delivery AS channel, l.currency, count(*) AS letters, sum(l.total_due) AS total_due
    FROM letters AS l JOIN recipients AS r USING (letter_id) GROUP BY ALL
)
SELECT channel, sum(letters) AS letters,
       list(struct_pack(currency := currency, letters := letters, total_due := total_due) ORDER BY currency)
           AS amounts
FROM per_currency GROUP BY channel
ORDER BY CASE channel WHEN 'email' THEN 1 WHEN 'print' THEN 2 WHEN 'both' THEN 3 ELSE 4 END, channel
