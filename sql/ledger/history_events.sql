-- history events: an item's ($doc_id) or a customer's ($customer_id; the other is NULL)
-- dunning history across nights, one row per event, for `history` (ledger/history.py):
--   state_taken  a run took the item's state from the export (item_states, letter_id NULL)
--   letter       the item was on a letter: its line, and the letter's fee, total and pay-by
--   send         how one `send` ended for a letter: its attempt chain's last status, an
--                `attempting` row with no outcome after it being `in_doubt`
--   void         a void named the letter
-- Only finished runs count (a dropped or pending run's rows are nowhere). A night run more
-- than once: every run's letters are shown; the night's latest run (max run_id) is the one
-- whose levels file counts, and a letter of an earlier run is superseded by it unless a
-- server accepted the letter (the rule of counted_letters.sql, without its date bound).
-- A customer's history holds every item line of its letters (letters.customer_id); sends
-- and voids are the letter's, once. A send or void belongs to the run of the letter whose
-- folder it came from (recorded no later than it), else to the letter's latest run.
-- Grain: one event. Order: run_date, run_id, then state_taken < letter < send < void.
-- Inputs: runs, letters, letter_items, item_states, sends, voids, $doc_id, $customer_id.
WITH
finished AS (
    SELECT * FROM runs WHERE status = 'finished'
),
nights AS (
    SELECT run_date, count(*) AS night_runs, max(run_id) AS latest_run_id,
           arg_max(folder, run_id) AS latest_folder
    FROM finished
    GROUP BY run_date
),
accepted AS (
    SELECT DISTINCT letter_id FROM sends WHERE status IN ('accepted', 'partial')
),
voided AS (
    SELECT DISTINCT letter_id FROM voids
),
chosen_letters AS (  -- the item's letters, or the customer's: each side filtered before any join
    SELECT run_id, letter_id FROM letter_items WHERE doc_id = $doc_id
    UNION
    SELECT run_id, letter_id FROM letters WHERE customer_id = $customer_id
),
item_lines AS (
    SELECT r.run_date, r.run_id, r.folder, r.recorded_at, l.letter_id, l.customer_id, l.currency,
           l.level AS letter_level, l.is_final, l.fee, l.total_due, l.pay_by,
           i.doc_id, i.line_type, i.level_before, i.level_after, i.open_amount, i.compensation_amount,
           i.interest_days, i.interest_amount
    FROM chosen_letters AS c
    JOIN letters AS l ON l.run_id = c.run_id AND l.letter_id = c.letter_id
    JOIN finished AS r ON r.run_id = l.run_id
    JOIN letter_items AS i ON i.run_id = l.run_id AND i.letter_id = l.letter_id
    WHERE $doc_id IS NULL OR i.doc_id = $doc_id
),
letters_shown AS (
    SELECT DISTINCT run_date, run_id, folder, recorded_at, letter_id, customer_id, currency FROM item_lines
),
letter_events AS (
    SELECT 'letter' AS kind, 1 AS kind_order, i.run_date, i.run_id, i.run_date AS event_date,
           NULL::TIMESTAMP AS event_time, i.letter_id, i.customer_id, i.doc_id, i.currency, i.line_type,
           i.level_before, i.level_after, i.open_amount, i.letter_level, i.is_final, i.fee AS letter_fee,
           i.compensation_amount, i.interest_days, i.interest_amount, i.total_due, i.pay_by,
           s.last_dunned_on, s.compensation_charged, s.interest_paid_to, i.folder,
           i.run_id = n.latest_run_id AS latest_run,
           CASE WHEN i.run_id <> n.latest_run_id AND i.letter_id NOT IN (SELECT letter_id FROM accepted)
                THEN n.latest_folder END AS superseded_by,
           i.letter_id NOT IN (SELECT letter_id FROM voided)
               AND (i.run_id = n.latest_run_id OR i.letter_id IN (SELECT letter_id FROM accepted)) AS counts,
           n.night_runs, n.latest_folder AS night_latest_folder
    FROM item_lines AS i
    JOIN nights AS n ON n.run_date = i.run_date
    LEFT JOIN item_states AS s ON s.run_id = i.run_id AND s.letter_id = i.letter_id AND s.doc_id = i.doc_id
),
state_events AS (
    SELECT 'state_taken' AS kind, 0 AS kind_order, r.run_date, r.run_id, r.run_date AS event_date,
           NULL::TIMESTAMP AS event_time, s.customer_id, s.doc_id, s.level_before, s.level_after,
           s.last_dunned_on, s.compensation_charged, s.interest_paid_to, r.folder,
           r.run_id = n.latest_run_id AS latest_run,
           CASE WHEN r.run_id <> n.latest_run_id THEN n.latest_folder END AS superseded_by,
           r.run_id = n.latest_run_id AS counts,
           n.night_runs, n.latest_folder AS night_latest_folder
    FROM item_states AS s
    JOIN finished AS r ON r.run_id = s.run_id
    JOIN nights AS n ON n.run_date = r.run_date
    WHERE s.letter_id IS NULL AND (s.doc_id = $doc_id OR s.customer_id = $customer_id)
),
send_chains AS (
    -- the last row of each (send, letter): the highest attempt, its outcome before its `attempting`
    SELECT send_id, letter_id, folder, message_id, reply, sent_at,
           CASE WHEN status = 'attempting' THEN 'in_doubt' ELSE status END AS send_status,
           max(attempt) OVER (PARTITION BY send_id, letter_id) AS attempts
    FROM sends
    WHERE letter_id IN (SELECT letter_id FROM letters_shown)
    QUALIFY row_number() OVER (PARTITION BY send_id, letter_id
                               ORDER BY attempt DESC, status <> 'attempting' DESC, sent_at DESC) = 1
),
letters_in_nights AS (  -- a send or a void is told with its letter's night
    SELECT ls.*, n.night_runs, n.latest_folder AS night_latest_folder
    FROM letters_shown AS ls JOIN nights AS n USING (run_date)
),
send_events AS (
    SELECT 'send' AS kind, 2 AS kind_order, l.run_date, l.run_id, c.sent_at::DATE AS event_date,
           c.sent_at AS event_time, c.letter_id, l.customer_id, l.currency, c.folder, l.night_runs,
           l.night_latest_folder, c.send_id, c.send_status, c.attempts, c.message_id, c.reply
    FROM send_chains AS c
    JOIN letters_in_nights AS l ON l.letter_id = c.letter_id
    QUALIFY row_number() OVER (PARTITION BY c.send_id, c.letter_id
                               ORDER BY l.folder = c.folder DESC, l.recorded_at <= c.sent_at DESC,
                                        l.run_id DESC) = 1
),
void_events AS (
    SELECT 'void' AS kind, 3 AS kind_order, l.run_date, l.run_id, v.void_date AS event_date,
           v.recorded_at AS event_time, v.letter_id, l.customer_id, l.currency, v.folder, l.night_runs,
           l.night_latest_folder, v.void_id
    FROM voids AS v
    JOIN letters_in_nights AS l ON l.letter_id = v.letter_id
    QUALIFY row_number() OVER (PARTITION BY v.void_id, v.letter_id
                               ORDER BY l.folder = v.folder DESC, l.recorded_at <= v.recorded_at DESC,
                                        l.run_id DESC) = 1
),
events AS (
    SELECT * FROM letter_events
    UNION ALL BY NAME SELECT * FROM state_events
    UNION ALL BY NAME SELECT * FROM send_events
    UNION ALL BY NAME SELECT * FROM void_events
)
SELECT kind, run_date, run_id, event_date, event_time, letter_id, customer_id, doc_id, currency, line_type,
       level_before, level_after, open_amount, letter_level, is_final, letter_fee, compensation_amount, interest_days,
       interest_amount, total_due, pay_by, last_dunned_on, compensation_charged, interest_paid_to, folder,
       latest_run, superseded_by, counts, night_runs, night_latest_folder, send_id, send_status, attempts,
       message_id, reply, void_id
FROM events
ORDER BY run_date, run_id, kind_order, event_time NULLS FIRST, letter_id, doc_id, send_id, void_id
