-- letters: one row per letter (SPEC §5 letters.parquet) with its totals (§4.5–§4.8, §9).
-- total_due = overdue + credits + fee + compensation (§9.2) + interest (when included);
-- a courtesy notice's (§9.6) is its current total. compensation_total is written only when
-- a level charges compensation (outputs.py).
-- payment_reference (issue 19): the letter's ISO 11649 creditor reference (RF, check digits,
-- the id's 16 hex digits; 59_payment_references), after the columns of SPEC §5.
-- Every total is in the letter's currency (SPEC §11.1): the sums of the lines' letter amounts.
-- Grain: letter_id. Inputs: letter_heads, letter_items, interest_lines, compensation_lines,
-- letter_fees, accepted_customers, payment_references.
WITH
line_totals AS (
    SELECT c.letter_id,
           coalesce(sum(c.letter_amount) FILTER (WHERE c.line_type = 'overdue'), 0) AS overdue_total,
           coalesce(sum(c.letter_amount) FILTER (WHERE c.line_type = 'current'), 0) AS current_total,
           coalesce(sum(c.letter_amount) FILTER (WHERE c.line_type = 'credit'), 0)  AS credit_total
    FROM letter_items AS c
    GROUP BY c.letter_id
),
interest_totals AS (
    SELECT letter_id, sum(letter_amount) AS interest_total FROM interest_lines GROUP BY letter_id
),
letter_customers AS (
    -- the name and language of each customer written to tonight
    SELECT customer_id, name AS customer_name, language FROM accepted_customers
    WHERE customer_id IN (SELECT customer_id FROM letter_heads)
),
compensation_totals AS (
    SELECT letter_id, sum(compensation_amount) AS compensation_total FROM compensation_lines GROUP BY letter_id
),
priced AS (
    SELECT h.*, t.overdue_total, t.current_total, t.credit_total, c.customer_name, c.language,
           coalesce(it.interest_total, 0) AS interest_total, f.fee,
           coalesce(ct.compensation_total, 0) AS compensation_total, r.payment_reference
    FROM letter_heads AS h
    JOIN line_totals AS t USING (letter_id)
    JOIN letter_fees AS f USING (letter_id)
    JOIN letter_customers AS c USING (customer_id)
    LEFT JOIN interest_totals AS it USING (letter_id)
    LEFT JOIN compensation_totals AS ct USING (letter_id)
    JOIN payment_references AS r USING (letter_id)
)
SELECT
    letter_id,
    $as_of::DATE                                     AS run_date,
    customer_id, customer_name, currency,
    nullif(branch_part, '')                          AS branch,
    policy,
    CAST(level AS INTEGER)                           AS level,
    is_final, language, template,
    CAST(line_count AS INTEGER)                      AS line_count,
    CAST(overdue_total AS DECIMAL(18, 2))            AS overdue_total,
    CAST(current_total AS DECIMAL(18, 2))            AS current_total,
    CAST(credit_total AS DECIMAL(18, 2))             AS credit_total,
    CAST(interest_total AS DECIMAL(18, 2))           AS interest_total,
    CAST(fee AS DECIMAL(18, 2))                      AS fee,
    CAST(compensation_total AS DECIMAL(18, 2))       AS compensation_total,
    CAST(CASE WHEN kind = 'pre_due' THEN current_total
              ELSE overdue_total + credit_total + fee + compensation_total
                   + CASE WHEN include_in_total THEN interest_total ELSE 0 END
         END AS DECIMAL(18, 2)) AS total_due,
    pay_by,
    CASE WHEN $render_pdf THEN 'pdf/' || letter_id || '.pdf' END AS pdf_path,
    payment_reference
FROM priced
ORDER BY letter_id
