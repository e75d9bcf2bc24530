-- letter_fees: one row per letter with its dunning fee. A level prices it one way:
--   fixed (SPEC §4.7): fee[currency];
--   percent (§9.1): overdue_total x fee_percent / 100;
--   tiers, single (§9.1): the tier with the greatest `over` strictly below overdue_total:
--       its fixed + overdue_total x its percent / 100;
--   tiers, accumulated (§9.1): every tier whose `over` is below overdue_total adds its fixed
--       + its percent of the part of overdue_total between its `over` and the next tier's.
-- A percentage or tiered fee is clamped by fee_min / fee_max[currency] and then rounded
-- half-up (away from zero) to the currency's minor unit, once. Courtesy notices (§9.6) and
-- levels without a fee: 0. Exact decimals throughout: percents are multiplied by 0.01,
-- never divided. Everything is in the letter's currency (SPEC §11.1): the tables of its
-- currency, the overdue total summed from the lines' letter amounts. Grain: letter_id.
-- Inputs: letter_heads, letter_items, cfg_levels, cfg_level_fees, cfg_fee_tiers,
-- cfg_fee_limits, cfg_currencies.
WITH
totals AS (
    SELECT h.letter_id, h.policy, h.level, h.currency, l.fee_kind, l.fee_percent, l.fee_tier_mode,
           CAST(coalesce(sum(i.letter_amount) FILTER (WHERE i.line_type = 'overdue'), 0) AS DECIMAL(38, 2))
               AS overdue_total
    FROM letter_heads AS h
    JOIN letter_items AS i USING (letter_id)
    LEFT JOIN cfg_levels AS l ON l.policy = h.policy AND l.level = h.level
    WHERE h.kind = 'dunning' AND l.fee_kind IS NOT NULL
    GROUP BY ALL
),
tiered AS (
    SELECT t.letter_id,
           -- single: the tier reached with the greatest `over`
           arg_max(tr.fixed + t.overdue_total * tr.percent * 0.01, tr.over) AS single_fee,
           -- accumulated: each tier reached on its own part of the total
           sum(tr.fixed + (least(t.overdue_total, coalesce(tr.next_over, t.overdue_total)) - tr.over)
                          * tr.percent * 0.01) AS accumulated_fee
    FROM totals AS t
    JOIN cfg_fee_tiers AS tr
      ON tr.policy = t.policy AND tr.level = t.level AND tr.currency = t.currency
     AND tr.over < t.overdue_total
    WHERE t.fee_kind = 'tiers'
    GROUP BY t.letter_id
),
priced AS (
    SELECT t.letter_id, t.fee_kind, cur.minor_unit, lim.fee_min, lim.fee_max,
           CAST(CASE t.fee_kind
                    WHEN 'fixed'   THEN CAST(f.fee AS DECIMAL(38, 10))
                    WHEN 'percent' THEN CAST(t.overdue_total * t.fee_percent * 0.01 AS DECIMAL(38, 10))
                    WHEN 'tiers'   THEN CAST(coalesce(CASE t.fee_tier_mode WHEN 'single' THEN tr.single_fee
                                                                           ELSE tr.accumulated_fee END, 0)
                                             AS DECIMAL(38, 10))
                END AS DECIMAL(38, 10)) AS raw_fee
    FROM totals AS t
    LEFT JOIN tiered AS tr USING (letter_id)
    LEFT JOIN cfg_level_fees AS f ON f.policy = t.policy AND f.level = t.level AND f.currency = t.currency
    LEFT JOIN cfg_fee_limits AS lim ON lim.policy = t.policy AND lim.level = t.level AND lim.currency = t.currency
    LEFT JOIN cfg_currencies AS cur ON cur.currency = t.currency
),
lifted AS (
    -- each clamp binds on its own (SPEC §9.1): fee_min lifts a smaller fee whether or not a
    -- fee_max is set, and fee_max then caps what fee_min left (config: fee_min <= fee_max)
    SELECT *,
           CASE WHEN fee_kind <> 'fixed' AND fee_min IS NOT NULL AND raw_fee < fee_min
                THEN CAST(fee_min AS DECIMAL(38, 10)) ELSE raw_fee END AS fee_lifted
    FROM priced
),
clamped AS (
    SELECT *,
           CASE WHEN fee_kind <> 'fixed' AND fee_max IS NOT NULL AND fee_lifted > fee_max
                THEN CAST(fee_max AS DECIMAL(38, 10)) ELSE fee_lifted END AS fee_exact
    FROM lifted
)
SELECT h.letter_id,
       -- each branch cast on its own: DuckDB would give a CASE over DECIMAL(38,0) and
       -- DECIMAL(38,2) the scale 0
       coalesce(CASE WHEN c.fee_kind = 'fixed' THEN CAST(c.fee_exact AS DECIMAL(18, 2))
                     ELSE CASE c.minor_unit WHEN 0 THEN CAST(round(c.fee_exact, 0) AS DECIMAL(18, 2))
                                            WHEN 1 THEN CAST(round(c.fee_exact, 1) AS DECIMAL(18, 2))
                                            ELSE CAST(round(c.fee_exact, 2) AS DECIMAL(18, 2)) END
                END, 0::DECIMAL(18, 2)) AS fee
FROM letter_heads AS h
LEFT JOIN clamped AS c USING (letter_id)
