-- levels_update: one row per item whose level changed tonight, for the ERP to re-import
-- (SPEC §4.10, §5). Grain: doc_id. Inputs: candidate_lines, letters.
SELECT c.doc_id, c.customer_id, CAST(c.level_before AS INTEGER) AS level_before,
       CAST(c.level_after AS INTEGER) AS level_after, c.last_dunned_before,
       $as_of::DATE AS last_dunned_on, c.letter_id
FROM candidate_lines AS c
JOIN letters AS l USING (letter_id)
WHERE c.level_after <> c.level_before
ORDER BY c.doc_id
