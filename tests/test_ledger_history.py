"""`history` (issue 17): an item's or a customer's dunning history across nights, told from the
ledger alone, in plain words and as rows for scripts.

The ledger here is made by store.open_ledger and filled by hand, row by row, with a story
small enough to check by eye (the run side that fills it in production is built elsewhere):

  night 2026-11-24, run 1 into /x/out/2026-11-24: letter A (C1, EUR): INV-1 0 -> 1 with the
      €40 compensation, INV-2 listed as not yet due. Sent (accepted), then voided on 11-26.
  night 2026-11-25, run 2 into /x/out/2026-11-25: letter B (C1, EUR): INV-1 1 -> 2, 12 days
      interest 6.58, fee 5.00; letter C (C1, USD): INV-3 0 -> 1. Both sent from this folder
      on 11-26: B accepted at the second attempt, C in doubt (an attempt with no outcome).
  the same night again, run 3 into /x/out/2026-11-25b (the night's latest): letter B again,
      and the export's state taken for INV-2 (stale_export = "use_export"). C is not in it,
      so run 2's C is superseded; run 2's B was accepted by a server, so it counts all the same.
  run 4 (dropped) and run 5 (pending) hold rows that must show nowhere.
"""

from __future__ import annotations

import datetime as dt
import json
import errno
import os
import shutil
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dunning_batch.errors import UserError
from dunning_batch.ledger.history import history
from dunning_batch.ledger.store import hold, open_ledger

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from dunning_batch.cli import main; main()"]

A, B, C = "DL-20261124-aaaa", "DL-20261125-bbbb", "DL-20261125-cccc"
F1, F2, F3 = "/x/out/2026-11-24", "/x/out/2026-11-25", "/x/out/2026-11-25b"

RUNS = [  # run_id, run_date, folder, status, stale_export, recorded_at
    (1, "2026-11-24", F1, "finished", "stop", "2026-11-24 22:00:00"),
    (2, "2026-11-25", F2, "finished", "stop", "2026-11-25 22:00:00"),
    (3, "2026-11-25", F3, "finished", "use_export", "2026-11-25 23:00:00"),
    (4, "2026-11-25", "/x/out/2026-11-25c", "dropped", "stop", "2026-11-25 23:30:00"),
    (5, "2026-11-26", "/x/out/2026-11-26", "pending", "stop", "2026-11-26 22:00:00"),
]
LETTERS = [  # run_id, letter_id, customer, currency, level, final, overdue, fee, compensation, interest, due, pay_by
    (1, A, "C1", "EUR", 1, False, "2500.00", "0.00", "40.00", "0.00", "2540.00", "2026-12-04"),
    (2, B, "C1", "EUR", 2, False, "2500.00", "5.00", "0.00", "6.58", "2511.58", "2026-12-02"),
    (2, C, "C1", "USD", 1, False, "1000.00", "0.00", "0.00", "0.00", "1000.00", "2026-12-05"),
    (3, B, "C1", "EUR", 2, False, "2500.00", "5.00", "0.00", "6.58", "2511.58", "2026-12-02"),
    (4, B, "C1", "EUR", 2, False, "2500.00", "99.00", "0.00", "6.58", "2605.58", "2026-12-02"),
    (5, "DL-20261126-dddd", "C1", "EUR", 3, True, "2500.00", "10.00", "0.00", "0.00", "2510.00", "2026-12-03"),
]
ITEMS = [  # run_id, letter_id, doc_id, line_type, open, before, after, from, to, days, interest, compensation
    (1, A, "INV-1", "overdue", "2500.00", 0, 1, None, None, None, None, "40.00"),
    (1, A, "INV-2", "current", "800.00", 0, 0, None, None, None, None, None),
    (2, B, "INV-1", "overdue", "2500.00", 1, 2, "2026-11-14", "2026-11-25", 12, "6.58", None),
    (2, C, "INV-3", "overdue", "1000.00", 0, 1, None, None, None, None, None),
    (3, B, "INV-1", "overdue", "2500.00", 1, 2, "2026-11-14", "2026-11-25", 12, "6.58", None),
    (4, B, "INV-1", "overdue", "2500.00", 1, 2, "2026-11-14", "2026-11-25", 12, "6.58", None),
    (5, "DL-20261126-dddd", "INV-1", "overdue", "2500.00", 2, 3, None, None, None, None, None),
]
STATES = [  # run_id, letter_id, doc_id, customer, before, after, last before, last on, compensation, paid to
    (1, A, "INV-1", "C1", 0, 1, None, "2026-11-24", True, None),
    (2, B, "INV-1", "C1", 1, 2, "2026-11-24", "2026-11-25", True, "2026-11-25"),
    (2, C, "INV-3", "C1", 0, 1, None, "2026-11-25", None, None),
    (3, B, "INV-1", "C1", 1, 2, "2026-11-24", "2026-11-25", True, "2026-11-25"),
    # use_export: the run records the export's state as it is (before = after), as record_item_states does
    (3, None, "INV-2", "C1", 1, 1, "2026-11-20", "2026-11-20", None, None),
    (4, None, "INV-2", "C1", 2, 2, "2026-11-21", "2026-11-21", None, None),
]
SENDS = [  # send_id, letter_id, message_id, folder, status, reply, attempt, sent_at
    ("S1", A, "<a@x>", F1, "attempting", None, 1, "2026-11-25 08:00:00"),
    ("S1", A, "<a@x>", F1, "accepted", "250 OK", 1, "2026-11-25 08:00:01"),
    ("S2", B, "<b@x>", F2, "attempting", None, 1, "2026-11-26 07:00:00"),
    ("S2", B, "<b@x>", F2, "temporary", "451 try later", 1, "2026-11-26 07:00:01"),
    ("S2", B, "<b@x>", F2, "attempting", None, 2, "2026-11-26 07:00:03"),
    ("S2", B, "<b@x>", F2, "accepted", "250 OK", 2, "2026-11-26 07:00:04"),
    ("S2", C, "<c@x>", F2, "attempting", None, 1, "2026-11-26 07:00:05"),
]
VOIDS = [("VOID-20261126-0001", A, "2026-11-26", F1, "2026-11-26 09:00:00")]


def make_ledger(path: Path, runs=RUNS, letters=LETTERS, items=ITEMS, states=STATES, sends=SENDS,
                voids=VOIDS) -> Path:
    """A ledger made as every command makes it, filled with the rows given."""
    with open_ledger(path, "test", "history fixture", create=True) as ledger:
        con = ledger.con
        for run_id, run_date, folder, status, stale, recorded in runs:
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, 'r', 'c', 'o', 'u', NULL, ?, 0, 0, 1, ?)",
                        [run_id, run_date, folder, status, stale, recorded])
        for run_id, letter_id, *rest in letters:
            con.execute("INSERT INTO letters VALUES (?, ?, (SELECT run_date FROM runs WHERE run_id = ?), "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [run_id, letter_id, run_id, *rest])
        for table, rows in (("letter_items", items), ("item_states", states), ("sends", sends), ("voids", voids)):
            for row in rows:
                con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", list(row))
    return path


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return make_ledger(tmp_path / "ledger.duckdb")


def cli(cwd: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    """The command as a user runs it: a process of its own, in `cwd`, with relative paths."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **kw)


# ---- text ------------------------------------------------------------------------------------

ITEM_1 = f"""\
Item INV-1 of customer C1: 2 letters on 2 nights.

Night 2026-11-24:
2026-11-24  {A}  level 0 -> 1, 2,500.00 EUR open, fee 0.00 EUR, compensation 40.00 EUR, total due 2,540.00 EUR, pay by 2026-12-04 (folder {F1})
2026-11-25  sent {A} to the server: accepted at 08:00:01 UTC (from {F1})
2026-11-26  {A} voided by VOID-20261126-0001 (from {F1})

Night 2026-11-25, run 2 times: the latest run, into {F3}, is the one whose levels file counts.
2026-11-25  {B}  level 1 -> 2, 2,500.00 EUR open, fee 5.00 EUR, interest 12 days 6.58 EUR, total due 2,511.58 EUR, pay by 2026-12-02 (folder {F2}, an earlier run of the night, but a server accepted the letter, so it counts)
2026-11-26  sent {B} to the server: accepted at 07:00:04 UTC (from {F2})
2026-11-25  {B}  level 1 -> 2, 2,500.00 EUR open, fee 5.00 EUR, interest 12 days 6.58 EUR, total due 2,511.58 EUR, pay by 2026-12-02 (folder {F3})
"""

CUSTOMER_1 = f"""\
Customer C1: 3 letters for 3 items on 2 nights.

Night 2026-11-24:
2026-11-24  {A}  level 1 letter, fee 0.00 EUR, total due 2,540.00 EUR, pay by 2026-12-04 (folder {F1})
            INV-1: level 0 -> 1, 2,500.00 EUR open, compensation 40.00 EUR
            INV-2: not yet due, stays at level 0, 800.00 EUR open
2026-11-25  sent {A} to the server: accepted at 08:00:01 UTC (from {F1})
2026-11-26  {A} voided by VOID-20261126-0001 (from {F1})

Night 2026-11-25, run 2 times: the latest run, into {F3}, is the one whose levels file counts.
2026-11-25  {B}  level 2 letter, fee 5.00 EUR, total due 2,511.58 EUR, pay by 2026-12-02 (folder {F2}, an earlier run of the night, but a server accepted the letter, so it counts)
            INV-1: level 1 -> 2, 2,500.00 EUR open, interest 12 days 6.58 EUR
2026-11-25  {C}  level 1 letter, fee 0.00 USD, total due 1,000.00 USD, pay by 2026-12-05 (folder {F2}, superseded by the run into {F3})
            INV-3: level 0 -> 1, 1,000.00 USD open
2026-11-26  sent {B} to the server: accepted at 07:00:04 UTC (from {F2})
2026-11-26  sent {C} to the server: in doubt, the attempt at 07:00:05 UTC has no outcome and the server may have taken it (from {F2})
2026-11-25  INV-2: the run took the export's state: level 1, last dunned on 2026-11-20 (folder {F3})
2026-11-25  {B}  level 2 letter, fee 5.00 EUR, total due 2,511.58 EUR, pay by 2026-12-02 (folder {F3})
            INV-1: level 1 -> 2, 2,500.00 EUR open, interest 12 days 6.58 EUR
"""


def test_an_items_history_night_by_night(ledger):
    """Letters with levels, fee, compensation and interest; the send that was accepted; the
    void; a night run twice, its latest run named, and the earlier run's letter that a server
    accepted said to count. Nothing of the dropped run 4 (fee 99.00) or the pending run 5."""
    assert history(ledger, "INV-1").text == ITEM_1


def test_a_customers_history_says_each_letter_once_and_each_item_under_it(ledger):
    """Every item of the customer's letters; a letter of an earlier run that no server accepted
    is superseded by the night's latest run; a send with no outcome is in doubt; the state a
    run took from the export (use_export) is its own event, before that run's letters."""
    assert history(ledger, customer_id="C1").text == CUSTOMER_1


def test_an_item_known_only_by_a_state_taken_from_the_export(ledger):
    assert history(ledger, "INV-2").text.splitlines()[-2:] == [
        f"Night 2026-11-25, run 2 times: the latest run, into {F3}, is the one whose levels file counts.",
        f"2026-11-25  the run took the export's state: level 1, last dunned on 2026-11-20 (folder {F3})",
    ]


def test_each_final_status_of_a_send_in_words(tmp_path):
    """The last row of each attempt chain decides: refused for good, a temporary failure after
    every retry, a lost connection, accepted by some recipients, and left by a `send` that
    stopped; an `attempting` row of a later attempt with no outcome is in doubt, and so is an
    attempt whose whole message went out and was never answered."""
    def chain(send_id, *rows):
        minute = int(send_id[1:])  # chain S4 at 08:04:00, 08:04:01, ...
        return [(send_id, A, f"<{send_id}@x>", F1, status, reply, attempt, f"2026-11-25 08:{minute:02d}:{second:02d}")
                for second, (status, reply, attempt) in enumerate(rows)]
    sends = (chain("S1", ("attempting", None, 1), ("permanent", "550 no such user", 1))
             + chain("S2", ("attempting", None, 1), ("temporary", "451 later", 1),
                     ("attempting", None, 2), ("temporary", "452 full", 2))
             + chain("S3", ("attempting", None, 1), ("disconnected", "connection reset", 1))
             + chain("S4", ("attempting", None, 1), ("temporary", "451 later", 1), ("attempting", None, 2))
             + chain("S5", ("not_attempted", "not attempted: mx ended the session", 0),)
             + chain("S6", ("attempting", None, 1), ("partial", "550 b@y unknown", 1))
             + chain("S7", ("attempting", None, 1), ("in_doubt", "connection lost: timed out", 1)))
    path = make_ledger(tmp_path / "ledger.duckdb", runs=RUNS[:1], letters=LETTERS[:1], items=ITEMS[:1],
                       states=STATES[:1], sends=sends, voids=[])
    assert history(path, "INV-1").text.splitlines()[4:] == [
        f"2026-11-25  sent {A} to the server: refused for good after 1 attempt: 550 no such user (from {F1})",
        f"2026-11-25  sent {A} to the server: not accepted, a temporary failure after 2 attempts: 452 full (from {F1})",
        f"2026-11-25  sent {A} to the server: not accepted, the connection was lost after 1 attempt: connection "
        f"reset (from {F1})",
        f"2026-11-25  sent {A} to the server: in doubt, the attempt at 08:04:02 UTC has no outcome and the server "
        f"may have taken it (from {F1})",
        f"2026-11-25  {A} not sent: `send` stopped before it (not attempted: mx ended the session) (from {F1})",
        f"2026-11-25  sent {A} to the server: accepted for some recipients only at 08:06:01 UTC: 550 b@y unknown "
        f"(from {F1})",
        f"2026-11-25  sent {A} to the server: in doubt, the whole message went out at 08:07:01 UTC and no answer "
        f"came: connection lost: timed out (from {F1})",
    ]


# ---- rows for scripts --------------------------------------------------------------------------

COLUMNS = ["kind", "run_date", "run_id", "event_date", "event_time", "letter_id", "customer_id", "doc_id",
           "currency", "line_type", "level_before", "level_after", "open_amount", "letter_level", "is_final",
           "letter_fee", "compensation_amount", "interest_days", "interest_amount", "total_due", "pay_by", "last_dunned_on",
           "compensation_charged", "interest_paid_to", "folder", "latest_run", "superseded_by", "counts",
           "night_runs", "night_latest_folder", "send_id", "send_status", "attempts", "message_id", "reply", "void_id"]
NOTHING = dict.fromkeys(COLUMNS)
# INV-3's history as rows: run 2's letter C, superseded (no server accepted it), and its send in doubt
INV_3 = [
    NOTHING | {"kind": "letter", "run_date": "2026-11-25", "run_id": 2, "event_date": "2026-11-25", "letter_id": C,
               "customer_id": "C1", "doc_id": "INV-3", "currency": "USD", "line_type": "overdue", "level_before": 0,
               "level_after": 1, "open_amount": Decimal("1000.00"), "letter_level": 1, "is_final": False,
               "letter_fee": Decimal("0.00"), "total_due": Decimal("1000.00"), "pay_by": "2026-12-05",
               "last_dunned_on": "2026-11-25", "folder": F2, "latest_run": False, "superseded_by": F3,
               "counts": False, "night_runs": 2, "night_latest_folder": F3},
    NOTHING | {"kind": "send", "run_date": "2026-11-25", "run_id": 2, "event_date": "2026-11-26",
               "event_time": "2026-11-26T07:00:05", "letter_id": C, "customer_id": "C1", "currency": "USD",
               "folder": F2, "night_runs": 2, "night_latest_folder": F3, "send_id": "S2", "send_status": "in_doubt",
               "attempts": 1, "message_id": "<c@x>"},
]
# INV-1's rows, in order: (kind, run_id, letter_id, folder, latest_run, superseded_by, counts, send_status, void_id)
INV_1 = [
    ("letter", 1, A, F1, True, None, False, None, None),     # voided: counts no more
    ("send", 1, A, F1, None, None, None, "accepted", None),
    ("void", 1, A, F1, None, None, None, None, "VOID-20261126-0001"),
    ("letter", 2, B, F2, False, None, True, None, None),     # an earlier run, but accepted: counts
    ("send", 2, B, F2, None, None, None, "accepted", None),
    ("letter", 3, B, F3, True, None, True, None, None),
]
KEYS = ("kind", "run_id", "letter_id", "folder", "latest_run", "superseded_by", "counts", "send_status", "void_id")


def test_json_rows_one_per_event_with_exact_amounts(ledger):
    text = history(ledger, "INV-3", fmt="json").text
    assert json.loads(text, parse_float=Decimal) == INV_3
    assert '"open_amount": 1000.00' in text  # an exact JSON number, never through a float


def test_csv_rows_in_time_order(ledger, tmp_path):
    """The same rows as CSV, to stdout or to a file; read back as the project's CSVs are."""
    text = history(ledger, "INV-1", fmt="csv").text
    written = history(ledger, "INV-1", fmt="csv", to=tmp_path / "inv-1.csv")
    assert (written.rows, written.path) == (6, tmp_path / "inv-1.csv")
    assert (tmp_path / "inv-1.csv").read_text(encoding="utf-8") == text
    header, *lines = text.splitlines()
    assert header == ",".join(COLUMNS)
    rows = duckdb.sql(f"SELECT * FROM read_csv('{tmp_path / 'inv-1.csv'}', header = true)").fetchall()
    got = [dict(zip(COLUMNS, row)) for row in rows]
    assert [tuple(r[k] for k in KEYS) for r in got] == INV_1
    assert [(r["level_before"], r["level_after"], r["letter_fee"], r["compensation_amount"], r["interest_days"],
             r["interest_amount"], r["total_due"]) for r in got if r["kind"] == "letter"] == [
        (0, 1, 0, 40, None, None, 2540), (1, 2, 5, None, 12, 6.58, 2511.58), (1, 2, 5, None, 12, 6.58, 2511.58)]
    assert lines[0] == (f"letter,2026-11-24,1,2026-11-24,,{A},C1,INV-1,EUR,overdue,0,1,2500.00,1,false,0.00,40.00,,,"
                        f"2540.00,2026-12-04,2026-11-24,true,,{F1},true,,false,1,{F1},,,,,,")


def test_parquet_rows_keep_their_types(ledger, tmp_path):
    result = history(ledger, customer_id="C1", fmt="parquet", to=tmp_path / "c1.parquet")
    assert (result.rows, result.text) == (10, "")
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path / 'c1.parquet'}')")
    assert relation.columns == COLUMNS
    types = dict(zip(relation.columns, map(str, relation.types)))
    assert (types["run_date"], types["event_time"], types["open_amount"], types["counts"]) == \
        ("DATE", "TIMESTAMP", "DECIMAL(18,2)", "BOOLEAN")
    rows = [dict(zip(COLUMNS, row)) for row in relation.fetchall()]
    assert [(r["kind"], r["run_id"], r["letter_id"], r["doc_id"], r["superseded_by"]) for r in rows] == [
        ("letter", 1, A, "INV-1", None), ("letter", 1, A, "INV-2", None), ("send", 1, A, None, None),
        ("void", 1, A, None, None),
        ("letter", 2, B, "INV-1", None), ("letter", 2, C, "INV-3", F3), ("send", 2, B, None, None),
        ("send", 2, C, None, None),
        ("state_taken", 3, None, "INV-2", None), ("letter", 3, B, "INV-1", None)]
    state = rows[8]
    assert (state["level_before"], state["level_after"], state["last_dunned_on"], state["counts"], state["folder"]) \
        == (1, 1, dt.date(2026, 11, 20), True, F3)
    assert (rows[0]["compensation_amount"], rows[4]["interest_amount"], rows[4]["event_time"], rows[6]["event_time"]) \
        == (Decimal("40.00"), Decimal("6.58"), None, dt.datetime(2026, 11, 26, 7, 0, 4))


# ---- a hostile ledger ---------------------------------------------------------------------------

EVIL_DOC = "=1+1\x1b]0;pwned\x07\n2026-01-01  forged line\u202e"
EVIL_FOLDER = "/x/out/\x1b[2J-evil"
EVIL_REPLY = "@SUM(1)\r\n250 fake"


@pytest.fixture
def evil_ledger(tmp_path: Path) -> Path:
    """A ledger whose ids, folders and server replies hold escape sequences, line breaks, a
    bidi override and cells that a spreadsheet would run."""
    return make_ledger(
        tmp_path / "evil.duckdb", runs=[(1, "2026-11-24", EVIL_FOLDER, "finished", "stop", "2026-11-24 22:00:00")],
        letters=[(1, A, "C1", "EUR", 1, False, "10.00", "0.00", "0.00", "0.00", "10.00", "2026-12-04")],
        items=[(1, A, EVIL_DOC, "overdue", "10.00", 0, 1, None, None, None, None, None)], states=[],
        sends=[("S1", A, "<a@x>", EVIL_FOLDER, "permanent", EVIL_REPLY, 1, "2026-11-25 08:00:00")], voids=[])


def test_text_from_a_hostile_ledger_is_escaped(evil_ledger):
    """Every character the ledger holds is shown, as an escape where it would act: no line is
    forged, no escape sequence reaches the terminal, nothing reads backwards."""
    shown_doc = "=1+1\\x1b]0;pwned\\x07\\n2026-01-01  forged line\\u202e"
    shown_folder = "/x/out/\\x1b[2J-evil"
    assert history(evil_ledger, customer_id="C1").text.splitlines() == [
        "Customer C1: 1 letter for 1 item on 1 night.",
        "",
        "Night 2026-11-24:",
        f"2026-11-24  {A}  level 1 letter, fee 0.00 EUR, total due 10.00 EUR, pay by 2026-12-04 "
        f"(folder {shown_folder})",
        f"            {shown_doc}: level 0 -> 1, 10.00 EUR open",
        f"2026-11-25  sent {A} to the server: refused for good after 1 attempt: @SUM(1)\\r\\n250 fake "
        f"(from {shown_folder})",
    ]


def test_rows_from_a_hostile_ledger(evil_ledger):
    """CSV: escaped like query's, and a cell that starts like a formula gets a ' (outputs.csv_cells);
    JSON: the exact values back to a JSON reader, with no control character in the text."""
    csv_text = history(evil_ledger, EVIL_DOC, fmt="csv").text
    assert csv_text.isascii() and "\x1b" not in csv_text and len(csv_text.splitlines()) == 3
    letter, send = csv_text.splitlines()[1:]
    assert ",'=1+1\\x1b]0;pwned\\x07\\n2026-01-01  forged line\\u202e," in letter
    assert send.endswith(",'@SUM(1)\\r\\n250 fake,")
    json_text = history(evil_ledger, EVIL_DOC, fmt="json").text
    assert "\x1b" not in json_text and "\u202e" not in json_text and "\r" not in json_text
    rows = json.loads(json_text)
    assert (rows[0]["doc_id"], rows[0]["folder"], rows[1]["reply"]) == (EVIL_DOC, EVIL_FOLDER, EVIL_REPLY)


def test_the_cli_prints_a_hostile_ledger_escaped(evil_ledger):
    result = cli(evil_ledger.parent, "history", "--customer", "C1", "--ledger", evil_ledger.name)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout and "\r" not in result.stdout
    assert len(result.stdout.splitlines()) == 6


# ---- what `history` refuses ----------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["INV-9"], "{ledger}: the ledger holds no letter or state of item 'INV-9' from a finished run; check the DOC_ID"),
    (["--customer", "C9"], "{ledger}: the ledger holds no letter or state of customer 'C9' from a finished run; "
                           "check the customer ID"),
    # only finished runs count: run 5 (pending) alone holds letter dddd, run 4 (dropped) alone INV-2's level 2
    (["DL-20261126-dddd"], "{ledger}: the ledger holds no letter or state of item 'DL-20261126-dddd' from a "
                           "finished run; check the DOC_ID"),
    ([], "history takes a DOC_ID or --customer ID: which item's or customer's history to tell"),
    (["INV-1", "--customer", "C1"], "history takes a DOC_ID or --customer ID: which item's or customer's history "
                                    "to tell"),
    (["INV-1", "--format", "parquet"], "--format parquet writes a binary file: name it with --to FILE"),
    (["INV-1", "--to", "ledger.duckdb"], "ledger.duckdb: --to must not write over the ledger {ledger}; choose a "
                                         "file elsewhere"),
    (["INV-1", "--to", "ledger.duckdb.lock"], "ledger.duckdb.lock: --to must not write over the ledger {ledger}; "
                                              "choose a file elsewhere"),
    (["INV-1", "--to", "no/such/out.csv"], "no/such/out.csv: the folder no/such does not exist"),
], ids=["unknown-item", "unknown-customer", "only-in-unfinished-runs", "neither", "both", "parquet-to-stdout",
        "to-the-ledger", "to-its-lock", "to-a-missing-folder"])
def test_refusals_are_one_sentence_exit_2(ledger, args, message):
    before = ledger.read_bytes()
    result = cli(ledger.parent, "history", *args, "--ledger", "ledger.duckdb")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == message.format(ledger=ledger) + "\n"
    assert ledger.read_bytes() == before


def test_a_missing_ledger_is_exit_2_naming_it_and_leaves_nothing_behind(tmp_path):
    result = cli(tmp_path, "history", "INV-1", "--ledger", "night/ledger.duckdb")
    assert result.returncode == 2
    assert result.stderr == (f"{tmp_path}/night/ledger.duckdb: no ledger there; give the ledger the runs recorded "
                             f"(run.json's \"ledger\" names it)\n")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_no_ledger_is_exit_2(tmp_path):
    (tmp_path / "notes.duckdb").write_text("not a database\n", encoding="utf-8")
    result = cli(tmp_path, "history", "INV-1", "--ledger", "notes.duckdb")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{tmp_path}/notes.duckdb: not a ledger (not a DuckDB database file)")


def test_a_duckdb_file_that_is_no_ledger_is_exit_2_and_gets_no_lock_file_beside_it(tmp_path):
    """A probe found foreign.duckdb.lock left beside another program's database: the lock is
    taken before the file is opened and found to be no ledger; what the command made, it removes."""
    con = duckdb.connect(str(tmp_path / "foreign.duckdb"))
    con.execute("CREATE TABLE notes AS SELECT 1 AS n")
    con.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli(tmp_path, "history", "INV-1", "--ledger", "foreign.duckdb")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{tmp_path}/foreign.duckdb: a DuckDB database but not a dunning_batch ledger")
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["foreign.duckdb"]


def test_a_ledger_s_own_lock_file_stays_when_a_command_is_refused(ledger):
    """The removal is only of a lock file beside a database that is no ledger: a ledger's stays."""
    lock = ledger.with_name("ledger.duckdb.lock")
    lock.unlink(missing_ok=True)
    result = cli(ledger.parent, "history", "NO-SUCH-ITEM", "--ledger", "ledger.duckdb")
    assert result.returncode == 2 and lock.exists()


@pytest.mark.parametrize("alter, says", [
    ("CREATE TABLE l2 AS SELECT * REPLACE (CAST(total_due AS VARCHAR) AS total_due) FROM letters; "
     "DROP TABLE letters CASCADE; ALTER TABLE l2 RENAME TO letters", "letters.total_due is VARCHAR, not DECIMAL(18,2)"),
    ("DROP TABLE letters CASCADE", "letters.run_id is missing"),
], ids=["retyped", "dropped"])
def test_a_ledger_whose_tables_were_altered_is_exit_2(ledger, alter, says):
    """A probe retyped a column (exit 3: a format code for a number met text) or dropped a table
    (exit 3: the history's SQL failed)."""
    con = duckdb.connect(str(ledger))
    for statement in alter.split("; "):
        con.execute(statement)
    con.close()
    result = cli(ledger.parent, "history", "INV-1", "--ledger", "ledger.duckdb")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr == (f"{ledger}: a ledger of schema version 1 whose tables were altered ({says}); "
                             f"restore the ledger from a backup\n")


def test_a_ledger_another_program_holds_open_is_named_as_busy_not_as_no_ledger(ledger):
    """DuckDB's own lock, held by another process (an analyst's open connection): the message
    told the user to give another path, which would start an empty ledger."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(ledger)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = cli(ledger.parent, "history", "INV-1", "--ledger", "ledger.duckdb")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert result.stderr == (f"{ledger}: the ledger is open in another program (PID {holder.pid}); wait for it to "
                             f"close the ledger, then run again\n")


def test_history_to_never_writes_into_a_run_s_folder(ledger, demo_run, tmp_path):
    """`--to` guarded only its own ledger: a probe wrote the history over a run's run.json."""
    shutil.copytree(demo_run, tmp_path / "run")
    before = (tmp_path / "run" / "run.json").read_bytes()
    result = cli(ledger.parent, "history", "INV-1", "--ledger", "ledger.duckdb", "--format", "json",
                 "--to", str(tmp_path / "run" / "run.json"))
    assert result.returncode == 2 and "the output folder of a run" in result.stderr
    assert (tmp_path / "run" / "run.json").read_bytes() == before


def test_history_only_reads_the_ledger(ledger):
    """Opened read-only: not a byte changes, and a pending run is left for the next run to
    adopt or drop (run 5 stays pending; its letter shows nowhere)."""
    before = ledger.read_bytes()
    for fmt in ("text", "json"):
        history(ledger, customer_id="C1", fmt=fmt)
    assert ledger.read_bytes() == before
    with duckdb.connect(str(ledger), read_only=True) as con:
        assert con.execute("SELECT status FROM runs WHERE run_id = 5").fetchall() == [("pending",)]


def test_history_reads_a_ledger_on_a_read_only_file_system(ledger, monkeypatch):
    """A probe mounted a ledger's backup read-only: history (and send --dry-run) said "cannot use
    the ledger here" for the lock file it could not make. Nothing can change such a ledger, so
    no lock is needed; the file system's refusal is what the lock file's open meets."""
    lock = ledger.with_name("ledger.duckdb.lock")
    lock.unlink(missing_ok=True)
    real_open = Path.open

    def read_only_file_system(self, *args, **kwargs):
        if self == lock:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", read_only_file_system)
    told = history(ledger, customer_id="C1")
    assert told.text.startswith("Customer C1: ") and not lock.exists()


def test_history_waits_for_a_run_holding_the_ledger(ledger):
    """A run holds LEDGER.lock for its whole night: history says whom it waits for, waits, then answers."""
    waiting, answers = threading.Event(), []

    def on_wait(line: str) -> None:
        answers.append(line)
        waiting.set()

    with hold(ledger, "run", "run of 2026-11-27"):
        reader = threading.Thread(target=lambda: answers.append(history(ledger, "INV-3", on_wait=on_wait).rows))
        reader.start()
        assert waiting.wait(timeout=30)
        assert reader.is_alive()  # still waiting while the run holds the lock
    reader.join(timeout=60)
    assert answers == [f"waiting for the ledger {ledger}, in use by run (pid {os.getpid()}) ...", 2]


# ---- the command as a user runs it ---------------------------------------------------------------

def test_the_cli_from_the_ledgers_folder_with_relative_paths(ledger):
    cwd = ledger.parent
    result = cli(cwd, "history", "INV-1", "--ledger", "ledger.duckdb")
    assert (result.returncode, result.stdout, result.stderr) == (0, ITEM_1, "")
    result = cli(cwd, "history", "--customer", "C1", "--ledger", "ledger.duckdb", "--format", "parquet",
                 "--to", "c1.parquet")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "wrote 10 row(s) to c1.parquet\n")
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{cwd / 'c1.parquet'}')").fetchall() == [(10,)]
    (cwd / "sub").mkdir()
    result = cli(cwd / "sub", "history", "INV-3", "--ledger", "../ledger.duckdb", "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout, parse_float=Decimal) == INV_3


def test_the_cli_into_a_pipe_that_closes(ledger):
    """`history ... | head -1` as typed, and a reader gone before the first line: the exit code
    stays 0 and stderr holds no traceback (tests/test_cli_pipes.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = " ".join([*CLI[:2], repr(CLI[2]), "history", "--customer", "C1", "--ledger", "ledger.duckdb"])
    head = subprocess.run(["bash", "-o", "pipefail", "-c", f"{command} | head -1"], cwd=ledger.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    assert (head.returncode, head.stdout) == (0, "Customer C1: 3 letters for 3 items on 2 nights.\n")
    assert "Traceback" not in head.stderr
    for fmt in ("text", "csv", "json"):
        proc = subprocess.Popen([*CLI, "history", "--customer", "C1", "--ledger", "ledger.duckdb", "--format", fmt],
                                cwd=ledger.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        assert proc.wait(timeout=120) == 0, stderr
        assert "Traceback" not in stderr and "Exception ignored" not in stderr and "BrokenPipe" not in stderr


@pytest.mark.parametrize("pipe", ["ledger", "its-log"])
def test_a_named_pipe_as_the_ledger_or_its_log_is_refused_not_waited_on(ledger, pipe):
    """A probe's FIFO at the ledger's path hung `run`, and one at LEDGER.wal hung `history` and
    `send`: DuckDB opened them and waited for a writer."""
    target = ledger if pipe == "ledger" else ledger.with_name("ledger.duckdb.wal")
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    said = (f"{target}: not a plain file (a folder, a named pipe or a device); a ledger and its log are files "
            f"DuckDB writes: give the ledger file the runs recorded (--ledger PATH)")
    if pipe == "its-log":
        result = cli(ledger.parent, "history", "INV-1", "--ledger", "ledger.duckdb")
        assert (result.returncode, result.stdout, result.stderr) == (2, "", said + "\n")
    with pytest.raises(UserError) as refused:   # as `run` opens it: made when absent
        with open_ledger(ledger, "run", "a test", create=True):
            pass
    assert str(refused.value) == said
