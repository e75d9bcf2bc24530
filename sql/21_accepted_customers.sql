-- accepted_customers: one row per row of the customers export that was not rejected
-- (SPEC §2.3), so one per customer_id: where letters take a customer's name, language and
-- address. A view (pipeline.VIEW_RELATIONS). A customer created for an id the items name
-- ([input.customers] missing = "create") has no row (_row NULL) and is never rejected.
-- Grain: customer_id. Inputs: customers_parsed, rejected.
SELECT c.*
FROM customers_parsed AS c
WHERE c._row IS NULL OR c._row NOT IN (SELECT row_number FROM rejected WHERE source = 'customers')
