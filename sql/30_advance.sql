-- advance: one row per raising item that no exclusion stopped, with the level it reaches
-- tonight (SPEC §4.3) or the reason it does not: advanced, too_soon, not_due,
-- below_level_threshold. Grain: _row. Inputs: items, exclusions, cfg_levels.
WITH
candidates AS (
    SELECT i.* FROM items AS i JOIN exclusions AS e USING (_row)
    WHERE e.exclusion IS NULL AND i.is_raising
),
reached AS (
    -- the highest level whose days_past_due the item exceeds (thresholds rise strictly)
    SELECT c._row, max(l.level) AS reached
    FROM candidates AS c JOIN cfg_levels AS l ON l.policy = c.policy AND c.days_past_due > l.days_past_due
    GROUP BY c._row
),
targets AS (
    SELECT c.*,
           CASE WHEN c.sequential THEN CASE WHEN r.reached >= c.level_before + 1 THEN c.level_before + 1 END
                WHEN r.reached > c.level_before THEN r.reached
           END AS target_level
    FROM candidates AS c LEFT JOIN reached AS r USING (_row)
),
spaced AS (
    SELECT t.*,
           -- after a late run the next letter waits the levels' own distance (SPEC §4.3)
           t.level_before = 0 OR t.last_dunned_before IS NULL
           OR datediff('day', t.last_dunned_before, $as_of::DATE)
              >= greatest(lt.days_past_due - lc.days_past_due, t.min_days_between_letters) AS spacing_ok
    FROM targets AS t
    LEFT JOIN cfg_levels AS lt ON lt.policy = t.policy AND lt.level = t.target_level
    LEFT JOIN cfg_levels AS lc ON lc.policy = t.policy AND lc.level = t.level_before
)
SELECT
    _row,
    CASE WHEN target_level IS NOT NULL AND spacing_ok THEN target_level END AS target_level,
    CASE WHEN target_level IS NULL AND days_past_due <= 0 THEN 'not_due'
         WHEN target_level IS NULL                        THEN 'below_level_threshold'
         WHEN NOT spacing_ok                              THEN 'too_soon'
         ELSE 'advanced'
    END AS advance_reason
FROM spaced
