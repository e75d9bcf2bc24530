-- sent letters: the letters of night $run_date a server accepted (wholly or for some of its
-- recipients), from any folder: a run of that night again marks them sent, and `send`
-- never mails them again.
-- Grain: letter_id. Inputs: sends, $run_date.
SELECT DISTINCT letter_id
FROM sends
WHERE status IN ('accepted', 'partial')
  AND letter_id LIKE 'DL-' || strftime($run_date::DATE, '%Y%m%d') || '-%'
ORDER BY letter_id
