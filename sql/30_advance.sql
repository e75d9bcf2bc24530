-- advance: one row per raising item that no exclusion stopped, with the level it reaches
-- tonight (SPEC §4.3) or the reason it does not: advanced, too_soon, not_due,
-- below_level_threshold. Grain: _row. Inputs: items, exclusions, cfg_levels.
-- With it, the facts the rule rests on (item_details, for `explain`):
--   reached_level, reached_days_past_due    the highest level whose threshold the days past
--                                           due exceed, and that threshold (NULL: none)
--   threshold_level, threshold_days_past_due the level the item was tested for: the level the
--                                           thresholds give (before the spacing rule), else
--                                           level_before + 1; and its threshold
--   level_before_days_past_due              the threshold of the level the item is at (NULL at 0)
--   spacing_days_needed                     days the spacing rule asks since the last letter
--                                           (NULL at level 0, where it does not apply)
--   days_since_last_letter                  from last_dunned_before to the run date
WITH
candidates AS (
    SELECT i.* FROM items AS i JOIN exclusions AS e USING (_row)
    WHERE e.exclusion IS NULL AND i.is_raising
),
reached AS (
    -- the highest level whose days_past_due the item exceeds (thresholds rise strictly)
    SELECT c._row, max(l.level) AS reached, max(l.days_past_due) AS reached_days_past_due
    FROM candidates AS c JOIN cfg_levels AS l ON l.policy = c.policy AND c.days_past_due > l.days_past_due
    GROUP BY c._row
),
targets AS (
    SELECT c.*, r.reached, r.reached_days_past_due,
           CASE WHEN c.sequential THEN CASE WHEN r.reached >= c.level_before + 1 THEN c.level_before + 1 END
                WHEN r.reached > c.level_before THEN r.reached
           END AS target_level
    FROM candidates AS c LEFT JOIN reached AS r USING (_row)
),
spaced AS (
    SELECT t.*, lt.level AS threshold_level, lt.days_past_due AS threshold_days_past_due,
           lc.days_past_due AS level_before_days_past_due,
           -- after a late run the next letter waits the levels' own distance (SPEC §4.3)
           CASE WHEN t.level_before > 0
                THEN greatest(lt.days_past_due - lc.days_past_due, t.min_days_between_letters)
           END AS spacing_days_needed,
           datediff('day', t.last_dunned_before, $as_of::DATE) AS days_since_last_letter
    FROM targets AS t
    LEFT JOIN cfg_levels AS lt ON lt.policy = t.policy AND lt.level = coalesce(t.target_level, t.level_before + 1)
    LEFT JOIN cfg_levels AS lc ON lc.policy = t.policy AND lc.level = t.level_before
),
judged AS (
    SELECT *,
           level_before = 0 OR last_dunned_before IS NULL OR days_since_last_letter >= spacing_days_needed
               AS spacing_ok
    FROM spaced
)
SELECT
    _row,
    CASE WHEN target_level IS NOT NULL AND spacing_ok THEN target_level END AS target_level,
    CASE WHEN target_level IS NULL AND days_past_due <= 0 THEN 'not_due'
         WHEN target_level IS NULL                        THEN 'below_level_threshold'
         WHEN NOT spacing_ok                              THEN 'too_soon'
         ELSE 'advanced'
    END AS advance_reason,
    CAST(reached AS INTEGER) AS reached_level, CAST(reached_days_past_due AS INTEGER) AS reached_days_past_due,
    CAST(threshold_level AS INTEGER) AS threshold_level,
    CAST(threshold_days_past_due AS INTEGER) AS threshold_days_past_due,
    CAST(level_before_days_past_due AS INTEGER) AS level_before_days_past_due,
    CAST(spacing_days_needed AS INTEGER) AS spacing_days_needed,
    CAST(days_since_last_letter AS INTEGER) AS days_since_last_letter
FROM judged
