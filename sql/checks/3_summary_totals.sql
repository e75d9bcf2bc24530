-- §8.3 for the figures shown over many letters: every row of the analyst views letter_amounts
-- and letters_by_level (what summary.html and `query` show) and of run.json's
-- totals_per_currency and letters_per_level (what `run` prints) has parts that add up to its
-- total due, and holds exactly the sums over letters recomputed here from letters and the
-- run's config (cfg_policies):
--   total_due = overdue_total + credit_total + fees + interest_in_total + compensation_total + notice_total
-- interest_in_total: the interest of a dunning letter whose policy has include_in_total = true
-- (§4.8, §9.4); notice_total: a courtesy notice's current lines (§9.6); compensation (§9.2).
-- interest_not_in_total and current_not_in_total (not-yet-due items on dunning letters) are
-- shown beside the total, and checked against the letters too.
-- One row: ok, detail. Inputs: letters (compensation_total NULL when no level charges
-- compensation), cfg_policies (include_in_total), the analyst views letter_amounts and
-- letters_by_level. Parameters: $recorded (run.json totals_per_currency as structs, amounts
-- as text, a key the run.json lacks as NULL), $recorded_levels (run.json letters_per_level
-- as structs).
WITH
per_letter AS (
    SELECT letter_id, currency, policy, level, overdue_total, credit_total, fee, total_due, interest_total,
           coalesce(compensation_total, 0) AS compensation_total,
           level > 0 AND policy NOT IN (SELECT policy FROM cfg_policies WHERE NOT include_in_total) AS interest_due,
           CASE WHEN level = 0 THEN current_total ELSE 0 END AS notice_total,
           CASE WHEN level = 0 THEN 0 ELSE current_total END AS current_not_in_total
    FROM letters
),
expected AS (
    -- one grouping set per place the figures are shown
    SELECT CASE WHEN grouping(letter_id) = 0 THEN 'letter_amounts'
                WHEN grouping(policy) = 0 THEN 'letters_by_level'
                WHEN grouping(currency) = 0 THEN 'run.json totals_per_currency'
                ELSE 'run.json letters_per_level' END AS shown_in,
           CASE WHEN grouping(letter_id) = 0 THEN letter_id
                WHEN grouping(policy) = 0 THEN policy || ' level ' || level || ' ' || currency
                WHEN grouping(currency) = 0 THEN currency
                ELSE 'level ' || level END AS row_key,
           count(*)::DECIMAL(38, 2) AS letters,
           sum(overdue_total)::DECIMAL(38, 2) AS overdue_total,
           sum(credit_total)::DECIMAL(38, 2) AS credit_total,
           sum(fee)::DECIMAL(38, 2) AS fees,
           sum(CASE WHEN interest_due THEN interest_total ELSE 0 END)::DECIMAL(38, 2) AS interest_in_total,
           sum(compensation_total)::DECIMAL(38, 2) AS compensation_total,
           sum(notice_total)::DECIMAL(38, 2) AS notice_total,
           sum(total_due)::DECIMAL(38, 2) AS total_due,
           sum(CASE WHEN interest_due THEN 0 ELSE interest_total END)::DECIMAL(38, 2) AS interest_not_in_total,
           sum(current_not_in_total)::DECIMAL(38, 2) AS current_not_in_total,
           sum(interest_total)::DECIMAL(38, 2) AS interest_total
    FROM per_letter
    GROUP BY GROUPING SETS ((letter_id), (policy, level, currency), (currency), (level))
),
recorded AS (SELECT unnest($recorded) AS r),
recorded_levels AS (SELECT unnest($recorded_levels) AS r),
shown AS (
    SELECT 'letter_amounts' AS shown_in, letter_id AS row_key, 1 AS letters, overdue_total, credit_total,
           fee AS fees, interest_in_total, compensation_total, notice_total, total_due, interest_not_in_total,
           current_not_in_total, interest_in_total + interest_not_in_total AS interest_total
    FROM letter_amounts
    UNION ALL
    SELECT 'letters_by_level', policy || ' level ' || level || ' ' || currency, letters, overdue_total, credit_total,
           fees, interest_in_total, compensation_total, notice_total, total_due, interest_not_in_total,
           current_not_in_total, interest_in_total + interest_not_in_total
    FROM letters_by_level
    UNION ALL
    SELECT 'run.json totals_per_currency', r.currency, r.letters, r.overdue_total::DECIMAL(38, 2),
           r.credit_total::DECIMAL(38, 2), r.fee_total::DECIMAL(38, 2), r.interest_in_total::DECIMAL(38, 2),
           r.compensation_total::DECIMAL(38, 2), r.notice_total::DECIMAL(38, 2), r.total_due::DECIMAL(38, 2),
           r.interest_not_in_total::DECIMAL(38, 2), r.current_not_in_total::DECIMAL(38, 2),
           r.interest_total::DECIMAL(38, 2)
    FROM recorded
),
shown_long AS (
    SELECT shown_in, row_key, figure, amount::DECIMAL(38, 2) AS amount
    FROM (UNPIVOT shown ON COLUMNS(* EXCLUDE (shown_in, row_key)) INTO NAME figure VALUE amount)
    UNION ALL
    SELECT 'run.json letters_per_level', 'level ' || r.level, 'letters', r.letters::DECIMAL(38, 2) FROM recorded_levels
),
expected_long AS (
    SELECT shown_in, row_key, figure, amount
    FROM (UNPIVOT expected ON COLUMNS(* EXCLUDE (shown_in, row_key)) INTO NAME figure VALUE amount)
    WHERE shown_in <> 'run.json letters_per_level' OR figure = 'letters'
),
differ AS (
    SELECT coalesce(s.shown_in, e.shown_in) || ' ' || coalesce(s.row_key, e.row_key) || ' '
           || coalesce(s.figure, e.figure) || ' ' || coalesce(s.amount::VARCHAR, 'missing') || ' <> letters '
           || coalesce(e.amount::VARCHAR, 'none') AS what
    FROM shown_long AS s
    FULL JOIN expected_long AS e
      ON s.shown_in = e.shown_in AND s.row_key = e.row_key AND s.figure = e.figure
    WHERE s.amount IS DISTINCT FROM e.amount
),
unbalanced AS (
    SELECT shown_in || ' ' || row_key || ': parts ' || parts || ' <> total due ' || coalesce(total_due::VARCHAR, 'missing')
           AS what
    FROM (SELECT shown_in, row_key,
                 sum(amount) FILTER (WHERE figure IN ('overdue_total', 'credit_total', 'fees', 'interest_in_total',
                                                      'compensation_total', 'notice_total')) AS parts,
                 any_value(amount) FILTER (WHERE figure = 'total_due') AS total_due
          FROM shown_long WHERE shown_in <> 'run.json letters_per_level' GROUP BY ALL)
    WHERE parts IS DISTINCT FROM total_due
)
SELECT NOT EXISTS (SELECT 1 FROM unbalanced) AND NOT EXISTS (SELECT 1 FROM differ) AS ok,
       (SELECT count(DISTINCT shown_in || row_key) FROM shown_long) || ' rows shown; '
       || (SELECT count(*) FROM unbalanced) || ' whose parts do not add up to total due'
       || coalesce(' (first: ' || (SELECT min(what) FROM unbalanced) || ')', '')
       || ', ' || (SELECT count(*) FROM differ) || ' figure(s) that differ from the letters'
       || coalesce(' (first: ' || (SELECT min(what) FROM differ) || ')', '') AS detail
