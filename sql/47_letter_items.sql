-- letter_items: one row per item line of a letter that goes out tonight: the candidate
-- lines of dunning letters no threshold suppressed (SPEC §4.4, §4.5, §9.3) and the lines of
-- courtesy notices (§9.6). Every later stage reads a letter's items from here.
-- Same columns as candidate_lines but the letter key (48_letter_keys keeps the keys).
-- Grain: _row (an item is in one letter at most). Inputs: candidate_lines, letter_gates, pre_due_lines.
SELECT c.* EXCLUDE (letter_key)
FROM candidate_lines AS c JOIN letter_gates AS g USING (letter_id)
WHERE g.suppressed_by IS NULL
UNION ALL
SELECT p.* EXCLUDE (letter_key, notice_total, pre_due_days, min_amount, suppressed_by)
FROM pre_due_lines AS p
WHERE p.suppressed_by IS NULL
