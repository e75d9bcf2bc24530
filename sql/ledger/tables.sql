-- ledger tables: the tables of the open database file, to tell a new file, a ledger and
-- another database apart before anything is written (ledger/store.py).
-- Grain: table. Inputs: the catalogue.
SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY table_name
