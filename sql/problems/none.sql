-- none: no problem, in the columns of every problem stage (sql/19_problems.sql's grain).
-- Grain: (source, _row, column_name, kind, message); no rows. Inputs: none.
-- A problem stage whose every row comes from an input relation that holds none is made
-- from this file instead of its own (pipeline.ROWS_FROM): planning the stage's SQL costs
-- some 20 ms of every small run, whatever its input holds.
SELECT NULL::VARCHAR AS source, NULL::BIGINT AS _row, NULL::VARCHAR AS column_name, NULL::VARCHAR AS kind,
       NULL::VARCHAR AS message
LIMIT 0
