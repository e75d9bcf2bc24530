-- letters: one row per letter that differs between run A and run B, matched by letter_id:
-- `added` (only in B), `removed` (only in A) or `changed` (level, total_due or the set of
-- its item lines). Grain: letter_id. Inputs: a_letters, b_letters, a_letter_lines, b_letter_lines.
WITH
line_changes AS (
    -- per letter of both runs: the doc_ids listed in one run only (item lines only: not the
    -- interest, late-interest or compensation lines of SPEC §4.6, §9)
    SELECT coalesce(a.letter_id, b.letter_id) AS letter_id,
           list(b.doc_id ORDER BY b.doc_id) FILTER (WHERE a.doc_id IS NULL) AS lines_added,
           list(a.doc_id ORDER BY a.doc_id) FILTER (WHERE b.doc_id IS NULL) AS lines_removed
    FROM (SELECT letter_id, doc_id FROM a_letter_lines WHERE line_type IN ('overdue', 'current', 'credit')) AS a
    FULL JOIN (SELECT letter_id, doc_id FROM b_letter_lines WHERE line_type IN ('overdue', 'current', 'credit')) AS b
      ON a.letter_id = b.letter_id AND a.doc_id = b.doc_id
    WHERE coalesce(a.letter_id, b.letter_id) IN (SELECT letter_id FROM a_letters)
      AND coalesce(a.letter_id, b.letter_id) IN (SELECT letter_id FROM b_letters)
    GROUP BY ALL
    HAVING count(*) FILTER (WHERE a.doc_id IS NULL OR b.doc_id IS NULL) > 0
)
SELECT
    coalesce(b.letter_id, a.letter_id) AS letter_id,
    CASE WHEN a.letter_id IS NULL THEN 'added' WHEN b.letter_id IS NULL THEN 'removed' ELSE 'changed' END AS change,
    coalesce(b.customer_id, a.customer_id) AS customer_id,
    coalesce(b.currency, a.currency) AS currency,
    a.level AS level_a, b.level AS level_b,
    a.total_due AS total_due_a, b.total_due AS total_due_b,
    a.line_count AS line_count_a, b.line_count AS line_count_b,
    coalesce(c.lines_added, []) AS lines_added,
    coalesce(c.lines_removed, []) AS lines_removed
FROM a_letters AS a
FULL JOIN b_letters AS b ON a.letter_id = b.letter_id
LEFT JOIN line_changes AS c ON c.letter_id = a.letter_id AND c.letter_id = b.letter_id
WHERE a.letter_id IS NULL OR b.letter_id IS NULL
   OR a.level IS DISTINCT FROM b.level
   OR a.total_due IS DISTINCT FROM b.total_due
   OR c.letter_id IS NOT NULL
ORDER BY change, letter_id
