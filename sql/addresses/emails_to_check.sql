-- addresses/emails_to_check: every distinct email field of a customer whose letters go by
-- email (SPEC §10.1), its own `email` and its contact's `contact_email` (§11.2), that stage
-- 04_address_checks must judge with the parser delivery builds its headers with
-- (dunning_batch/addresses.py): all but the plainly deliverable ones.
-- A field that is one address of ASCII letters, digits, _ + - and single dots before the @,
-- and DNS labels of letters, digits and inner hyphens after it, ending in a label of letters
-- (no "--", so no IDNA A-label; at most 64 characters before the @ and 254 in all), is one
-- the parser reads back as it is (tests/test_delivery.py checks that against the parser): it
-- is deliverable without a call that costs 60 µs an address. Every other field is judged.
-- Grain: email. Inputs: customers_parsed.
SELECT DISTINCT email
FROM (SELECT email FROM customers_parsed WHERE delivery IN ('email', 'both')
      UNION ALL
      SELECT contact_email FROM customers_parsed WHERE delivery IN ('email', 'both'))
WHERE email IS NOT NULL
  AND NOT (regexp_full_match(email, '[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}')
           AND length(email) <= 254 AND strpos(email, '@') <= 65 AND NOT contains(email, '--'))
