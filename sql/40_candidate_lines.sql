-- candidate_lines: one row per item that goes into a letter if the letter passes its
-- thresholds (SPEC §4.4), with the letter it belongs to (its key and id, SPEC §5), its line
-- type, the level it will have and the reason, carrying the item columns later stages need
-- (so they join no 10-million-row table again). The letter key's currency part is the item's
-- letter currency (SPEC §11.1; its own currency without a letter_currency policy); each line
-- carries its rate (1 in its letter's own currency), the rate's date and letter_amount, its
-- open amount in the letter currency (26_item_rates), which every total of the letter sums.
-- A level-0 item beyond level 1's range (advance_reason beyond_level_range, SPEC §11.3) that
-- rides in its key's letter is listed at level 0 (reason listed), not raised (piggyback).
-- Grain: _row. Inputs: items, exclusions, advance, item_rates.
WITH
triggered_customers AS (
    -- the customers with an item that raises a letter (30_advance: advanced): only their items
    -- can be lines (letter_keys below is a subset of their keys). Taking only their items first
    -- spares the joins below the wide rows of every other item, most of an export.
    SELECT DISTINCT i.customer_id
    FROM advance AS a JOIN items AS i USING (_row)
    WHERE a.advance_reason = 'advanced'
),
status AS (
    SELECT i.*, a.target_level, a.advance_reason,
           CASE WHEN $consolidate_branches THEN '' ELSE coalesce(i.branch, '') END AS branch_part,
           CAST(coalesce(r.rate, 1) AS DECIMAL(28, 10)) AS rate, r.rate_date,
           coalesce(r.letter_amount, i.open_amount) AS letter_amount
    FROM (SELECT i.* FROM items AS i SEMI JOIN triggered_customers AS t ON t.customer_id = i.customer_id) AS i
    JOIN exclusions AS e USING (_row)
    LEFT JOIN advance AS a USING (_row)
    LEFT JOIN item_rates AS r USING (_row)
    WHERE e.exclusion IS NULL                       -- only non-excluded items are ever listed
),
keyed AS (
    SELECT *,
           advance_reason = 'advanced' AS is_trigger,
           CASE $grouping WHEN 'customer'       THEN ''
                          WHEN 'customer_level' THEN CAST(target_level AS VARCHAR)
                          ELSE doc_id
           END AS key_extra
    FROM status
),
letter_keys AS (
    -- a key with at least one trigger gets a letter
    SELECT DISTINCT customer_id, letter_currency, branch_part, key_extra FROM keyed WHERE is_trigger
),
lines AS (
    SELECT k.*,
           CASE WHEN k.is_raising AND k.days_past_due > 0 THEN 'overdue'
                WHEN k.is_raising                         THEN 'current'
                ELSE 'credit'
           END AS line_type
    FROM keyed AS k
    JOIN letter_keys AS lk
      ON lk.customer_id = k.customer_id AND lk.letter_currency = k.letter_currency AND lk.branch_part = k.branch_part
     AND (lk.key_extra = k.key_extra OR $grouping = 'customer')
    WHERE k.is_trigger
       OR ($grouping = 'customer' AND (
              (k.is_raising AND k.days_past_due > 0)
           OR (k.is_raising AND $include_not_due)
           OR (NOT k.is_raising AND $include_credits)))
),
keyed_lines AS (
    -- the letter key of SPEC §5: customer_id|currency|branch|extra, the letter's currency (§11.1)
    SELECT *, customer_id || '|' || letter_currency || '|' || branch_part || '|'
              || CASE WHEN is_trigger THEN key_extra ELSE '' END AS letter_key,
           -- a level-0 overdue item rides at level 1, unless it is beyond level 1's range
           -- (SPEC §11.3): then it is listed at level 0, as an item at level >= 1 keeps its own
           NOT is_trigger AND line_type = 'overdue' AND level_before = 0
               AND advance_reason IS DISTINCT FROM 'beyond_level_range' AS piggybacks
    FROM lines
)
SELECT
    letter_id_of($as_of::DATE, letter_key) AS letter_id, letter_key,
    _row, doc_id, customer_id, currency, branch_part, policy, line_type, doc_type, doc_date, due_date,
    days_past_due, open_amount, minor_unit, level_before, last_dunned_before,
    customer_interest_rate, amount, compensation_charged, interest_paid_to,   -- the last three: SPEC §9
    CASE WHEN is_trigger                                   THEN target_level
         WHEN piggybacks                                   THEN 1
         ELSE level_before
    END AS level_after,
    CASE WHEN is_trigger                                   THEN 'advanced'
         WHEN piggybacks                                   THEN 'piggyback'
         WHEN line_type = 'overdue'                        THEN 'listed'
         ELSE line_type
    END AS line_reason,
    letter_currency, rate, rate_date, letter_amount   -- SPEC §11.1
FROM keyed_lines
