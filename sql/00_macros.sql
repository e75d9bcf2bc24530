-- Macros shared by the stages: how exported text becomes typed values, and day counts.
-- Not a relation: this file is run as it is, before every other stage.

-- Text that holds nothing: empty, or blank after trimming.
CREATE OR REPLACE MACRO blank(t) AS nullif(trim(t), '');

-- Words exports use for "no value"; they are never taken as values.
CREATE OR REPLACE MACRO is_null_word(t) AS
    upper(trim(t)) IN ('NULL', 'N/A', 'NA', '#N/A', 'NAN', 'NONE', 'NIL', '-', 'INF', '-INF',
                       'INFINITY', '#VALUE!', 'UNDEFINED');

-- The sentence for a value that does not parse as `expected`.
CREATE OR REPLACE MACRO not_a(t, expected) AS
    CASE WHEN is_null_word(t) THEN '''' || trim(t) || ''' is not a value; leave the field empty for none'
         ELSE '''' || trim(t) || ''' is not ' || expected END;

-- An amount split into sign, integer digits (grouping allowed), fraction, trailing sign (SAP).
CREATE OR REPLACE MACRO amount_parts(t, decimal_comma) AS
    CASE WHEN decimal_comma
         THEN regexp_extract(trim(t), '^([+-]?)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(-?)$',
                             ['sign', 'digits', 'fraction', 'trail'])
         ELSE regexp_extract(trim(t), '^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(-?)$',
                             ['sign', 'digits', 'fraction', 'trail'])
    END;

-- parts -> DECIMAL(38,10) or NULL: at most 16 integer digits (DECIMAL(18,2)) and
-- `max_scale` significant decimals (trailing zeros of a fixed-width export are not decimals).
CREATE OR REPLACE MACRO parts_value(p, max_scale) AS
    CASE WHEN p.digits <> '' AND NOT (p.sign <> '' AND p.trail <> '')
              AND length(rtrim(p.fraction, '0')) <= max_scale
              AND length(ltrim(regexp_replace(p.digits, '[.,]', '', 'g'), '0')) <= 16
         THEN CAST(CASE WHEN p.sign = '-' OR p.trail = '-' THEN '-' ELSE '' END
                   || regexp_replace(p.digits, '[.,]', '', 'g') || '.'
                   || coalesce(nullif(rtrim(p.fraction, '0'), ''), '0') AS DECIMAL(38, 10))
    END;

-- Plain values take the fast path; grouped, signed-at-the-end or odd ones the careful one.
CREATE OR REPLACE MACRO parse_amount(t, decimal_comma) AS
    CASE WHEN blank(t) IS NULL THEN NULL
         WHEN NOT decimal_comma AND regexp_full_match(t, '-?\d{1,16}(\.\d{1,2})?')
              THEN CAST(t AS DECIMAL(18, 2))
         WHEN decimal_comma AND regexp_full_match(t, '-?\d{1,16}(,\d{1,2})?')
              THEN CAST(replace(t, ',', '.') AS DECIMAL(18, 2))
         ELSE CAST(parts_value(amount_parts(t, decimal_comma), 2) AS DECIMAL(18, 2))
    END;

-- A percent rate with up to 6 decimals.
CREATE OR REPLACE MACRO parse_rate(t, decimal_comma) AS
    CASE WHEN blank(t) IS NULL THEN NULL
         ELSE CAST(parts_value(amount_parts(t, decimal_comma), 6) AS DECIMAL(18, 6))
    END;

CREATE OR REPLACE MACRO parse_date(t, fmt) AS try_strptime(blank(t), fmt)::DATE;

CREATE OR REPLACE MACRO parse_int(t) AS
    CASE WHEN regexp_full_match(trim(t), '[+-]?\d{1,9}') THEN CAST(trim(t) AS INTEGER) END;

CREATE OR REPLACE MACRO parse_bool(t) AS
    CASE WHEN lower(trim(t)) IN ('true', 't', 'yes', 'y', '1', 'x', 'ja', 'j', 'oui') THEN true
         WHEN lower(trim(t)) IN ('false', 'f', 'no', 'n', '0', 'nein', 'non') THEN false
    END;

-- Days from d1 (exclusive) to d2 (inclusive) by the 30E/360 convention.
CREATE OR REPLACE MACRO days_30e(d1, d2) AS
    360 * (year(d2) - year(d1)) + 30 * (month(d2) - month(d1))
    + (least(day(d2), 30) - least(day(d1), 30));

-- The deterministic letter id of SPEC §5.
CREATE OR REPLACE MACRO letter_id_of(run_date, letter_key) AS
    'DL-' || strftime(run_date, '%Y%m%d') || '-' || left(sha256(letter_key), 10);

-- The shard of a customer id for distributed runs: a stable hash (md5), the same on
-- every machine and every run.
CREATE OR REPLACE MACRO shard_of(customer_id, shards) AS
    coalesce(CAST(('0x' || left(md5(trim(customer_id)), 8)) AS UBIGINT) % shards, 0);
