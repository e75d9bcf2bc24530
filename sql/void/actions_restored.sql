-- actions_restored: the customer actions a void undoes, as void.json lists them.
-- Grain: (letter_id, action). Inputs: customer_actions_restore (the void's temporary table).
SELECT customer_id, action, value, restore, letter_id FROM customer_actions_restore ORDER BY letter_id, action
