-- aging_buckets: AR aging per currency on the run date, over every accepted item that is
-- open: a settled item (open amount 0.00, SPEC §4.2) is not, and would count in a bucket
-- with nothing to collect. Grain: (currency, bucket). Buckets: current (not yet due, or no
-- due date), 1-30, 31-60, 61-90, over 90 days past due. Inputs: decisions.
SELECT
    currency,
    CASE WHEN days_past_due IS NULL OR days_past_due <= 0 THEN 'current'
         WHEN days_past_due <= 30 THEN '1-30'
         WHEN days_past_due <= 60 THEN '31-60'
         WHEN days_past_due <= 90 THEN '61-90'
         ELSE 'over 90'
    END AS bucket,
    min(CASE WHEN days_past_due IS NULL OR days_past_due <= 0 THEN 0
             WHEN days_past_due <= 30 THEN 1 WHEN days_past_due <= 60 THEN 2
             WHEN days_past_due <= 90 THEN 3 ELSE 4 END) AS bucket_order,
    count(*) AS items,
    sum(open_amount) AS open_amount
FROM decisions
WHERE reason IS DISTINCT FROM 'settled'
GROUP BY ALL
ORDER BY currency, bucket_order
