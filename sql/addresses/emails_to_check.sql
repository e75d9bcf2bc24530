-- addresses/emails_to_check: every distinct email field of a customer whose letters go by
-- email (SPEC §10.1), for stage 04_address_checks, which judges each with the parser delivery
-- builds its headers with (dunning_batch/addresses.py).
-- Grain: email. Inputs: customers_parsed.
SELECT DISTINCT email
FROM customers_parsed
WHERE email IS NOT NULL AND delivery IN ('email', 'both')
