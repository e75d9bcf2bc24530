-- final_customers: the customers whose final reminder was sent (SPEC §4.2 customer_final),
-- each with its item at its policy's last level (the highest level, then the first doc_id)
-- and that level. A settled item at the last level is history, not an open claim in
-- collection, and makes no customer final. 25_exclusions excludes these customers' items
-- (grouping "customer"); 70_item_outcomes carries the item and level to item_details for
-- `explain` (a customer-grain join: cheaper than carrying the text through every item).
-- Grain: customer_id. Inputs: items.
SELECT customer_id, first(doc_id ORDER BY level_before DESC, doc_id) AS final_doc_id,
       max(level_before) AS final_level
FROM items
WHERE level_before >= last_level AND open_amount <> 0
GROUP BY customer_id
