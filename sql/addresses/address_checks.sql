-- addresses/address_checks: stage 04_address_checks' table, one row per distinct email field
-- of a customer whose letters go by email (SPEC §10.1), its own `email` and its contact's
-- `contact_email` (§11.2), with why it is not deliverable (NULL when it is): the parser's
-- verdict (judged_emails, the fields of addresses/emails_to_check judged in Python), NULL for
-- a plainly deliverable field, which the parser is not asked about.
-- Grain: email. Inputs: customers_parsed, judged_emails (email, problem).
SELECT e.email, j.problem
FROM (SELECT DISTINCT email
      FROM (SELECT email FROM customers_parsed WHERE delivery IN ('email', 'both')
            UNION ALL
            SELECT contact_email FROM customers_parsed WHERE delivery IN ('email', 'both'))
      WHERE email IS NOT NULL) AS e
LEFT JOIN judged_emails AS j USING (email)
