-- levels_update: one row per item whose level changed tonight, for the ERP to re-import
-- (SPEC §4.10, §5), and, with the rules of §9, per item whose re-importable state changed:
-- compensation charged tonight (§9.2) or interest posted up to a new day (§9.4). Each row
-- holds the item's whole state after the run: last_dunned_on is the run date where the
-- level changed and stays as it was otherwise. compensation_charged and interest_paid_to
-- are written only when a level charges compensation / posts interest (outputs.py).
-- Grain: doc_id. Inputs: letter_items, letters, letter_heads, compensation_lines, interest_lines.
WITH
posted AS (
    -- the last day charged per item of a letter whose level posts its interest
    SELECT il.letter_id, il.doc_id, max(il.interest_to) AS interest_paid_to
    FROM interest_lines AS il
    JOIN letter_heads AS h USING (letter_id)
    JOIN letters AS l USING (letter_id)
    WHERE il.line_type = 'interest' AND h.post_interest AND l.interest_total <> 0
    GROUP BY ALL
)
SELECT c.doc_id, c.customer_id, CAST(c.level_before AS INTEGER) AS level_before,
       CAST(c.level_after AS INTEGER) AS level_after, c.last_dunned_before,
       CASE WHEN c.level_after <> c.level_before THEN $as_of::DATE ELSE c.last_dunned_before END
           AS last_dunned_on,
       c.letter_id,
       c.compensation_charged OR cl.doc_id IS NOT NULL AS compensation_charged,
       coalesce(p.interest_paid_to, c.interest_paid_to) AS interest_paid_to
FROM letter_items AS c
JOIN letters AS l USING (letter_id)
LEFT JOIN compensation_lines AS cl ON cl.letter_id = c.letter_id AND cl.doc_id = c.doc_id
LEFT JOIN posted AS p ON p.letter_id = c.letter_id AND p.doc_id = c.doc_id
WHERE c.level_after <> c.level_before OR cl.doc_id IS NOT NULL OR p.doc_id IS NOT NULL
ORDER BY c.doc_id
