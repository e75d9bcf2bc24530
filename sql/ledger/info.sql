-- ledger info: the format mark and schema version the ledger was made with.
-- Grain: key. Inputs: ledger_info.
SELECT key, value FROM ledger_info ORDER BY key
