-- id_problems: the rows whose id is missing or repeats (SPEC §2.3), of each source: a
-- customer's customer_id, an item's doc_id, a payment's payment_id (SPEC §9.5).
-- Grain: (source, _row, column_name, kind, message), the columns of `problems` (kind: what is
-- wrong, whatever the value: 'empty', 'null_word', 'duplicate').
-- Inputs: customers_parsed and raw_customers (the id as exported), open_items_parsed,
-- payments_parsed.
WITH
c AS MATERIALIZED (
    SELECT p._row, p.customer_id, CAST(r.customer_id AS VARCHAR) AS t_customer_id
    FROM customers_parsed AS p JOIN raw_customers AS r USING (_row)
),
customer_ids AS (
    SELECT customer_id, count(*) AS n, min(_row) AS first_row FROM c
    WHERE customer_id IS NOT NULL GROUP BY customer_id
),
doc_ids AS (
    -- grouping the 64-bit hashes of the ids first leaves only the few candidates to group by text
    SELECT doc_id, count(*) AS n, min(_row) AS first_row FROM open_items_parsed
    WHERE doc_id IS NOT NULL
      AND hash(doc_id) IN (SELECT hash(doc_id) FROM open_items_parsed WHERE doc_id IS NOT NULL
                           GROUP BY hash(doc_id) HAVING count(*) > 1)
    GROUP BY doc_id HAVING count(*) > 1
),
payment_ids AS (
    SELECT payment_id, count(*) AS n, min(_row) AS first_row FROM payments_parsed
    WHERE payment_id IS NOT NULL GROUP BY payment_id HAVING count(*) > 1
)
SELECT 'customers' AS source, _row, 'customer_id' AS column_name,
       CASE WHEN blank(t_customer_id) IS NULL THEN 'empty' ELSE 'null_word' END AS kind,
       CASE WHEN t_customer_id IS NULL OR blank(t_customer_id) IS NULL THEN 'is empty; every customer needs an id'
            ELSE not_a(t_customer_id, 'a customer id') END AS message
FROM c WHERE customer_id IS NULL OR is_null_word(customer_id)
UNION ALL
SELECT 'customers', c._row, 'customer_id', 'duplicate',
       '''' || c.customer_id || ''' appears ' || ids.n || ' times (first at row ' || ids.first_row
       || '); each customer must be listed once'
FROM c JOIN customer_ids AS ids USING (customer_id) WHERE ids.n > 1
UNION ALL
SELECT 'open_items', _row, 'doc_id', CASE WHEN doc_id IS NULL THEN 'empty' ELSE 'null_word' END,
       CASE WHEN doc_id IS NULL THEN 'is empty; every item needs a document id' ELSE not_a(doc_id, 'a document id') END
FROM open_items_parsed WHERE suspect AND (doc_id IS NULL OR is_null_word(doc_id))
UNION ALL
SELECT 'open_items', p._row, 'doc_id', 'duplicate',
       '''' || p.doc_id || ''' appears ' || ids.n || ' times (first at row ' || ids.first_row
       || '); document ids must be unique'
FROM open_items_parsed AS p JOIN doc_ids AS ids USING (doc_id)
UNION ALL
SELECT 'payments', _row, 'payment_id', CASE WHEN payment_id IS NULL THEN 'empty' ELSE 'null_word' END,
       CASE WHEN payment_id IS NULL THEN 'is empty; every payment needs an id' ELSE not_a(payment_id, 'a payment id') END
FROM payments_parsed WHERE payment_id IS NULL OR is_null_word(payment_id)
UNION ALL
SELECT 'payments', pay._row, 'payment_id', 'duplicate',
       '''' || pay.payment_id || ''' appears ' || ids.n || ' times (first at row ' || ids.first_row
       || '); payment ids must be unique'
FROM payments_parsed AS pay JOIN payment_ids AS ids USING (payment_id)
