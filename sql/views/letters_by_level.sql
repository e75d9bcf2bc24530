-- letters_by_level: letters and amounts per policy, level and currency. The parts add up to
-- the total: total_due = overdue_total + credit_total + fees + interest_in_total
-- + compensation_total + notice_total (see letter_amounts); interest_not_in_total and
-- current_not_in_total are shown on the letters but not demanded.
-- Grain: (policy, level, currency). Inputs: letter_amounts.
SELECT policy, level, currency, count(*) AS letters,
       sum(overdue_total) AS overdue_total, sum(credit_total) AS credit_total, sum(fee) AS fees,
       sum(interest_in_total) AS interest_in_total, sum(compensation_total) AS compensation_total,
       sum(notice_total) AS notice_total, sum(total_due) AS total_due,
       sum(interest_not_in_total) AS interest_not_in_total, sum(current_not_in_total) AS current_not_in_total
FROM letter_amounts
GROUP BY ALL
ORDER BY policy, level, currency
