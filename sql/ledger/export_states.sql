-- export states: with stale_export = "use_export", the lagging items as the export shows
-- them, with their customer: the state the run took and the ledger records (item_states
-- with no letter). Empty in any other mode.
-- Grain: doc_id. Inputs: export_lag, open_items_parsed, rejected, $use_export.
SELECT l.doc_id, i.customer_id, l.export_level AS level, l.export_last_dunned_on AS last_dunned_on,
       l.export_compensation_charged AS compensation_charged, l.export_interest_paid_to AS interest_paid_to
FROM export_lag AS l
JOIN open_items_parsed AS i USING (doc_id)
WHERE l.status = 'lags' AND $use_export
  AND i._row NOT IN (SELECT row_number FROM rejected WHERE source = 'open_items')
ORDER BY l.doc_id
