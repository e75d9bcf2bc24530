-- explain/customer_contacts: who the letters of customer $customer_id were addressed to (SPEC
-- §11.2): its name, the contact of the attention line, the addresses its emails went to (the
-- contact's in place of its own) and the sales rep the letters name. One row per distinct
-- recipient (a customer's letters share one); the columns are NULL in a folder written
-- without §11.2 (outputs.layout RULE_COLUMNS).
-- Grain: one row per distinct recipient. Inputs: recipients (an output folder).
SELECT DISTINCT name, delivery, email, contact_name, contact_email, sales_rep, sales_rep_name, sales_rep_email,
       sales_rep_phone
FROM recipients
WHERE customer_id = $customer_id
ORDER BY ALL
