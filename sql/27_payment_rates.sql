-- payment_rates: one row per accepted payment whose letter currency differs from its own
-- (SPEC §11.1, §9.5), with the exchange rate its late interest is converted at: the rate of
-- the direct pair (payment currency -> letter currency) with the latest rate_date on or before
-- its rate day (03_payments_parsed), and that rate_date. A payment no letter could charge
-- (paid on time, already charged) may have none: 55_interest_lines never converts it.
-- Empty without letter_currency or payments.
-- Grain: payment_id. Inputs: payments, rates_parsed.
SELECT p.payment_id, p.letter_currency, r.rate, r.rate_date, p.rate_day
FROM payments AS p
ASOF JOIN (SELECT * FROM rates_parsed WHERE usable) AS r
  ON r.from_currency = p.currency AND r.to_currency = p.letter_currency AND p.rate_day >= r.rate_date
WHERE p.letter_currency <> p.currency
