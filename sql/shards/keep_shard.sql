-- keep_shard: the rows of one raw input that belong to shard $k of $n, for a run on a Dask
-- cluster (distributed.py): a customer's shard is a stable hash of its id (00_macros.sql
-- shard_of), so a customer's items and payments land in the shard of the customer.
-- Not a pipeline stage: session.keep_shard makes raw_customers, raw_open_items and
-- raw_payments with it, each from the whole relation it renamed to $source.
-- Grain: the input's rows. Inputs: $source (raw_customers_all, raw_open_items_all or
-- raw_payments_all). Parameters: $source, $n (shards), $k (this shard, 0..n-1).
SELECT * FROM query_table($source) WHERE shard_of(customer_id, $n) = $k
