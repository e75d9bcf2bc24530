-- The ledger's tables (README "Running every night"): what every finished run issued, what
-- was voided, and what `send` handed to a server, across nights and output folders. Made
-- once when a run first names the ledger; every later command adds rows, none changes one,
-- except a run's status (pending -> finished) and the rows of a run that never finished.
-- Grain: one table per kind of event. Inputs: none.
CREATE TABLE IF NOT EXISTS ledger_info (
    key VARCHAR PRIMARY KEY,    -- 'format' (dunning_batch ledger) and 'schema_version'
    value VARCHAR NOT NULL
);
-- One row per run that wrote a folder with this ledger. A run is recorded as `pending` just
-- before its folder is renamed into place and `finished` right after; a pending run whose
-- folder is in place with this run.json is adopted by the next command, one whose folder
-- never appeared is dropped (ledger/store.py).
CREATE TABLE IF NOT EXISTS runs (
    run_id BIGINT PRIMARY KEY,          -- the order of recording: the later of two runs of a night wins
    run_date DATE NOT NULL,
    folder VARCHAR NOT NULL,            -- the output folder, absolute
    status VARCHAR NOT NULL,            -- pending | finished | dropped (never in place: counts nowhere)
    run_json_sha256 VARCHAR NOT NULL,
    config_sha256 VARCHAR NOT NULL,
    open_items_sha256 VARCHAR NOT NULL,
    customers_sha256 VARCHAR NOT NULL,
    payments_sha256 VARCHAR,
    stale_export VARCHAR NOT NULL,      -- stop | use_ledger | use_export: how lagging items were taken
    lagging_items INTEGER NOT NULL,
    ahead_items INTEGER NOT NULL,
    letters INTEGER NOT NULL,
    recorded_at TIMESTAMP NOT NULL      -- UTC, wall clock: when the ledger learnt of the run
);
-- One row per letter of a run (letters.parquet).
CREATE TABLE IF NOT EXISTS letters (
    run_id BIGINT NOT NULL,
    letter_id VARCHAR NOT NULL,
    run_date DATE NOT NULL,
    customer_id VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    level INTEGER NOT NULL,
    is_final BOOLEAN NOT NULL,
    overdue_total DECIMAL(18, 2) NOT NULL,
    fee DECIMAL(18, 2) NOT NULL,
    compensation_total DECIMAL(18, 2) NOT NULL,
    interest_total DECIMAL(18, 2) NOT NULL,
    total_due DECIMAL(18, 2) NOT NULL,
    pay_by DATE NOT NULL,
    PRIMARY KEY (run_id, letter_id)
);
-- One row per item line of a letter (letter_lines.parquet, its interest and compensation
-- lines summed onto the item's line); its amounts in the letter's currency (letter_amount of
-- SPEC §11.1 in a letter across currencies).
CREATE TABLE IF NOT EXISTS letter_items (
    run_id BIGINT NOT NULL,
    letter_id VARCHAR NOT NULL,
    doc_id VARCHAR NOT NULL,
    line_type VARCHAR NOT NULL,         -- overdue | current | credit
    open_amount DECIMAL(18, 2) NOT NULL,
    level_before INTEGER,
    level_after INTEGER,
    interest_from DATE,
    interest_to DATE,
    interest_days INTEGER,
    interest_amount DECIMAL(18, 2),
    compensation_amount DECIMAL(18, 2)
);
-- One row per item whose re-importable state a run changed (levels_update.parquet): the
-- state the ERP holds once it re-imports the run's levels file. NULL where the levels file
-- has no such column (the rule of SPEC §9.2 / §9.4 is off): that part is not tracked.
CREATE TABLE IF NOT EXISTS item_states (
    run_id BIGINT NOT NULL,
    letter_id VARCHAR,                  -- NULL for a state taken from the export (use_export)
    doc_id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    level_before INTEGER NOT NULL,
    level_after INTEGER NOT NULL,
    last_dunned_before DATE,
    last_dunned_on DATE,
    compensation_charged BOOLEAN,
    interest_paid_to DATE
);
-- One row per late payment whose interest a letter charged (payments_charged.csv, SPEC §9.5).
CREATE TABLE IF NOT EXISTS payments_charged (
    run_id BIGINT NOT NULL,
    payment_id VARCHAR NOT NULL,
    letter_id VARCHAR NOT NULL,
    interest_amount DECIMAL(18, 2) NOT NULL
);
-- One row per voided letter (`void`): its state no longer counts.
CREATE TABLE IF NOT EXISTS voids (
    void_id VARCHAR NOT NULL,
    letter_id VARCHAR NOT NULL,
    void_date DATE NOT NULL,
    folder VARCHAR NOT NULL,            -- the output folder the void was made from
    recorded_at TIMESTAMP NOT NULL
);
-- One row per delivery attempt of `send`, and one `attempting` row written before the
-- message goes out: an attempt with no outcome after it is in doubt (the server may have
-- taken the message), and such a letter is not sent again unless asked (send --resend-in-doubt).
CREATE TABLE IF NOT EXISTS sends (
    send_id VARCHAR NOT NULL,           -- one `send` command: pairs an attempt with its outcome
    letter_id VARCHAR NOT NULL,
    message_id VARCHAR,
    folder VARCHAR NOT NULL,            -- the output folder it was sent from
    status VARCHAR NOT NULL,            -- attempting | accepted | partial | temporary | permanent | disconnected | not_attempted
    reply VARCHAR,
    attempt INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL          -- UTC, wall clock
);
-- Views for analysts (`duckdb ledger.duckdb`), over finished runs only; `history` tells one
-- item's or customer's story from the same tables.
-- night_runs: one row per finished run, and whether it is its night's latest (the run whose
-- levels file counts when a night was run more than once).
CREATE OR REPLACE VIEW night_runs AS
SELECT r.*, r.run_id = max(r.run_id) OVER (PARTITION BY r.run_date) AS latest_of_night
FROM runs AS r WHERE r.status = 'finished';
-- letter_deliveries: one row per letter id `send` attempted: accepted (by a server, wholly
-- or for some recipients, from any folder), its last status and when, and the folder.
CREATE OR REPLACE VIEW letter_deliveries AS
SELECT letter_id, bool_or(status IN ('accepted', 'partial')) AS accepted,
       arg_max(status, sent_at) AS last_status, max(sent_at) AS last_sent_at, arg_max(folder, sent_at) AS folder,
       count(*) FILTER (WHERE status <> 'attempting') AS attempts
FROM sends GROUP BY letter_id;
-- item_letters: one row per item line of a letter of a finished run, with its night, folder,
-- whether its run is the night's latest, and the void that undid it (NULL when none).
CREATE OR REPLACE VIEW item_letters AS
SELECT r.run_date, r.folder, r.latest_of_night, l.customer_id, l.currency, l.level AS letter_level, l.fee,
       l.total_due, l.pay_by, i.*, v.void_id AS voided_by
FROM letter_items AS i
JOIN letters AS l USING (run_id, letter_id)
JOIN night_runs AS r USING (run_id)
LEFT JOIN (SELECT letter_id, min(void_id) AS void_id FROM voids GROUP BY letter_id) AS v USING (letter_id);
