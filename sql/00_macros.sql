-- Macros shared by the stages: how exported values become typed values, and day counts.
-- Not a relation: this file is run as it is, before every other stage.
--
-- A CSV export arrives as text; a Parquet export keeps the types it was written with. The
-- parse_* macros take either: typeof() is folded to a constant when the query is bound, so
-- a column already of the wanted type is taken as it is and never goes through text.

-- What is trimmed around a value: the tab and every space character (Unicode Zs: the space,
-- the no-break space U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F and U+3000, which
-- DuckDB's trim() takes by itself), in that order, each written as its UTF-8 bytes.
-- One literal, not chr(9) || ' ' || chr(160) || ...: every blank() of a stage expands it,
-- and binding 17 concatenations each time was half the cost of planning the parse stages.
CREATE OR REPLACE MACRO padding() AS
    E'\t \xC2\xA0\xE1\x9A\x80\xE2\x80\x80\xE2\x80\x81\xE2\x80\x82\xE2\x80\x83\xE2\x80\x84\xE2\x80\x85\xE2\x80\x86\xE2\x80\x87\xE2\x80\x88\xE2\x80\x89\xE2\x80\x8A\xE2\x80\xAF\xE2\x81\x9F\xE3\x80\x80';

-- The value as trimmed text, NULL when it holds nothing (empty, or blank after trimming).
-- Spaces and tabs around a value are trimmed in every column (ids, codes, amounts, dates,
-- flags, names): an export padded with a tab (a spreadsheet's copy and paste) reads the same.
-- A tab inside a value stays, and is a problem of the text columns (has_unsafe_char).
-- A value that starts and ends with a printable ASCII character (! to ~: never padding) is
-- taken as it is: trim() with a set of characters costs about 0.5 µs a value, the most of
-- parsing ten million items, and exports are seldom padded.
CREATE OR REPLACE MACRO blank(t) AS
    CASE WHEN unicode(CAST(t AS VARCHAR)) BETWEEN 33 AND 126 AND unicode(CAST(t AS VARCHAR)[-1]) BETWEEN 33 AND 126
         THEN CAST(t AS VARCHAR) ELSE nullif(trim(CAST(t AS VARCHAR), padding()), '') END;

-- A raw input with every value as text (row_text of rejected rows reads the same for CSV
-- and Parquet); _row stays a number.
CREATE OR REPLACE MACRO as_text(rel) AS TABLE
    SELECT COLUMNS(* EXCLUDE (_row))::VARCHAR, _row FROM query_table(rel);

-- The export holds a value here (any type; text that is blank holds none).
CREATE OR REPLACE MACRO given(t) AS
    CASE WHEN typeof(t) = 'VARCHAR' THEN blank(t) IS NOT NULL ELSE t IS NOT NULL END;

-- Words exports use for "no value"; they are never taken as values.
-- (one case-blind regular expression: several times faster than upper(trim(t)) IN (...))
CREATE OR REPLACE MACRO is_null_word(t) AS
    regexp_full_match(CAST(t AS VARCHAR),
                      '(?i)[ \t]*(null|n/a|na|#n/a|nan|none|nil|-|inf|-inf|infinity|#value!|undefined)[ \t]*');

-- Characters no text field may hold (SPEC §2.3): C0 and C1 control characters (tab, VT,
-- ESC, NEL, ...) and the Unicode line and paragraph separators U+2028/U+2029, which some
-- readers take as line breaks and others do not (a mail header, a terminal, a spreadsheet).
-- Free text (names, postal addresses, branches) may hold line breaks (\n or \r\n): an
-- address's lines are separated by \n (SPEC §2.2); ids and codes may not. Other invisible
-- characters (bidi marks, zero-width joiners) are text of right-to-left and other scripts
-- and are kept; terminals print them escaped (terminal.py).
CREATE OR REPLACE MACRO has_unsafe_char(t) AS
    coalesce(regexp_matches(CAST(t AS VARCHAR), '[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]'), false);
CREATE OR REPLACE MACRO without_line_breaks(t) AS
    replace(replace(CAST(t AS VARCHAR), chr(13) || chr(10), ''), chr(10), '');

-- Ids and codes (document, customer and payment ids, classes, postal codes, ...) are matched
-- byte for byte by the ERP and by the checks: they may not hold invisible format characters
-- either (Unicode Cf: a byte order mark inside the file, U+200B, bidi controls), which made
-- 'INV-1' and a BOM before 'INV-1' two documents, and put the BOM into the levels file.
CREATE OR REPLACE MACRO has_unsafe_id_char(t) AS
    coalesce(regexp_matches(CAST(t AS VARCHAR), '[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}\p{Cf}]'), false);

-- The sentence for text `t` whose `checked` part holds such a character (the first one).
CREATE OR REPLACE MACRO unsafe_text(t, checked) AS
    '''' || t || ''' holds the '
    || CASE unicode(regexp_extract(checked, '[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]'))
            WHEN 8232 THEN 'line separator U+2028' WHEN 8233 THEN 'paragraph separator U+2029'
            ELSE 'control character U+'
                 || printf('%04X', unicode(regexp_extract(checked, '[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]')))
       END || '; remove it from the export';

-- The sentence for an id or code `t` that holds a character has_unsafe_id_char refuses.
CREATE OR REPLACE MACRO unsafe_id_text(t) AS
    CASE WHEN has_unsafe_char(t) THEN unsafe_text(t, t)
         ELSE '''' || t || ''' holds the invisible format character U+'
              || printf('%04X', unicode(regexp_extract(t, '\p{Cf}'))) || '; remove it from the export' END;

-- The sentence for a value that does not parse as `expected`.
CREATE OR REPLACE MACRO not_a(t, expected) AS
    CASE WHEN is_null_word(t) THEN '''' || blank(t) || ''' is not a value; leave the field empty for none'
         ELSE '''' || blank(t) || ''' is not ' || expected END;

-- The kind of problem not_a states (problems.kind, by which problem lines are grouped).
CREATE OR REPLACE MACRO not_a_kind(t, kind) AS CASE WHEN is_null_word(t) THEN 'null_word' ELSE kind END;

-- A whole number of cents (HUGEINT) as exact decimal text: 123456 -> '1234.56'.
CREATE OR REPLACE MACRO cents_text(c) AS
    CASE WHEN c < 0 THEN '-' ELSE '' END || CAST(abs(c) // 100 AS VARCHAR) || '.'
    || lpad(CAST(abs(c) % 100 AS VARCHAR), 2, '0');

-- A date outside the plausible window lo..hi around the run date ([run] plausible_years):
-- a year typed 0206 for 2026 is an input error, not 1,820 years of interest.
CREATE OR REPLACE MACRO implausible(d, lo, hi) AS coalesce(d < lo OR d > hi, false);

-- The sentence for such a date: `t` as exported.
CREATE OR REPLACE MACRO implausible_message(t, d, as_of, years) AS
    '''' || blank(t) || ''' is more than ' || years || ' years '
    || CASE WHEN d < as_of THEN 'before' ELSE 'after' END || ' the run date ' || as_of
    || '; correct the date, or widen [run] plausible_years';

-- Text the tool reads (ids, names, addresses, branches) is at most 1,000 characters: a
-- longer value is a note in the wrong column, and on a letter it would take minutes to lay
-- out. Columns the tool does not read may hold text of any length.
CREATE OR REPLACE MACRO too_long(t) AS length(CAST(t AS VARCHAR)) > 1000;

CREATE OR REPLACE MACRO too_long_message(t) AS
    'is ' || length(CAST(t AS VARCHAR)) || ' characters long, more than the 1000 allowed; check that '
    || 'a note or a shifted column did not land here';

-- An amount split into sign, integer digits (grouping allowed), fraction, trailing sign (SAP).
CREATE OR REPLACE MACRO amount_parts(t, decimal_comma) AS
    CASE WHEN decimal_comma
         THEN regexp_extract(blank(t), '^([+-]?)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(-?)$',
                             ['sign', 'digits', 'fraction', 'trail'])
         ELSE regexp_extract(blank(t), '^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(-?)$',
                             ['sign', 'digits', 'fraction', 'trail'])
    END;

-- parts -> DECIMAL(38,10) or NULL: at most 16 integer digits (DECIMAL(18,2)) and
-- `max_scale` significant decimals (trailing zeros of a fixed-width export are not decimals).
-- The parts are bound once, as the lambda's q: a macro copies its argument at each use, and
-- nine copies of amount_parts took DuckDB about 0.1 s to plan, in every stage that parses an
-- amount (most of a small run's time).
CREATE OR REPLACE MACRO parts_value(p, max_scale) AS
    list_transform([p], lambda q:
        CASE WHEN q.digits <> '' AND NOT (q.sign <> '' AND q.trail <> '')
                  AND length(rtrim(q.fraction, '0')) <= max_scale
                  AND length(ltrim(regexp_replace(q.digits, '[.,]', '', 'g'), '0')) <= 16
             THEN CAST(CASE WHEN q.sign = '-' OR q.trail = '-' THEN '-' ELSE '' END
                       || regexp_replace(q.digits, '[.,]', '', 'g') || '.'
                       || coalesce(nullif(rtrim(q.fraction, '0'), ''), '0') AS DECIMAL(38, 10))
        END)[1];

-- Plain text takes the fast path; grouped, signed-at-the-end or odd text the careful one.
CREATE OR REPLACE MACRO parse_amount_text(t, decimal_comma) AS
    CASE WHEN blank(t) IS NULL THEN NULL
         WHEN NOT decimal_comma AND regexp_full_match(t, '-?\d{1,16}(\.\d{1,2})?')
              THEN CAST(t AS DECIMAL(18, 2))
         WHEN decimal_comma AND regexp_full_match(t, '-?\d{1,16}(,\d{1,2})?')
              THEN CAST(replace(t, ',', '.') AS DECIMAL(18, 2))
         ELSE CAST(parts_value(amount_parts(t, decimal_comma), 2) AS DECIMAL(18, 2))
    END;

-- A typed decimal of at most 2 decimals as it is (NULL beyond 16 integer digits); any other
-- typed number through its text, which has a decimal point whatever the config says (one
-- parse_amount_text, not one per type: each copy costs the planner).
CREATE OR REPLACE MACRO parse_amount(t, decimal_comma) AS
    CASE WHEN regexp_full_match(typeof(t), 'DECIMAL\(\d+,[0-2]\)') THEN TRY_CAST(t AS DECIMAL(18, 2))
         ELSE parse_amount_text(CAST(t AS VARCHAR), decimal_comma AND typeof(t) = 'VARCHAR')
    END;

-- A percent rate with up to 6 decimals, as DECIMAL(38,6): a rate beyond 100 % (a shifted
-- column, 20261101) parses, so that the problem stages (1x) can say what is wrong with it; only a rate
-- from 0 to 100 is ever used.
CREATE OR REPLACE MACRO parse_rate(t, decimal_comma) AS
    CASE WHEN regexp_full_match(typeof(t), 'DECIMAL\(\d+,[0-6]\)') THEN TRY_CAST(t AS DECIMAL(38, 6))
         WHEN blank(t) IS NULL THEN NULL
         ELSE CAST(parts_value(amount_parts(blank(t), decimal_comma AND typeof(t) = 'VARCHAR'), 6)
                   AS DECIMAL(38, 6))
    END;

-- A typed date as it is (a timestamp's time of day is dropped); text in the format `fmt`.
CREATE OR REPLACE MACRO parse_date(t, fmt) AS
    CASE WHEN typeof(t) = 'DATE' OR typeof(t) LIKE 'TIMESTAMP%' THEN TRY_CAST(t AS DATE)
         ELSE try_strptime(blank(t), fmt)::DATE
    END;

CREATE OR REPLACE MACRO parse_int(t) AS
    CASE WHEN typeof(t) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT',
                            'UINTEGER', 'UBIGINT', 'UHUGEINT') THEN TRY_CAST(t AS INTEGER)
         WHEN regexp_full_match(blank(t), '[+-]?\d{1,9}') THEN CAST(blank(t) AS INTEGER)
    END;

CREATE OR REPLACE MACRO parse_bool(t) AS
    CASE WHEN typeof(t) = 'BOOLEAN' THEN TRY_CAST(t AS BOOLEAN)
         WHEN lower(blank(t)) IN ('true', 't', 'yes', 'y', '1', 'x', 'ja', 'j', 'oui') THEN true
         WHEN lower(blank(t)) IN ('false', 'f', 'no', 'n', '0', 'nein', 'non') THEN false
    END;

-- The document types that bear interest when overdue in a letter whose level charges it
-- (SPEC §4.6): not fees, not credits. 55_interest_lines charges by it; item_details says it.
CREATE OR REPLACE MACRO earns_interest(doc_type) AS doc_type IN ('invoice', 'debit_memo', 'refund');

-- Days from d1 (exclusive) to d2 (inclusive) by the 30E/360 convention.
CREATE OR REPLACE MACRO days_30e(d1, d2) AS
    360 * (year(d2) - year(d1)) + 30 * (month(d2) - month(d1))
    + (least(day(d2), 30) - least(day(d1), 30));

-- How many hex digits of the key's sha256 a letter id keeps (SPEC §5): 16, 64 bits. At 40
-- bits (10 digits, the earlier length) a night of a million letters has two keys sharing an
-- id with a probability of about a third; run.check_letter_ids stops a run in which any do.
CREATE OR REPLACE MACRO letter_id_hex_digits() AS 16;

-- The deterministic letter id of SPEC §5.
CREATE OR REPLACE MACRO letter_id_of(run_date, letter_key) AS
    'DL-' || strftime(run_date, '%Y%m%d') || '-' || left(sha256(letter_key), letter_id_hex_digits());

-- The shard of a customer id for distributed runs: a stable hash (md5), the same on
-- every machine and every run. The id is trimmed as blank() trims it: an item whose id is
-- padded with a tab lands in its customer's shard.
CREATE OR REPLACE MACRO shard_of(customer_id, shards) AS
    coalesce(CAST(('0x' || left(md5(trim(CAST(customer_id AS VARCHAR), padding())), 8)) AS UBIGINT) % shards, 0);

-- Why an item's or a payment's customer_id names no customer (`what`: 'item', 'payment'):
-- empty, a null word, or an id the customers file does not hold (SPEC §2.3, §9.5).
CREATE OR REPLACE MACRO customer_id_problem(customer_id, what) AS
    CASE WHEN customer_id IS NULL THEN 'is empty; every ' || what || ' needs a customer'
         WHEN is_null_word(customer_id) THEN not_a(customer_id, '')
         ELSE 'customer ''' || customer_id || ''' is not in the customers file' END;
CREATE OR REPLACE MACRO customer_id_kind(customer_id) AS
    CASE WHEN customer_id IS NULL THEN 'empty' WHEN is_null_word(customer_id) THEN 'null_word'
         ELSE 'unknown_customer' END;

-- SPEC §11.1: `amount` (DECIMAL(18,2), in its document's currency) converted at the exchange
-- rate `rate` (DECIMAL(28,10): 1 document currency = rate letter currency), rounded half away
-- from zero to the letter currency's minor unit. The product is exact (DECIMAL(38,12)), never
-- a binary float; round() takes a constant scale, so each minor unit is a branch of its own,
-- cast on its own (a CASE over DECIMAL(38,0) and DECIMAL(38,2) would get the scale 0).
CREATE OR REPLACE MACRO in_letter_currency(amount, rate, minor_unit) AS
    CASE minor_unit
        WHEN 0 THEN CAST(round(CAST(amount AS DECIMAL(18, 2)) * CAST(rate AS DECIMAL(28, 10)), 0) AS DECIMAL(18, 2))
        WHEN 1 THEN CAST(round(CAST(amount AS DECIMAL(18, 2)) * CAST(rate AS DECIMAL(28, 10)), 1) AS DECIMAL(18, 2))
        ELSE CAST(round(CAST(amount AS DECIMAL(18, 2)) * CAST(rate AS DECIMAL(28, 10)), 2) AS DECIMAL(18, 2))
    END;
