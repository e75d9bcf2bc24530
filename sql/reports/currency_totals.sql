-- currency_totals: per currency, the letters and the parts of their total due, for run.json's
-- totals_per_currency (the summary `run` and `demo` print). Whether interest is in total due
-- comes from the config, not from the letters:
--   total_due = overdue_total + credit_total + fee_total + interest_in_total
--               + compensation_total + notice_total                 (SPEC §4.8, §9.2, §9.6)
-- notice_total: the current lines of courtesy notices (level 0), which demand them; shown but
-- not demanded: interest_not_in_total (include_in_total = false) and current_not_in_total
-- (not-yet-due items listed on dunning letters). interest_total is all interest, in or not.
-- Not a pipeline stage: manifest.py runs it on the decided night (whose letters table has
-- every column of SPEC §9).
-- Grain: currency. Inputs: letters, cfg_policies (include_in_total).
WITH
parts AS (
    SELECT currency, overdue_total, credit_total, fee, interest_total, total_due,
           coalesce(compensation_total, 0) AS compensation_total,
           CASE WHEN level = 0 THEN current_total ELSE 0 END AS notice_total,
           CASE WHEN level = 0 THEN 0 ELSE current_total END AS current_not_in_total,
           CASE WHEN level = 0 OR policy IN (SELECT policy FROM cfg_policies WHERE NOT include_in_total) THEN 0
                ELSE interest_total END AS interest_in_total
    FROM letters
)
SELECT currency, count(*) AS letters,
       sum(overdue_total) AS overdue_total, sum(credit_total) AS credit_total, sum(fee) AS fee_total,
       sum(interest_in_total) AS interest_in_total, sum(compensation_total) AS compensation_total,
       sum(notice_total) AS notice_total, sum(total_due) AS total_due,
       sum(interest_total) - sum(interest_in_total) AS interest_not_in_total,
       sum(current_not_in_total) AS current_not_in_total, sum(interest_total) AS interest_total
FROM parts
GROUP BY currency
ORDER BY currency
