-- exclusions: items excluded per reason, with the count and open amount per currency, the
-- reasons with the most items first (summary.html's table and chart of exclusions).
-- Grain: reason. Inputs: exclusions_by_reason (analyst view).
SELECT reason, sum(items) AS items, list(currency || ' ' || items ORDER BY currency) AS per_currency,
       list(struct_pack(currency := currency, items := items, open_amount := open_amount) ORDER BY currency)
           AS amounts
FROM exclusions_by_reason GROUP BY reason ORDER BY items DESC, reason
