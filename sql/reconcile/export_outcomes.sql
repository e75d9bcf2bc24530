-- export_outcomes: check 7 of `reconcile`: the export's rows against what the folder holds
-- of them: rows decided and rows rejected, doc_ids of the export neither decided nor
-- rejected, currencies whose export total differs from decided + rejected.
-- Grain: one row. Inputs: decisions, rejected (views of the folder). Parameters: $ids (the
-- export's doc_ids), $amounts (its rows' currency c and open amount a, export_items.sql).
WITH
export_totals AS (
    SELECT x.c AS currency, sum(x.a) AS amount FROM (SELECT unnest($amounts) AS x) GROUP BY 1
),
folder_totals AS (
    SELECT currency, sum(open_amount) AS amount FROM (
        SELECT currency, open_amount FROM decisions
        UNION ALL
        SELECT coalesce(currency, '?'), coalesce(open_amount, 0) FROM rejected WHERE source = 'open_items'
    ) GROUP BY 1
)
SELECT (SELECT count(*) FROM decisions) AS decided,
       (SELECT count(*) FROM rejected WHERE source = 'open_items') AS rejected,
       (SELECT count(*) FROM unnest($ids) AS t(doc_id)
        WHERE doc_id NOT IN (SELECT doc_id FROM decisions)
          AND doc_id NOT IN (SELECT trim(json_extract_string(row_text, '$.doc_id')) FROM rejected)) AS lost,
       (SELECT count(*) FROM export_totals AS e FULL JOIN folder_totals AS d USING (currency)
        WHERE coalesce(e.amount, 0) <> coalesce(d.amount, 0)) AS currencies_differing
