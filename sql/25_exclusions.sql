-- exclusions: one row per item with the first exclusion of SPEC §4.2 that applies to it,
-- or NULL when none does. The order of the CASE is the order of the SPEC. Grain: _row.
-- `settled` (open_amount = 0, any doc_type) comes first: nothing is left to collect, so such
-- an item is never listed and counts toward no threshold or total (every later stage reads
-- only items without an exclusion), and it does not make its customer final either.
-- Inputs: items.
WITH final_customers AS (
    -- the final reminder was sent: collection took over (grouping "customer" only); a settled
    -- item at the last level is history, not an open claim in collection
    SELECT DISTINCT customer_id FROM items WHERE level_before >= last_level AND open_amount <> 0
)
SELECT
    i._row,
    CASE
        WHEN i.open_amount = 0                                             THEN 'settled'
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
