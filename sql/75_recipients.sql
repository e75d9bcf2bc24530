-- recipients: one row per letter with where it goes (postal address, email, channel, language),
-- so that `render` can rebuild every PDF from the output folder alone.
-- Grain: letter_id. Inputs: letters, customers_parsed, rejected.
SELECT l.letter_id, l.customer_id, c.name, c.address, c.postal_code, c.country, c.email, c.delivery, l.language
FROM letters AS l
JOIN customers_parsed AS c
  ON c.customer_id = l.customer_id
 AND c._row NOT IN (SELECT row_number FROM rejected WHERE source = 'customers')
ORDER BY l.letter_id
