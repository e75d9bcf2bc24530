-- ledger columns: each column of the open database's tables with its type, to tell a ledger
-- whose tables were altered (a column dropped or retyped) from one this version writes,
-- against the same query over ledger/schema.sql made in memory (ledger/store.py).
-- Grain: table x column. Inputs: the catalogue.
SELECT table_name, column_name, data_type
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main'
ORDER BY table_name, column_index
