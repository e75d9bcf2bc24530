-- email_letters: one row per letter whose channel includes email (SPEC §10.2), with what
-- its message needs. Read from an output folder's views, not a pipeline stage.
-- Grain: letter_id. Inputs: letters, recipients.
SELECT l.letter_id, l.run_date, l.customer_name, l.language, l.template, l.currency,
       l.total_due, l.pay_by, l.pdf_path, l.payment_reference,
       -- the customer's addresses, `;`-separated in the export: addresses.py parses them, the
       -- same code 11_customer_problems judged them with
       r.email,
       r.country  -- with the language, the locale its amounts and dates are formatted by
FROM letters AS l
JOIN recipients AS r USING (letter_id)
WHERE r.delivery IN ('email', 'both')
ORDER BY l.letter_id
