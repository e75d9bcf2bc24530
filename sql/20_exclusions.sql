-- exclusions: one row per item with the first exclusion of SPEC §4.2 that applies to it,
-- or NULL when none does. The order of the CASE is the order of the SPEC. Grain: _row.
-- Inputs: items.
WITH final_customers AS (
    -- the final reminder was sent: collection took over (grouping "customer" only)
    SELECT DISTINCT customer_id FROM items WHERE level_before >= last_level
)
SELECT
    i._row,
    CASE
        WHEN i.dunning_blocked                                             THEN 'customer_blocked'
        WHEN i.policy IS NULL                                              THEN 'no_policy'
        WHEN $grouping = 'customer' AND f.customer_id IS NOT NULL          THEN 'customer_final'
        WHEN i.blocked                                                     THEN 'blocked'
        WHEN i.disputed AND NOT $include_disputed                          THEN 'disputed'
        WHEN $as_of::DATE <= i.grace_until
          OR $as_of::DATE <= i.customer_grace_until                        THEN 'in_grace'
        WHEN i.level_before >= i.last_level                                THEN 'max_level'
    END AS exclusion
FROM items AS i
LEFT JOIN final_customers AS f USING (customer_id)
