-- advance: one row per raising item that no exclusion stopped, with the level it reaches
-- tonight (SPEC §4.3, §11.3) or the reason it does not: advanced, too_soon, not_due,
-- beyond_level_range, below_level_threshold. Grain: _row. Inputs: items, exclusions, cfg_levels.
-- A level with days_to (SPEC §11.3) holds only items with days_past_due <= days_to: an item
-- beyond it is not raised to it. Sequential: the target is level_before + 1 when its threshold
-- is exceeded and its range holds; exceeded but beyond the range: beyond_level_range.
-- Non-sequential: the highest level above level_before whose threshold is exceeded and whose
-- range holds; when some such threshold is exceeded but no range holds: beyond_level_range.
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
--   range_level, range_days_to              SPEC §11.3: the level whose range the item is
--                                           beyond, and its days_to (NULL: none is). Sequential:
--                                           level_before + 1 when its threshold is exceeded but
--                                           not its range; non-sequential: the highest level
--                                           above level_before whose threshold is exceeded but
--                                           whose range is not (below the target when the item
--                                           jumps past it, above it when a lower range holds)
WITH
candidates AS (
    SELECT i.* FROM items AS i JOIN exclusions AS e USING (_row)
    WHERE e.exclusion IS NULL AND i.is_raising
),
passed AS (
    -- every level whose days_past_due the item exceeds, and whether its range holds the item
    SELECT c._row, c.level_before, l.level, l.days_past_due, l.days_to,
           l.days_to IS NULL OR c.days_past_due <= l.days_to AS in_range
    FROM candidates AS c JOIN cfg_levels AS l ON l.policy = c.policy AND c.days_past_due > l.days_past_due
),
reached AS (
    -- the highest level whose days_past_due the item exceeds (thresholds rise strictly); the
    -- highest above level_before whose range holds; the next level's range; the highest
    -- above level_before whose range does not hold (SPEC §11.3)
    SELECT _row, max(level) AS reached, max(days_past_due) AS reached_days_past_due,
           max(level) FILTER (WHERE level > level_before AND in_range) AS highest_in_range,
           bool_or(in_range) FILTER (WHERE level = level_before + 1) AS next_in_range,
           max(days_to) FILTER (WHERE level = level_before + 1) AS next_days_to,
           max(level) FILTER (WHERE level > level_before AND NOT in_range) AS highest_beyond,
           arg_max(days_to, level) FILTER (WHERE level > level_before AND NOT in_range) AS highest_beyond_days_to
    FROM passed
    GROUP BY _row
),
targets AS (
    SELECT c.*, r.reached, r.reached_days_past_due,
           CASE WHEN c.sequential THEN CASE WHEN r.reached >= c.level_before + 1 AND r.next_in_range
                                            THEN c.level_before + 1 END
                ELSE r.highest_in_range
           END AS target_level,
           CASE WHEN NOT c.sequential                                 THEN r.highest_beyond
                WHEN r.reached >= c.level_before + 1 AND NOT r.next_in_range THEN c.level_before + 1
           END AS range_level,
           CASE WHEN NOT c.sequential                                 THEN r.highest_beyond_days_to
                WHEN r.reached >= c.level_before + 1 AND NOT r.next_in_range THEN r.next_days_to
           END AS range_days_to
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
         -- a level above level_before is exceeded, but no range holds the item (SPEC §11.3)
         WHEN target_level IS NULL AND reached > level_before THEN 'beyond_level_range'
         WHEN target_level IS NULL                        THEN 'below_level_threshold'
         WHEN NOT spacing_ok                              THEN 'too_soon'
         ELSE 'advanced'
    END AS advance_reason,
    CAST(reached AS INTEGER) AS reached_level, CAST(reached_days_past_due AS INTEGER) AS reached_days_past_due,
    CAST(threshold_level AS INTEGER) AS threshold_level,
    CAST(threshold_days_past_due AS INTEGER) AS threshold_days_past_due,
    CAST(level_before_days_past_due AS INTEGER) AS level_before_days_past_due,
    CAST(spacing_days_needed AS INTEGER) AS spacing_days_needed,
    CAST(days_since_last_letter AS INTEGER) AS days_since_last_letter,
    CAST(range_level AS INTEGER) AS range_level, CAST(range_days_to AS INTEGER) AS range_days_to
FROM judged
