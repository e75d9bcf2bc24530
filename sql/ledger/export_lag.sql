-- export lag: each accepted item of tonight's export whose state differs from the ledger's
-- (ledger_state: the item's latest state before tonight, loaded from ledger/item_state),
-- and how. `lags`: the export is behind the ledger in some part of the state the levels
-- file carries (a lower level, the same level dunned earlier, compensation not yet marked
-- charged, interest paid to an earlier day): that levels file was not re-imported. `ahead`:
-- only later in some part (the ERP dunned by hand): accepted and noted. A part the ledger
-- does not track (NULL: its rule was off) is not compared.
-- Grain: doc_id. Inputs: open_items_parsed, rejected, ledger_state.
WITH
export AS (
    SELECT doc_id, level_before AS level, last_dunned_before AS last_dunned_on, compensation_charged,
           interest_paid_to
    FROM open_items_parsed
    WHERE _row NOT IN (SELECT row_number FROM rejected WHERE source = 'open_items') AND doc_id IS NOT NULL
),
compared AS (
    SELECT e.doc_id,
           e.level AS export_level, e.last_dunned_on AS export_last_dunned_on,
           e.compensation_charged AS export_compensation_charged, e.interest_paid_to AS export_interest_paid_to,
           s.level AS ledger_level, s.last_dunned_on AS ledger_last_dunned_on,
           s.compensation_charged AS ledger_compensation_charged, s.interest_paid_to AS ledger_interest_paid_to,
           s.letter_id, s.run_date, s.folder,
           e.level < s.level
             OR (e.level = s.level
                 AND coalesce(e.last_dunned_on, DATE '0001-01-01') < coalesce(s.last_dunned_on, DATE '0001-01-01'))
             OR (coalesce(s.compensation_charged, false) AND NOT e.compensation_charged)
             OR coalesce(e.interest_paid_to, DATE '0001-01-01') < s.interest_paid_to AS lags,
           e.level > s.level
             OR (e.level = s.level AND e.last_dunned_on > coalesce(s.last_dunned_on, DATE '0001-01-01'))
             OR (e.compensation_charged AND s.compensation_charged = false)
             OR e.interest_paid_to > coalesce(s.interest_paid_to, DATE '0001-01-01') AS later
    FROM export AS e
    JOIN ledger_state AS s USING (doc_id)
)
SELECT * EXCLUDE (lags, later), CASE WHEN lags THEN 'lags' ELSE 'ahead' END AS status
FROM compared
WHERE lags OR later
ORDER BY doc_id
