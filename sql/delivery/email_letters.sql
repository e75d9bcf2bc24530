-- email_letters: one row per letter whose channel includes email (SPEC §10.2), with what
-- its message needs. Read from an output folder's views, not a pipeline stage.
-- Grain: letter_id. Inputs: letters, recipients.
SELECT l.letter_id, l.run_date, l.customer_name, l.language, l.template, l.currency,
       l.total_due, l.pay_by, l.pdf_path, l.payment_reference,
       -- the customer's addresses, `;`-separated in the export: addresses.py parses them, the
       -- same code 11_customer_problems judged them with. SPEC §11.2: the contact's, when the
       -- customer names one, in place of its own (a folder without them has them NULL)
       coalesce(r.contact_email, r.email) AS email,
       r.country,  -- with the language, the locale its amounts and dates are formatted by
       -- SPEC §11.2: the sales rep, the message's Reply-To (NULL: none)
       r.sales_rep_name, r.sales_rep_email
FROM letters AS l
JOIN recipients AS r USING (letter_id)
WHERE r.delivery IN ('email', 'both')
ORDER BY l.letter_id
