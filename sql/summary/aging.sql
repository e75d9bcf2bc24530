-- aging: open items and amounts per currency and aging bucket (the charts "Aging of open items").
-- Grain: (currency, bucket). Inputs: aging_buckets (analyst view).
SELECT currency, bucket, items, open_amount FROM aging_buckets ORDER BY currency, bucket_order
