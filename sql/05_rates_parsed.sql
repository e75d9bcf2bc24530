-- rates_parsed: one row per row of the optional exchange rates (SPEC §11.1, `--rates`), values
-- typed: rate_date, from_currency and to_currency (known ISO 4217 codes), and rate, 1 from =
-- rate to, as DECIMAL(28,10) (NULL where the text does not parse: a plain decimal with at most
-- 10 decimals and 16 integer digits, without thousands separators, which amounts may have but
-- which make '4,309' of a decimal-comma export read as 4309; 18_rate_problems says why), with
-- the values as given, as text, for the messages. `usable` marks a row a line may be converted at: every value
-- parses, the rate is above zero and the currencies differ. Empty when the run has no rates.
-- Grain: _row. Inputs: raw_rates (text, or the types of a Parquet file), cfg_currencies.
WITH parsed AS (
SELECT
    r._row,
    parse_date(r.rate_date, $rates_date_format)                     AS rate_date,
    f.currency                                                      AS from_currency,
    t.currency                                                      AS to_currency,
    -- TRY: a typed decimal beyond 18 integer digits is no rate (18_rate_problems says so), not a crash
    TRY_CAST(CASE WHEN regexp_full_match(typeof(r.rate), 'DECIMAL\(\d+,([0-9]|10)\)')
                  THEN TRY_CAST(r.rate AS DECIMAL(38, 10))
              WHEN blank(r.rate) IS NULL THEN NULL
              -- no thousands separator: '4,309' in a file without decimal_comma would read as 4309
              ELSE parts_value(amount_parts(
                       CASE WHEN strpos(blank(CAST(r.rate AS VARCHAR)),
                                        CASE WHEN $rates_decimal_comma AND typeof(r.rate) = 'VARCHAR' THEN '.'
                                             ELSE ',' END) = 0
                            THEN blank(CAST(r.rate AS VARCHAR)) END,
                       $rates_decimal_comma AND typeof(r.rate) = 'VARCHAR'), 10)
         END AS DECIMAL(28, 10))                                    AS rate,
    CAST(r.rate_date AS VARCHAR) AS t_rate_date, CAST(r.from_currency AS VARCHAR) AS t_from_currency,
    CAST(r.to_currency AS VARCHAR) AS t_to_currency, CAST(r.rate AS VARCHAR) AS t_rate
FROM raw_rates AS r
LEFT JOIN cfg_currencies AS f ON f.currency = upper(blank(r.from_currency))
LEFT JOIN cfg_currencies AS t ON t.currency = upper(blank(r.to_currency))
)
SELECT *,
       coalesce(rate_date IS NOT NULL AND from_currency IS NOT NULL AND to_currency IS NOT NULL
                AND from_currency <> to_currency AND rate > 0, false) AS usable
FROM parsed
