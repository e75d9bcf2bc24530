-- send journal damage: the first line of the journal just read (journal_lines, made from
-- send_journal_lines.sql) that is neither an attempt `send` wrote nor a line a crash cut
-- short: `send` stops there rather than guess what was delivered.
-- Grain: one row or none. Inputs: journal_lines.
SELECT line_no, damage FROM journal_lines WHERE damage IS NOT NULL ORDER BY line_no NULLS FIRST LIMIT 1
