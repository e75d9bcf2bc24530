-- letters_by_level: letters and amounts per policy, level and currency.
-- Grain: (policy, level, currency). Inputs: letters.
SELECT policy, level, currency, count(*) AS letters, sum(overdue_total) AS overdue_total,
       sum(interest_total) AS interest_total, sum(fee) AS fees, sum(total_due) AS total_due
FROM letters
GROUP BY ALL
ORDER BY policy, level, currency
