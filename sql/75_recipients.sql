-- recipients: one row per letter with where it goes (postal address, email, channel, language),
-- so that `render` can rebuild every PDF from the output folder alone.
-- Grain: letter_id. Inputs: letters, accepted_customers.
SELECT l.letter_id, l.customer_id, c.name, c.address, c.postal_code, c.country, c.email, c.delivery, l.language
FROM letters AS l
JOIN accepted_customers AS c USING (customer_id)
ORDER BY l.letter_id
