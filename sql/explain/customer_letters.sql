-- explain/customer_letters: the letters of customer $customer_id, by letter_id, with the
-- payment reference a transfer quotes to pay each (issue 19).
-- Grain: letter_id. Inputs: letters (an output folder).
SELECT letter_id, payment_reference FROM letters WHERE customer_id = $customer_id ORDER BY letter_id
