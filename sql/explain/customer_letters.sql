-- explain/customer_letters: the letters of customer $customer_id, by letter_id.
-- Grain: letter_id. Inputs: letters (an output folder).
SELECT letter_id FROM letters WHERE customer_id = $customer_id ORDER BY letter_id
