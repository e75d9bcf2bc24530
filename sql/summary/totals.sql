-- totals: letters and the parts of total due per currency for summary.html; each row's parts
-- add up to its total_due (sql/views/letter_amounts.sql), the two `_not_in_total` aside.
-- Grain: currency. Inputs: letter_amounts (analyst view).
SELECT currency, count(*) AS letters, sum(overdue_total) AS overdue_total, sum(credit_total) AS credit_total,
       sum(fee) AS fees, sum(interest_in_total) AS interest_in_total, sum(compensation_total) AS compensation_total,
       sum(notice_total) AS notice_total, sum(total_due) AS total_due,
       sum(interest_not_in_total) AS interest_not_in_total, sum(current_not_in_total) AS current_not_in_total
FROM letter_amounts GROUP BY currency ORDER BY currency
