-- uses_contacts: whether a customer names a contact or a sales rep (SPEC §11.2), which
-- switches on the rule "contacts" (outputs.layout.output_rules): recipients.parquet then
-- carries each letter's contact and rep. Rows rejected tonight count too: the rule follows the
-- export, not which of its rows were accepted.
-- Grain: one row. Inputs: customers_parsed.
SELECT count(*) FILTER (WHERE contact_name IS NOT NULL OR contact_email IS NOT NULL OR sales_rep IS NOT NULL) > 0
       AS uses_contacts
FROM customers_parsed
