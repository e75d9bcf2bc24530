-- ledger mark: a new ledger names its format and schema version.
-- Grain: key. Inputs: $format, $version.
INSERT INTO ledger_info VALUES ('format', $format), ('schema_version', $version)
