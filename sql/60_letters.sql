-- letters: one row per letter (SPEC §5 letters.parquet) with its totals (§4.5–§4.8).
-- Grain: letter_id. Inputs: letter_heads, candidate_lines, interest_lines,
-- cfg_level_fees.
WITH
line_totals AS (
    SELECT c.letter_id,
           coalesce(sum(c.open_amount) FILTER (WHERE c.line_type = 'overdue'), 0) AS overdue_total,
           coalesce(sum(c.open_amount) FILTER (WHERE c.line_type = 'current'), 0) AS current_total,
           coalesce(sum(c.open_amount) FILTER (WHERE c.line_type = 'credit'), 0)  AS credit_total,
           any_value(c.customer_name) AS customer_name, any_value(c.language) AS language
    FROM candidate_lines AS c
    WHERE c.letter_id IN (SELECT letter_id FROM letter_heads)
    GROUP BY c.letter_id
),
interest_totals AS (
    SELECT letter_id, sum(interest_amount) AS interest_total FROM interest_lines GROUP BY letter_id
),
priced AS (
    SELECT h.*, t.overdue_total, t.current_total, t.credit_total, t.customer_name, t.language,
           coalesce(it.interest_total, 0) AS interest_total, coalesce(f.fee, 0) AS fee
    FROM letter_heads AS h
    JOIN line_totals AS t USING (letter_id)
    LEFT JOIN interest_totals AS it USING (letter_id)
    LEFT JOIN cfg_level_fees AS f ON f.policy = h.policy AND f.level = h.level AND f.currency = h.currency
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
    CAST(overdue_total + credit_total + fee
         + CASE WHEN include_in_total THEN interest_total ELSE 0 END AS DECIMAL(18, 2)) AS total_due,
    pay_by,
    CASE WHEN $render_pdf THEN 'pdf/' || letter_id || '.pdf' END AS pdf_path
FROM priced
ORDER BY letter_id
