-- export_items: check 7 of `reconcile`: the original export as the run's own stages parse it
-- (01_customers_parsed, 02_open_items_parsed on a connection of its own): its rows, its
-- doc_ids and each row's currency and open amount.
-- Grain: one row. Inputs: open_items_parsed.
SELECT count(*) AS export_rows, list(DISTINCT doc_id ORDER BY doc_id) AS doc_ids,
       list(struct_pack(c := coalesce(currency, '?'), a := open_amount)) AS amounts
FROM open_items_parsed
