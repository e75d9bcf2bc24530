-- recipients: one row per letter with where it goes (postal address, email, channel, language),
-- so that `render` can rebuild every PDF from the output folder alone. SPEC §11.2: the
-- contact the letter is for (its attention line; its email is the recipient in place of
-- `email`) and the sales rep named as the contact for questions and as the email's Reply-To,
-- with the rep's name, email and phone as the config gave them (a rerender needs no config).
-- These columns are written only when the config or the customers use §11.2 (outputs.layout
-- RULE_COLUMNS, rule "contacts").
-- Grain: letter_id. Inputs: letters, accepted_customers, cfg_sales_reps.
SELECT l.letter_id, l.customer_id, c.name, c.address, c.postal_code, c.country, c.email, c.delivery, l.language,
       c.contact_name, c.contact_email, c.sales_rep,
       s.name AS sales_rep_name, s.email AS sales_rep_email, nullif(s.phone, '') AS sales_rep_phone
FROM letters AS l
JOIN accepted_customers AS c USING (customer_id)
LEFT JOIN cfg_sales_reps AS s ON s.rep_id = c.sales_rep
ORDER BY l.letter_id
