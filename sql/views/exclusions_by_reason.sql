-- exclusions_by_reason: items no letter dunned tonight, per reason and currency.
-- Grain: (reason, currency). Inputs: decisions.
SELECT reason, currency, count(*) AS items, sum(open_amount) AS open_amount
FROM decisions
WHERE outcome = 'excluded'
GROUP BY ALL
ORDER BY items DESC, reason, currency
