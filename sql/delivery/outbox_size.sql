-- outbox_size: how many letters the outbox holds (`send` reports it).
-- Grain: one row. Inputs: outbox (a view of an output folder).
SELECT count(*) AS letters FROM outbox
