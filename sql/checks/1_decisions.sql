-- §8.1 Every input item is in decisions exactly once (rejected rows in rejected.parquet).
-- One row: ok, detail. Parameters: $input_rows (run.json inputs.open_items.rows).
WITH counts AS (
    SELECT (SELECT count(*) FROM decisions) AS decided,
           (SELECT count(DISTINCT doc_id) FROM decisions) AS distinct_ids,
           (SELECT count(*) FROM rejected WHERE source = 'open_items') AS rejected
)
SELECT decided = distinct_ids AND decided + rejected = $input_rows AS ok,
       decided || ' decisions (' || distinct_ids || ' distinct doc_ids) + ' || rejected
       || ' rejected rows vs ' || $input_rows || ' input rows' AS detail
FROM counts
