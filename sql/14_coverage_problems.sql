-- coverage_problems: the items whose policy's config tables lack their letter's currency (SPEC
-- §3.2, §9.1, §9.2): the config and the data together, one (policy, currency) pair at a time.
-- The currency is the item's letter currency (§11.1: thresholds, fees and compensation are in
-- the letter currency), which is the item's own without a letter_currency policy.
-- Grain: (source, _row, column_name, kind, message), source 'open_items', one row per item and
-- missing setting. Inputs: open_items_parsed, cfg_*.
WITH
-- the (policy, currency) pairs of the export, found in one pass
pairs AS MATERIALIZED (
    SELECT DISTINCT policy, letter_currency AS currency FROM open_items_parsed
    WHERE policy IS NOT NULL AND letter_currency IS NOT NULL
),
policy_currencies AS (
    -- only for the policies whose levels have per-currency tables of SPEC §9
    SELECT policy, currency FROM pairs
    WHERE policy IN (SELECT policy FROM cfg_levels
                     WHERE fee_kind = 'tiers' OR has_fee_min_table OR has_fee_max_table OR compensation = 'eu')
),
-- (policy, currency) pairs whose config tables lack the currency (SPEC §3.2)
money_gaps AS (
    SELECT i.policy, i.currency, 'min_amount' AS setting
    FROM pairs AS i JOIN cfg_policies AS p USING (policy)
    WHERE p.has_min_amount
      AND NOT EXISTS (SELECT 1 FROM cfg_min_amounts m WHERE m.policy = i.policy AND m.currency = i.currency)
    UNION ALL
    SELECT i.policy, i.currency, 'fee of level ' || l.level
    FROM pairs AS i JOIN cfg_levels AS l USING (policy)
    WHERE l.has_fee_table
      AND NOT EXISTS (SELECT 1 FROM cfg_level_fees f
                      WHERE f.policy = i.policy AND f.level = l.level AND f.currency = i.currency)
    UNION ALL
    SELECT i.policy, i.currency, 'interest min_amount'
    FROM pairs AS i JOIN cfg_policies AS p USING (policy)
    WHERE p.has_interest_min AND p.charges_interest
      AND NOT EXISTS (SELECT 1 FROM cfg_interest_min_amounts m
                      WHERE m.policy = i.policy AND m.currency = i.currency)
    UNION ALL
    -- SPEC §9.1, §9.2: the money rules' own per-currency tables
    SELECT pc.policy, pc.currency, kind.setting || ' of level ' || l.level
    FROM policy_currencies AS pc JOIN cfg_levels AS l USING (policy)
    CROSS JOIN LATERAL (
        SELECT 'fee_tiers' AS setting WHERE l.fee_kind = 'tiers' AND NOT EXISTS (
            SELECT 1 FROM cfg_fee_tiers t WHERE t.policy = pc.policy AND t.level = l.level AND t.currency = pc.currency)
        UNION ALL
        SELECT 'fee_min' WHERE l.has_fee_min_table AND NOT EXISTS (
            SELECT 1 FROM cfg_fee_limits f WHERE f.policy = pc.policy AND f.level = l.level
                                             AND f.currency = pc.currency AND f.fee_min IS NOT NULL)
        UNION ALL
        SELECT 'fee_max' WHERE l.has_fee_max_table AND NOT EXISTS (
            SELECT 1 FROM cfg_fee_limits f WHERE f.policy = pc.policy AND f.level = l.level
                                             AND f.currency = pc.currency AND f.fee_max IS NOT NULL)
    ) AS kind
    UNION ALL
    SELECT pc.policy, pc.currency, 'compensation_amount (a level has compensation = "eu")'
    FROM policy_currencies AS pc
    WHERE pc.policy IN (SELECT policy FROM cfg_levels WHERE compensation = 'eu')
      AND NOT EXISTS (SELECT 1 FROM cfg_compensation_amounts a WHERE a.policy = pc.policy AND a.currency = pc.currency)
)
SELECT 'open_items' AS source, i._row, 'currency' AS column_name,
       -- each missing setting is its own fix: a kind of its own
       'no_setting ' || g.policy || ' ' || g.setting || ' ' || g.currency AS kind,
       'policy ''' || g.policy || ''' has no ' || g.setting || ' for ' || g.currency
       || '; add ' || g.currency || ' to that table in the config' AS message
FROM open_items_parsed AS i JOIN money_gaps AS g ON g.policy = i.policy AND g.currency = i.letter_currency
