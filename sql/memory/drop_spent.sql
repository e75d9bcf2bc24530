-- drop_spent: the relations nothing reads once every decision stage has run, dropped before
-- the files are written (run.decide_local, pipeline.drop_spent). item_outcomes holds what the
-- outputs need of them, and they are the night's largest relations: the items' typed rows and
-- the per-item facts of 25, 30, 40 and 47 (about 4 GiB at 10 M items). Writing decisions and
-- item_details sorts every item; without them, beside far less. (raw_open_items stays: a view
-- of a Parquet export, or a table of a CSV one, and DROP must name which.)
-- Not a pipeline stage. run.json's input_totals are counted before (run.reject).
-- Grain: none (statements). Inputs: the relations it names.
DROP VIEW IF EXISTS items;
DROP TABLE IF EXISTS open_items_parsed;
DROP TABLE IF EXISTS exclusions;
DROP TABLE IF EXISTS advance;
DROP TABLE IF EXISTS candidate_lines;
DROP TABLE IF EXISTS letter_items;
