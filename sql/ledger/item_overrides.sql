-- item overrides: with stale_export = "use_ledger", the state tonight's decisions take for
-- each lagging item: the later of the export's and the ledger's, part by part, as if the
-- levels file had been re-imported (22_items applies it). Empty in any other mode.
-- Grain: doc_id. Inputs: export_lag, $use_ledger.
SELECT doc_id,
       greatest(export_level, ledger_level) AS level_before,
       CASE WHEN ledger_level > export_level THEN ledger_last_dunned_on
            WHEN export_level > ledger_level THEN export_last_dunned_on
            ELSE greatest(export_last_dunned_on, ledger_last_dunned_on) END AS last_dunned_before,
       export_compensation_charged OR coalesce(ledger_compensation_charged, false) AS compensation_charged,
       greatest(export_interest_paid_to, ledger_interest_paid_to) AS interest_paid_to
FROM export_lag
WHERE status = 'lags' AND $use_ledger
ORDER BY doc_id
