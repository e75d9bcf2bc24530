-- interest_lines: one row per interest line (SPEC §4.6): per overdue invoice, debit memo
-- or refund of a letter whose level charges interest, one line per maximal run of days
-- with one rate, from the day after max(due_date, interest_paid_to) (§9.4: a day posted
-- before is never charged again) through the letter's interest end date.
-- Lines of type 'late_interest' (§9.5, levels with late_payment_interest, grouping customer):
-- per payment of the letter's key made after its due date and not yet charged, the interest
-- on the paid amount from due_date + 1 through paid_on, split by rate the same way.
-- Interest is computed in the document's currency (SPEC §11.1: the item's, the payment's),
-- rounded there, and each line is then converted into the letter's currency at its item's
-- rate (a late-interest line at its payment's, 27_payment_rates) and rounded half away from
-- zero to the letter currency's minor unit: letter_amount, which the letter's interest total
-- sums and the interest minimum (in the letter currency) is compared with. Lines in their
-- letter's own currency are converted at 1, as they are.
-- Grain: (letter_id, line_type, doc_id, payment_id, interest_from). A line with a NULL rate
-- is a day no reference rate covers; the pipeline reports it as a config error.
-- Inputs: letter_heads, letter_items, payments, payment_rates, cfg_policies, cfg_reference_rates,
-- cfg_interest_min_amounts, cfg_currencies.
WITH
charged AS (
    SELECT h.letter_id, h.policy, h.currency, h.interest_to, 'interest' AS line_type, i.doc_id,
           NULL::VARCHAR AS payment_id, i.open_amount, i.due_date,
           greatest(i.due_date, coalesce(i.interest_paid_to, i.due_date)) AS charged_after,
           i.minor_unit, i.customer_interest_rate, p.basis, p.fixed_rate,
           i.currency AS doc_currency, i.rate AS exchange_rate, i.rate_date AS exchange_rate_date
    FROM letter_heads AS h
    JOIN letter_items AS i USING (letter_id)
    JOIN cfg_policies AS p ON p.policy = h.policy
    WHERE h.interest AND i.line_type = 'overdue'
      AND earns_interest(i.doc_type)                    -- no interest on fees or credits
      AND greatest(i.due_date, coalesce(i.interest_paid_to, i.due_date)) < h.interest_to
    UNION ALL
    -- SPEC §9.5: interest on late payments, on the paid amount up to the payment date
    SELECT h.letter_id, h.policy, h.currency, pm.paid_on, 'late_interest', pm.doc_id, pm.payment_id,
           pm.amount, pm.due_date, pm.due_date, pm.minor_unit, pm.customer_interest_rate, p.basis, p.fixed_rate,
           pm.currency, CAST(coalesce(pr.rate, 1) AS DECIMAL(28, 10)), pr.rate_date
    FROM letter_heads AS h
    JOIN payments AS pm
      ON pm.customer_id = h.customer_id AND pm.letter_currency = h.currency AND pm.branch_part = h.branch_part
    JOIN cfg_policies AS p ON p.policy = h.policy
    LEFT JOIN payment_rates AS pr USING (payment_id)
    WHERE h.interest AND h.late_payment_interest AND $grouping = 'customer'
      AND NOT pm.interest_charged AND pm.paid_on > pm.due_date
),
steps AS (
    SELECT policy, effective_from, rate_percent,
           lag(rate_percent) OVER (PARTITION BY policy ORDER BY effective_from) AS previous_rate,
           lead(effective_from) OVER (PARTITION BY policy ORDER BY effective_from) - 1 AS valid_to
    FROM cfg_reference_rates
),
runs AS (
    -- consecutive steps with an equal rate form one run: a repeated rate does not split
    SELECT policy, rate_percent, min(effective_from) AS run_from,
           CASE WHEN count(*) = count(valid_to) THEN max(valid_to) END AS run_to   -- NULL: open-ended
    FROM (SELECT *, sum(CASE WHEN rate_percent IS DISTINCT FROM previous_rate THEN 1 ELSE 0 END)
                        OVER (PARTITION BY policy ORDER BY effective_from) AS run_no
          FROM steps)
    GROUP BY policy, run_no, rate_percent
),
segments AS (
    SELECT *, charged_after + 1 AS seg_from, interest_to AS seg_to,
           coalesce(customer_interest_rate, fixed_rate) AS rate_percent
    FROM charged WHERE customer_interest_rate IS NOT NULL OR fixed_rate IS NOT NULL
    UNION ALL
    SELECT c.*, greatest(c.charged_after + 1, r.run_from), least(c.interest_to, coalesce(r.run_to, c.interest_to)),
           r.rate_percent
    FROM charged AS c
    JOIN runs AS r ON r.policy = c.policy AND r.run_from <= c.interest_to
                  AND coalesce(r.run_to, c.interest_to) >= c.charged_after + 1
    WHERE c.customer_interest_rate IS NULL AND c.fixed_rate IS NULL
    UNION ALL
    SELECT c.*, c.charged_after + 1, least(c.interest_to, f.first_from - 1), NULL
    FROM charged AS c
    JOIN (SELECT policy, min(effective_from) AS first_from FROM cfg_reference_rates GROUP BY policy) AS f
      ON f.policy = c.policy AND c.charged_after + 1 < f.first_from
    WHERE c.customer_interest_rate IS NULL AND c.fixed_rate IS NULL
),
counted AS (
    SELECT *,
           CASE WHEN basis = '30e/360' THEN days_30e(seg_from - 1, seg_to)
                ELSE datediff('day', seg_from - 1, seg_to) END AS interest_days,
           CASE WHEN basis = 'act/365' THEN 365 ELSE 360 END AS year_days
    FROM segments
),
rounded AS (
    -- open_amount x days x rate / 100 / basis in exact integers (cents x micro-percent),
    -- rounded half-up (away from zero) to the currency's minor unit
    SELECT *,
           CAST(CAST(open_amount AS DECIMAL(38, 2)) * 100 AS HUGEINT) * interest_days * CAST(rate_percent * 1000000 AS HUGEINT)
           * CASE minor_unit WHEN 0 THEN 1 WHEN 1 THEN 10 ELSE 100 END AS numerator,
           CAST(10000000000 AS HUGEINT) * year_days AS denominator  -- cents x percent x micro
    FROM counted
),
priced AS (
    SELECT *,
           CAST(CAST(CASE WHEN numerator < 0 THEN -1 ELSE 1 END
                     * ((abs(numerator) * 2 + denominator) // (2 * denominator)) AS DECIMAL(38, 0))
                * CASE minor_unit WHEN 0 THEN 1.00 WHEN 1 THEN 0.10 ELSE 0.01 END
                AS DECIMAL(18, 2)) AS interest_amount
    FROM rounded
),
converted AS (
    -- SPEC §11.1: each line in the letter's currency, rounded on its own
    SELECT pr.*, in_letter_currency(pr.interest_amount, pr.exchange_rate, cur.minor_unit) AS letter_amount
    FROM priced AS pr
    JOIN cfg_currencies AS cur ON cur.currency = pr.currency
),
with_totals AS (
    SELECT *, sum(letter_amount) OVER (PARTITION BY letter_id) AS letter_interest FROM converted
)
SELECT w.letter_id, w.doc_id, w.seg_from AS interest_from, w.seg_to AS interest_to, w.interest_days,
       w.rate_percent, w.interest_amount,
       -- SPEC §9.5: what a late-interest line shows instead of an item's columns
       w.line_type, w.payment_id, w.due_date, w.open_amount AS charged_amount,
       -- SPEC §11.1: the document's currency, the rate and its day, the amount in the letter's currency
       w.doc_currency AS currency, w.exchange_rate AS rate, w.exchange_rate_date AS rate_date, w.letter_amount
FROM with_totals AS w
LEFT JOIN cfg_interest_min_amounts AS m USING (policy, currency)
-- a letter whose interest total is below the minimum carries none
WHERE w.rate_percent IS NULL OR m.min_amount IS NULL OR w.letter_interest >= m.min_amount
