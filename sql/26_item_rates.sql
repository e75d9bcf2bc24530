-- item_rates: one row per accepted open item (open_amount <> 0) whose letter currency differs
-- from its own (SPEC §11.1), with the exchange rate it is converted at: the rate of the direct
-- pair (item currency -> letter currency) with the latest rate_date on or before the item's
-- rate day (02_open_items_parsed), that rate_date, and letter_amount = open_amount x rate,
-- rounded half away from zero to the letter currency's minor unit (00_macros
-- in_letter_currency), exactly. 18_rate_problems made sure every such item has a rate (a
-- strict run stops, a lenient one rejects the item). Items in their letter's own currency
-- have no row: they are converted at 1, as they are. Empty without letter_currency.
-- Grain: _row. Inputs: items, rates_parsed, cfg_currencies.
WITH
converted AS (
    SELECT i._row, i.letter_currency, i.open_amount, i.rate_day, i.currency
    FROM items AS i
    WHERE i.letter_currency <> i.currency AND i.open_amount <> 0
)
SELECT c._row, c.letter_currency, r.rate, r.rate_date, c.rate_day, cur.minor_unit AS letter_minor_unit,
       in_letter_currency(c.open_amount, r.rate, cur.minor_unit) AS letter_amount
FROM converted AS c
ASOF JOIN (SELECT * FROM rates_parsed WHERE usable) AS r
  ON r.from_currency = c.currency AND r.to_currency = c.letter_currency AND c.rate_day >= r.rate_date
JOIN cfg_currencies AS cur ON cur.currency = c.letter_currency
