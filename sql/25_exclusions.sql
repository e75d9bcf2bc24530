-- exclusions: one row per item with the first exclusion of SPEC §4.2 that applies to it,
-- or NULL when none does. The order of the CASE is the order of the SPEC. Grain: _row.
-- `settled` (open_amount = 0, any doc_type) comes first: nothing is left to collect, so such
-- an item is never listed and counts toward no total or threshold (every later stage reads
-- only items without an exclusion), and it does not make its customer final either.
-- With the exclusion, the facts it rests on (item_details, for `explain`): for
-- customer_final, the level of the customer's final item (24_final_customers names the
-- item); for in_grace, whose grace date the run date is not after: the item's own (tested
-- first, customer_grace false) or the customer's (true). NULL for every other exclusion.
-- Only numbers and booleans here: 70_item_outcomes joins this relation on every item.
-- Inputs: items, final_customers (the customers collection took over).
WITH
judged AS (
    SELECT
        i._row, f.final_level,
        CASE WHEN $as_of::DATE <= i.grace_until          THEN 'item'
             WHEN $as_of::DATE <= i.customer_grace_until THEN 'customer'
        END AS grace_of,   -- read by the CASE below (DuckDB: a column alias of the same SELECT)
        CASE
            WHEN i.open_amount = 0                                             THEN 'settled'
            WHEN i.dunning_blocked                                             THEN 'customer_blocked'
            WHEN i.policy IS NULL                                              THEN 'no_policy'
            WHEN $grouping = 'customer' AND f.customer_id IS NOT NULL          THEN 'customer_final'
            WHEN i.blocked                                                     THEN 'blocked'
            WHEN i.disputed AND NOT $include_disputed                          THEN 'disputed'
            WHEN grace_of IS NOT NULL                                          THEN 'in_grace'
            WHEN i.level_before >= i.last_level                                THEN 'max_level'
        END AS exclusion
    FROM items AS i
    LEFT JOIN final_customers AS f USING (customer_id)
)
SELECT
    _row, exclusion,
    CAST(CASE WHEN exclusion = 'customer_final' THEN final_level END AS INTEGER) AS final_level,
    CASE WHEN exclusion = 'in_grace' THEN grace_of = 'customer' END             AS customer_grace
FROM judged
