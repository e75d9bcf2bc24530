-- §9.2 Compensation documents match the compensation lines, one each (CMP-<letter_id>-<doc_id>,
-- the line's amount, the letter's customer, currency and pay-by date); the letters' totals
-- hold them (check 3); every compensated item is compensation_charged = true in levels_update;
-- and no invoice is compensated twice: not twice in this run, and never when the export
-- said it was already charged (which a re-imported levels file says after an earlier run).
-- One row: ok, detail. Inputs: letters, letter_lines, compensation_documents, item_details,
-- levels_update (empty relations and NULL columns when no level charges compensation).
WITH
expected AS (
    SELECT 'CMP-' || ll.letter_id || '-' || ll.doc_id AS fee_doc_id, ll.letter_id, ll.doc_id, l.customer_id,
           l.currency, ll.compensation_amount AS amount, l.pay_by
    FROM letter_lines AS ll JOIN letters AS l USING (letter_id)
    WHERE ll.line_type = 'compensation'
),
mismatched AS (
    SELECT coalesce(e.fee_doc_id, d.fee_doc_id) AS fee_doc_id
    FROM expected AS e FULL JOIN compensation_documents AS d USING (fee_doc_id)
    WHERE e.fee_doc_id IS NULL OR d.fee_doc_id IS NULL OR e.amount <> d.amount
       OR e.letter_id <> d.letter_id OR e.customer_id <> d.customer_id OR e.currency <> d.currency
       OR e.pay_by <> d.due_date
),
twice AS (
    SELECT doc_id FROM expected GROUP BY doc_id HAVING count(*) > 1
    UNION
    SELECT e.doc_id FROM expected AS e JOIN item_details AS i USING (doc_id) WHERE i.compensation_charged
),
not_marked AS (
    SELECT e.doc_id FROM expected AS e LEFT JOIN levels_update AS u USING (doc_id)
    WHERE u.compensation_charged IS DISTINCT FROM true
)
SELECT NOT EXISTS (SELECT 1 FROM mismatched) AND NOT EXISTS (SELECT 1 FROM twice)
       AND NOT EXISTS (SELECT 1 FROM not_marked) AS ok,
       (SELECT count(*) FROM compensation_documents) || ' compensation documents vs '
       || (SELECT count(*) FROM expected) || ' compensation lines; ' || (SELECT count(*) FROM mismatched)
       || ' mismatched' || coalesce(' (first: ' || (SELECT min(fee_doc_id) FROM mismatched) || ')', '')
       || ', ' || (SELECT count(*) FROM twice) || ' invoice(s) compensated twice'
       || coalesce(' (first: ' || (SELECT min(doc_id) FROM twice) || ')', '')
       || ', ' || (SELECT count(*) FROM not_marked) || ' not marked compensation_charged in levels_update'
       AS detail
