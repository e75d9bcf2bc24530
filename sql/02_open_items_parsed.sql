-- open_items_parsed: one row per row of the open-items export, values typed (NULL where
-- the text does not parse; 03_problems says why). doc_type is mapped to the standard
-- types through [input.open_items] doc_types; an empty doc_type means invoice.
-- Inputs: raw_open_items (all text), cfg_doc_types, cfg_currencies.
SELECT
    r._row,
    blank(r.doc_id)                                   AS doc_id,
    blank(r.customer_id)                              AS customer_id,
    CASE WHEN blank(r.doc_type) IS NULL THEN 'invoice'
         ELSE coalesce(mapped.doc_type, standard.doc_type)
    END                                               AS doc_type,
    parse_date(r.doc_date, $items_date_format)        AS doc_date,
    parse_date(r.due_date, $items_date_format)        AS due_date,
    cur.currency                                      AS currency,
    cur.minor_unit                                    AS minor_unit,
    parse_amount(r.amount, $items_decimal_comma)      AS amount,
    parse_amount(r.open_amount, $items_decimal_comma) AS open_amount,
    CASE WHEN blank(r.dunning_level) IS NULL THEN 0 ELSE parse_int(r.dunning_level) END AS level_before,
    parse_date(r.last_dunned_on, $items_date_format)  AS last_dunned_before,
    coalesce(parse_bool(r.blocked), false)            AS blocked,
    coalesce(parse_bool(r.disputed), false)           AS disputed,
    parse_date(r.grace_until, $items_date_format)     AS grace_until,
    blank(r.branch)                                   AS branch
FROM raw_open_items AS r
LEFT JOIN cfg_doc_types AS mapped ON mapped.export_value = trim(r.doc_type)
LEFT JOIN cfg_doc_types AS standard
       ON standard.export_value IS NULL AND standard.doc_type = lower(trim(r.doc_type))
LEFT JOIN cfg_currencies AS cur ON cur.currency = upper(trim(r.currency))
