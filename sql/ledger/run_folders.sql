-- run folders: the folders of every finished run: a run reads their voids.jsonl first, so a
-- void killed before it reached the ledger still undoes its letters' state.
-- Grain: folder. Inputs: runs.
SELECT DISTINCT folder FROM runs WHERE status = 'finished' ORDER BY folder
