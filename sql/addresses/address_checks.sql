-- addresses/address_checks: stage 04_address_checks' table, one row per distinct email field
-- of a customer whose letters go by email (SPEC §10.1) with why it is not deliverable (NULL
-- when it is): the parser's verdict (judged_emails, the fields of addresses/emails_to_check
-- judged in Python), NULL for a plainly deliverable field, which the parser is not asked about.
-- Grain: email. Inputs: customers_parsed, judged_emails (email, problem).
SELECT e.email, j.problem
FROM (SELECT DISTINCT email FROM customers_parsed
      WHERE email IS NOT NULL AND delivery IN ('email', 'both')) AS e
LEFT JOIN judged_emails AS j USING (email)
