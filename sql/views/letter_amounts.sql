-- letter_amounts: each letter's total due split into the parts that make it up, so that every
-- sum over letters (letters_by_level, summary.html) shows parts that add up to its total:
--   total_due = overdue_total + credit_total + fee + interest_in_total + compensation_total
--               + notice_total                                    (SPEC §4.8, §9.2, §9.6)
-- notice_total is the current lines of a courtesy notice (level 0, §9.6), which demands them.
-- Beside the total, what a letter shows but does not demand: interest_not_in_total (a policy
-- with include_in_total = false, §4.8, §9.4) and current_not_in_total (not-yet-due items
-- listed on a dunning letter, for information).
-- Whether a letter's interest is in its total due is read off the letter: it is when
-- total_due = the other parts + interest_total (a letter whose total fits neither way shows
-- parts that do not add up). `reconcile` checks this split against the run's config, the
-- folder's cfg_policies (sql/checks/3_summary_totals.sql).
-- compensation_total is NULL when no level charges compensation.
-- Grain: letter_id. Inputs: letters.
WITH
parts AS (
    SELECT letter_id, customer_id, customer_name, currency, policy, level, is_final,
           overdue_total, credit_total, fee, interest_total,
           coalesce(compensation_total, 0)::DECIMAL(18, 2) AS compensation_total,
           CASE WHEN level = 0 THEN current_total ELSE 0 END::DECIMAL(18, 2) AS notice_total,
           CASE WHEN level = 0 THEN 0 ELSE current_total END::DECIMAL(18, 2) AS current_not_in_total,
           total_due
    FROM letters
),
split AS (
    SELECT *,
           CASE WHEN level > 0 AND total_due = overdue_total + credit_total + fee + compensation_total
                                               + notice_total + interest_total
                THEN interest_total ELSE 0 END::DECIMAL(18, 2) AS interest_in_total
    FROM parts
)
SELECT letter_id, customer_id, customer_name, currency, policy, level, is_final,
       overdue_total, credit_total, fee, interest_in_total, compensation_total, notice_total, total_due,
       (interest_total - interest_in_total)::DECIMAL(18, 2) AS interest_not_in_total, current_not_in_total
FROM split
ORDER BY letter_id
