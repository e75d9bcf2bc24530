-- letter_sizes: one row per letter with the number of lines its PDF prints (every row of
-- letter_lines: item lines in the table, interest, late-interest and compensation lines
-- below it), in letter_id order. letters/batches.py plans the render batches from it, so
-- that no WeasyPrint layout holds more than a bounded number of lines.
-- Grain: letter_id. Inputs: letters, letter_lines.
SELECT l.letter_id, count(*) AS line_rows
FROM letters AS l
JOIN letter_lines USING (letter_id)
GROUP BY l.letter_id
ORDER BY l.letter_id
