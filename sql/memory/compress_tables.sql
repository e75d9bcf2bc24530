-- compress_tables: compress every table made so far (an in-memory database keeps a table
-- uncompressed until a checkpoint). Run once before 70_item_outcomes, whose join and sort of
-- every item is the run's memory peak: the inputs, the parsed exports and the decision
-- stages then hold a fraction of their size beside it. Values, row order and row groups are
-- those of the tables as they were; only their storage changes. CHECKPOINT acts on the
-- connection's own in-memory database.
-- Grain: none (a statement). Inputs: every table of the connection.
CHECKPOINT
