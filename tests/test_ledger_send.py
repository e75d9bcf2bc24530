"""The ledger's part in `send` and `void` (issue 17): a letter id a server accepted is never
mailed again from any folder of its night; a letter whose message may have reached the
server without `send` hearing the answer is in doubt (named, not sent, exit 1) until
`send --resend-in-doubt`; a void from one folder counts in every folder.

Two folders of one night are two copies of the demo's folder (A and B), each with the run.json
key "ledger" a run with a ledger writes, naming one ledger. Commands run as a user runs them:
a subprocess in the folders' parent, with relative paths, against a real SMTP server on
127.0.0.1 (aiosmtpd, as in test_delivery.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import ROOT
from test_delivery import EMAIL_LETTERS, Inbox, email_letters, journal, smtp_server
from test_send_guard import hostile, leaves_unanswered, letters_received

from dunning_batch.errors import UserError
from dunning_batch.ledger.store import open_ledger

VOID_DAY = "2026-11-27"


# ------------------------------------------------------------------------------ helpers

@pytest.fixture
def night(demo_run: Path, tmp_path: Path) -> Path:
    """A working folder holding ledger.duckdb and two folders of the demo's night, A and B,
    whose run.json names the ledger as a run with --ledger records it."""
    ledger = tmp_path / "ledger.duckdb"
    with open_ledger(ledger, "run", "the test's night", create=True):
        pass
    for name in ("A", "B"):
        shutil.copytree(demo_run, tmp_path / name)
        name_ledger(tmp_path / name, {"path": str(ledger), "stale_export": "stop", "lagging_items": 0,
                                      "ahead_items": 0, "already_sent": [], "notes": []})
    return tmp_path


def name_ledger(out: Path, entry: dict[str, Any] | None) -> None:
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    manifest["ledger"] = entry
    (out / "run.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def cli(work: Path, *args: str) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` in `work`, as a user types it there."""
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args], cwd=work,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)


def table(work: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of the ledger (opened read-only here, after every command has closed it)."""
    con = duckdb.connect(str(work / "ledger.duckdb"), read_only=True)
    try:
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]
    finally:
        con.close()


def insert_attempt(work: Path, letter_id: str, folder: Path, send_id: str = "killed-send") -> None:
    """What a `send` killed while the server held its message leaves: an attempt, no outcome."""
    con = duckdb.connect(str(work / "ledger.duckdb"))
    con.execute("INSERT INTO sends VALUES ($send_id, $letter_id, $message_id, $folder, 'attempting', NULL, 1, "
                "TIMESTAMP '2026-11-24 22:00:05')",
                {"send_id": send_id, "letter_id": letter_id, "message_id": f"<{letter_id}@example.com>",
                 "folder": str(folder)})
    con.close()




def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


# --------------------------------------------------------------- one letter id, one send

def test_a_second_folder_of_the_night_sends_nothing_and_names_the_first(night):
    inbox = Inbox()
    with smtp_server(inbox) as server:
        first = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
        second = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert sorted(inbox.letters()) == sorted(email_letters(night / "A"))  # each once, from A
    assert (f"{EMAIL_LETTERS} letter(s) not sent again: the ledger {night / 'ledger.duckdb'} records them "
            f"accepted from {night / 'A'}") in second.stdout
    assert (f"sent 0 of 0 letter(s) to send ({EMAIL_LETTERS} in the outbox, {EMAIL_LETTERS} accepted earlier, "
            f"{EMAIL_LETTERS} of them from other folders); 0 not accepted") in second.stdout
    # the ledger: an attempt before each message, its outcome after, paired by A's send_id
    rows = table(night, "SELECT send_id, letter_id, status, attempt, folder FROM sends ORDER BY letter_id, status")
    [send_id] = {r["send_id"] for r in rows}
    assert {r["folder"] for r in rows} == {str(night / "A")}
    assert [(r["status"], r["attempt"]) for r in rows] == [("accepted", 1), ("attempting", 1)] * EMAIL_LETTERS
    assert {r["send_id"] for r in journal(night / "A")} == {send_id}
    assert not (night / "B" / "delivery" / "sent.jsonl").read_text()


def test_two_sends_of_one_night_at_once_deliver_each_letter_once(night):
    inbox = Inbox()
    with smtp_server(inbox) as server:
        command = [sys.executable, "-c", "from dunning_batch.cli import main; main()", "send"]
        processes = [subprocess.Popen([*command, name, "--smtp", f"127.0.0.1:{server.port}"], cwd=night,
                                      env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for name in ("A", "B")]
        results = [p.communicate(timeout=300) for p in processes]
        assert {p.returncode for p in processes} <= {0, 1}, results
        again = [cli(night, "send", name, "--smtp", f"127.0.0.1:{server.port}") for name in ("A", "B")]
    delivered = inbox.letters()
    assert sorted(delivered) == sorted(email_letters(night / "A")), "a letter went out twice, or not at all"
    assert [r.returncode for r in again] == [0, 0], [r.stderr for r in again]
    assert all("sent 0 of 0 letter(s) to send" in r.stdout for r in again)


# ------------------------------------------------------------------------ in doubt

def test_an_attempt_without_its_outcome_is_in_doubt_named_and_not_sent_until_asked(night):
    letters = sorted(email_letters(night / "A"))
    doubtful = letters[3]
    insert_attempt(night, doubtful, night / "B")
    inbox = Inbox()
    with smtp_server(inbox) as server:
        first = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
        assert first.returncode == 1, first.stderr
        assert sorted(inbox.letters()) == [x for x in letters if x != doubtful]
        [line] = [line for line in first.stderr.splitlines() if "in doubt" in line]
        assert line.startswith(f"{doubtful} to ")
        assert (": in doubt: a send handed it to the server and recorded no answer (it stopped, or is still "
                f"sending) (attempted 2026-11-24 "
                f"22:00:05 UTC from {night / 'B'}); check the mail server's log for <{doubtful}@example.com>, "
                f"then run send --resend-in-doubt to send it again") in line
        assert f"{EMAIL_LETTERS - 1} accepted earlier" not in first.stdout and "1 in doubt" in first.stdout
        again = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
        assert again.returncode == 1 and f"{doubtful} to " in again.stderr and inbox.letters().count(doubtful) == 0
        resent = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}", "--resend-in-doubt")
        assert resent.returncode == 0, resent.stderr
        assert "sent 1 of 1 letter(s) to send" in resent.stdout
        settled = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}")
    assert settled.returncode == 0 and "in doubt" not in settled.stderr, settled.stderr
    assert sorted(inbox.letters()) == letters


def test_a_message_taken_whole_and_never_answered_is_in_doubt_from_every_folder(night):
    """A's server read the first letter to its final dot and hung up: not retried, and B's `send`
    does not mail it either, though B's journal never saw it."""
    letters = sorted(email_letters(night / "A"))
    with hostile(leaves_unanswered(1, "hang_up")) as server:
        first = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
        assert letters_received(server) == letters
    inbox = Inbox()
    with smtp_server(inbox) as server:
        other = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}")
    assert first.returncode == 1 and other.returncode == 1, other.stderr
    assert inbox.letters() == []  # the others were accepted from A
    [line] = [line for line in other.stderr.splitlines() if "in doubt" in line]
    assert line.startswith(f"{letters[0]} to ") and (": in doubt: the whole message went out and no answer came "
                                                     f"(connection lost: Connection unexpectedly closed)") in line
    assert f"UTC from {night / 'A'}); check the mail server's log for <{letters[0]}@example.com>" in line
    rows = table(night, f"SELECT status, attempt FROM sends WHERE letter_id = '{letters[0]}' ORDER BY status")
    assert [(r["status"], r["attempt"]) for r in rows] == [("attempting", 1), ("in_doubt", 1)]


class HoldsTheFirst(Inbox):
    """Takes every message, but keeps the first one's DATA unanswered until released: a `send`
    killed meanwhile never hears that the server has the message."""

    def __init__(self) -> None:
        super().__init__()
        self.holding, self.released = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        if len(self.received) == 1:
            self.holding.set()
            while not self.released.is_set():
                await asyncio.sleep(0.02)
        return "250 2.0.0 Ok: queued"


def test_a_send_killed_while_the_server_holds_the_message_leaves_it_in_doubt(night):
    letters = sorted(email_letters(night / "A"))
    inbox = HoldsTheFirst()
    with smtp_server(inbox) as server:
        killed = started_send(night, "A", server.port)
        assert inbox.holding.wait(timeout=120), killed.communicate()
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
        inbox.released.set()
        after = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}")  # the other folder, even
    assert after.returncode == 1, after.stderr
    assert f"{letters[0]} to " in after.stderr
    assert "in doubt: a send handed it to the server and recorded no answer" in after.stderr
    assert sorted(inbox.letters()) == letters  # the first one once: the killed send's
    assert journal(night / "A") == []  # it never heard the answer


def started_send(night: Path, folder: str, port: int) -> subprocess.Popen:
    """`send FOLDER` started in `night`, left running."""
    return subprocess.Popen([sys.executable, "-c", "from dunning_batch.cli import main; main()", "send", folder,
                             "--smtp", f"127.0.0.1:{port}"], cwd=night, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_resend_in_doubt_leaves_alone_what_a_running_send_attempts(night):
    """`send B --resend-in-doubt` while `send A` waited for the server's answer to its first
    letter sent that letter too, and every later one beside A: 17 of 22 twice. Only letters
    whose `send` is gone are resent; the running one's are in its hands."""
    letters = sorted(email_letters(night / "A"))
    inbox = HoldsTheFirst()
    with smtp_server(inbox) as server:
        running = started_send(night, "A", server.port)
        assert inbox.holding.wait(timeout=120), running.communicate()
        resent = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}", "--resend-in-doubt")
        inbox.released.set()
        running.communicate(timeout=300)
    assert resent.returncode == 1, resent.stderr  # A's letter stays in doubt for B: A is at work on it
    assert f"{letters[0]} to " in resent.stderr and "recorded no answer (it stopped, or is still sending)" in resent.stderr
    assert sorted(inbox.letters()) == letters, "a letter went out twice, or not at all"


def test_a_letter_in_doubt_here_that_another_folder_got_accepted_is_done(night):
    """A's journal left a letter in doubt; B resent it and the server accepted it: `send A`
    still named it in doubt and exited 1 every night."""
    letters = sorted(email_letters(night / "A"))
    with hostile(leaves_unanswered(1, "hang_up")) as server:
        first = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
    inbox = Inbox()
    with smtp_server(inbox) as server:
        resent = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}", "--resend-in-doubt")
        again = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
    assert first.returncode == 1 and resent.returncode == 0, resent.stderr
    assert inbox.letters() == [letters[0]]
    assert again.returncode == 0 and "in doubt" not in again.stderr, again.stderr
    assert f"1 letter(s) not sent again: the ledger {night / 'ledger.duckdb'} records them accepted from " \
        f"{night / 'B'}" in again.stdout


def test_a_letter_voided_from_one_folder_is_sent_from_none(night):
    letters = sorted(email_letters(night / "A"))
    voided = cli(night, "void", "A", letters[2], "--as-of", VOID_DAY)
    assert voided.returncode == 0, voided.stderr
    inbox = Inbox()
    with smtp_server(inbox) as server:
        sent = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}")
    assert sent.returncode == 0, sent.stderr
    assert sorted(inbox.letters()) == letters[:2] + letters[3:]
    assert f"not sent: {letters[2]} to " in sent.stdout and "1 voided (not sent)" in sent.stdout

# ------------------------------------------------------------------ which ledger

def test_a_run_json_naming_a_ledger_that_is_gone_stops_send_and_void(night):
    (night / "ledger.duckdb").rename(night / "moved.duckdb")
    letter = sorted(email_letters(night / "A"))[0]
    inbox = Inbox()
    with smtp_server(inbox) as server:
        sent = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
    voided = cli(night, "void", "A", letter, "--as-of", VOID_DAY)
    for result in (sent, voided):
        assert result.returncode == 2, result.stderr
        assert result.stderr == (f"A/run.json: the run recorded its ledger {night / 'ledger.duckdb'}, and there is "
                                 f"no such file; give the ledger's path with --ledger PATH (it may have moved)\n")
    assert inbox.received == [] and not (night / "A" / "delivery").exists() and not (night / "A" / "voids").exists()
    with smtp_server(inbox) as server:
        moved = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}", "--ledger", "moved.duckdb")
    assert moved.returncode == 0, moved.stderr
    assert len(inbox.received) == EMAIL_LETTERS


def test_dry_run_reads_the_ledger_and_writes_nothing(night):
    letters = sorted(email_letters(night / "A"))
    inbox = Inbox()
    with smtp_server(inbox) as server:
        assert cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}").returncode == 0
    new = night / "C"  # a third folder of the night, one letter of it in doubt
    shutil.copytree(night / "B", new)
    insert_attempt(night, letters[0], night / "A", send_id="a-later-send")
    con = duckdb.connect(str(night / "ledger.duckdb"))
    con.execute("DELETE FROM sends WHERE letter_id = $l AND status = 'accepted'", {"l": letters[0]})
    con.close()
    before = fingerprint(night / "ledger.duckdb")
    result = cli(night, "send", "C", "--dry-run")
    assert result.returncode == 1, result.stderr
    assert not [line for line in result.stdout.splitlines() if line.startswith("would send")]
    assert (f"dry run: 0 of {EMAIL_LETTERS} letter(s) to send, {EMAIL_LETTERS - 1} already accepted earlier, "
            f"{EMAIL_LETTERS - 1} of them from other folders, 1 in doubt") in result.stdout
    assert f"{letters[0]} to " in result.stderr and "in doubt" in result.stderr
    assert fingerprint(night / "ledger.duckdb") == before
    assert not (new / "delivery").exists()


# --------------------------------------------------------------------------- void

def test_void_records_its_letters_in_the_ledger(night):
    first, second = sorted(email_letters(night / "A"))[:2]
    result = cli(night, "void", "A", first, second, "--as-of", VOID_DAY)
    assert result.returncode == 0, result.stderr
    [entry] = [json.loads(line) for line in (night / "A" / "voids.jsonl").read_text().splitlines()]
    rows = table(night, "SELECT void_id, letter_id, void_date, folder, recorded_at FROM voids ORDER BY letter_id")
    assert [(r["void_id"], r["letter_id"], r["void_date"], r["folder"]) for r in rows] == [
        (entry["void_id"], first, dt.date(2026, 11, 27), str(night / "A")),
        (entry["void_id"], second, dt.date(2026, 11, 27), str(night / "A"))]
    assert all(abs(r["recorded_at"] - dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)) < dt.timedelta(minutes=5)
               for r in rows)


def test_a_letter_voided_from_one_folder_is_not_voided_again_from_another(night):
    letter = sorted(email_letters(night / "A"))[0]
    assert cli(night, "void", "A", letter, "--as-of", VOID_DAY).returncode == 0
    again = cli(night, "void", "B", letter, "--as-of", "2026-11-28")
    assert again.returncode == 2
    [entry] = [json.loads(line) for line in (night / "A" / "voids.jsonl").read_text().splitlines()]
    assert again.stderr == (f"B: letter {letter} was already voided by {entry['void_id']} from {night / 'A'}; "
                            f"a letter is voided once\n")
    assert not (night / "B" / "voids").exists() and not (night / "B" / "voids.jsonl").exists()
    assert len(table(night, "SELECT * FROM voids")) == 1


# a void killed after voids.jsonl was written and before the ledger heard of it
KILLED_VOID = """
import os, signal
from dunning_batch.checks import void
from dunning_batch.cli import main
void.record_voids = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
main()
"""


def test_a_void_killed_before_the_ledger_heard_of_it_still_counts(night):
    letter = sorted(email_letters(night / "A"))[0]
    killed = subprocess.run([sys.executable, "-c", KILLED_VOID, "void", "A", letter, "--as-of", VOID_DAY],
                            cwd=night, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (night / "A" / "voids.jsonl").is_file() and table(night, "SELECT * FROM voids") == []
    # the ledger knows A as a finished run of the night (the run records it so)
    con = duckdb.connect(str(night / "ledger.duckdb"))
    con.execute("INSERT INTO runs VALUES (1, DATE '2026-11-24', $folder, 'finished', $sha, '', '', '', NULL, "
                "'stop', 0, 0, 27, TIMESTAMP '2026-11-24 22:00:00')",
                {"folder": str(night / "A"), "sha": hashlib.sha256((night / "A" / "run.json").read_bytes()).hexdigest()})
    con.close()
    again = cli(night, "void", "B", letter, "--as-of", VOID_DAY)
    assert again.returncode == 2 and f"letter {letter} was already voided by VOID-" in again.stderr, again.stderr
    assert [r["letter_id"] for r in table(night, "SELECT * FROM voids")] == [letter]


# ------------------------------------------------------------------------ fold_folder

def test_fold_folder_adds_what_a_folder_recorded_once(night):
    from dunning_batch.ledger.sends import fold_folder, legacy_send_id  # new with the ledger

    out = night / "A"
    letters = sorted(email_letters(out))
    lines = [  # a journal written before send_id existed, and one line a crash cut short
        {"letter_id": letters[0], "message_id": f"<{letters[0]}@example.com>", "to": "a@example.com",
         "time": "2026-11-24T22:00:01+00:00", "status": "temporary", "reply": "451 try later", "attempt": 1},
        {"letter_id": letters[0], "message_id": f"<{letters[0]}@example.com>", "to": "a@example.com",
         "time": "2026-11-24T22:00:03+00:00", "status": "accepted", "reply": "250 ok", "attempt": 2},
        {"letter_id": letters[1], "message_id": f"<{letters[1]}@example.com>", "to": "b@example.com",
         "time": "2026-11-25T07:00:00+00:00", "status": "temporary", "reply": "451 try later", "attempt": 1},
        {"letter_id": letters[1], "message_id": f"<{letters[1]}@example.com>", "to": "b@example.com",
         "time": "2026-11-25T07:00:00+00:00", "status": "accepted", "reply": "250 ok", "attempt": 1,
         "send_id": "0123abcd"},
    ]
    (out / "delivery").mkdir()
    (out / "delivery" / "sent.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines)
                                                 + '{"letter_id": "' + letters[2] + '", "status": "acc')
    (out / "voids.jsonl").write_text(json.dumps({"void_id": "VOID-20261124-0000000001", "letters": letters[3:5],
                                                 "void_date": "2026-11-26", "folder": "x"}) + "\n"
                                     + json.dumps({"void_id": "VOID-20261124-0000000002", "letters": [letters[5]],
                                                   "folder": "y"}) + "\n")  # before voids recorded their day
    with open_ledger(night / "ledger.duckdb", "run", "test") as ledger:
        assert fold_folder(ledger, out) == {"sends": 4, "voids": 3}
        assert fold_folder(ledger, out) == {"sends": 0, "voids": 0}
    sends = table(night, "SELECT send_id, letter_id, status, attempt, sent_at, folder, reply FROM sends "
                         "ORDER BY sent_at, attempt, status")
    legacy = legacy_send_id(out)
    assert legacy.startswith("journal:")
    assert [(r["send_id"], r["letter_id"], r["status"], r["attempt"], r["sent_at"]) for r in sends] == [
        (legacy, letters[0], "temporary", 1, dt.datetime(2026, 11, 24, 22, 0, 1)),
        (legacy, letters[0], "accepted", 2, dt.datetime(2026, 11, 24, 22, 0, 3)),
        ("0123abcd", letters[1], "accepted", 1, dt.datetime(2026, 11, 25, 7, 0)),
        (legacy, letters[1], "temporary", 1, dt.datetime(2026, 11, 25, 7, 0)),
    ]
    assert {r["folder"] for r in sends} == {str(out)} and sends[0]["reply"] == "451 try later"
    voids = table(night, "SELECT void_id, letter_id, void_date, folder FROM voids ORDER BY letter_id")
    assert [(r["void_id"][-1], r["letter_id"], str(r["void_date"]), r["folder"]) for r in voids] == [
        ("1", letters[3], "2026-11-26", str(out)), ("1", letters[4], "2026-11-26", str(out)),
        ("2", letters[5], "2026-11-24", str(out))]
    # a send from B now knows letters[0] and letters[1] as sent from A, and never the cut line's;
    # letters[3:6], voided from A, it sends from no folder
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = cli(night, "send", "B", "--smtp", f"127.0.0.1:{server.port}")
    assert result.returncode == 0, result.stderr
    assert sorted(inbox.letters()) == letters[2:3] + letters[6:] and "3 voided (not sent)" in result.stdout


@pytest.mark.parametrize("text, damage", [
    ('{"letter_id": "DL-1", "status": "accepted", "attempt": 1}\nnot json at all\n', "line 2 is no JSON object"),
    ('{"letter_id": "DL-1", "status": "sent", "attempt": 1}\n', "line 1 has no status `send` writes"),
    ('\n{"letter_id": 7, "status": "accepted", "attempt": 1}\n', "line 2 has no letter_id"),
    ('{"letter_id": "DL-1", "status": "accepted"}\n', "line 1 has no attempt number"),
    ('{"letter_id": "DL-1", "status": "accepted", "attempt": 1, "reply": [250]}\n',
     "line 1 has a send_id, message_id, reply or time that is no text"),
])
def test_a_damaged_journal_is_named_with_its_line(night, text, damage):
    from dunning_batch.ledger.sends import fold_folder  # new with the ledger

    out = night / "A"
    (out / "delivery").mkdir()
    (out / "delivery" / "sent.jsonl").write_text(text)
    with open_ledger(night / "ledger.duckdb", "run", "test") as ledger, pytest.raises(UserError) as error:
        fold_folder(ledger, out)
    assert str(error.value) == (f"{out / 'delivery' / 'sent.jsonl'} is damaged ({damage}); it records what `send` "
                                f"delivered: restore it from a backup, or correct that line from the mail server's log")
    assert table(night, "SELECT * FROM sends") == []


def test_a_damaged_journal_stops_send_in_one_line(night):
    (night / "A" / "delivery").mkdir()
    (night / "A" / "delivery" / "sent.jsonl").write_bytes(b'{"letter_id": "DL-\xff", "status": "accepted"}\n')
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = cli(night, "send", "A", "--smtp", f"127.0.0.1:{server.port}")
    assert result.returncode == 2 and inbox.received == []
    assert result.stderr == ("A/delivery/sent.jsonl is damaged (is no UTF-8 text); it records what `send` delivered: "
                             "restore it from a backup, or correct that line from the mail server's log\n")


# ------------------------------------------------------------------ real runs with a ledger

def demo_night(work: Path, out: str, *extra: str) -> subprocess.CompletedProcess:
    """The demo's night as a user runs it in `work`, with the ledger beside the folders."""
    inputs = ROOT / "fixtures" / "demo"
    return cli(work, "run", "--config", str(ROOT / "config" / "example.toml"), "--open-items",
               str(inputs / "open_items.csv"), "--customers", str(inputs / "customers.csv"), "--payments",
               str(inputs / "payments.csv"), "--rates", str(ROOT / "fixtures" / "rates_ecb.csv"), "--as-of", "2026-11-24",
               "--out", out, "--ledger", "ledger.duckdb",
               *extra)


def test_a_night_run_again_with_force_or_elsewhere_never_mails_a_letter_twice(tmp_path):
    """run -> send -> run --force into the same folder (no --force-sent: the ledger keeps what
    was sent) -> send -> run into a second folder -> send: the server gets each letter once,
    and each later run says its letters were already sent."""
    inbox = Inbox()
    with smtp_server(inbox) as server:
        assert demo_night(tmp_path, "out/A").returncode == 0
        assert cli(tmp_path, "send", "out/A", "--smtp", f"127.0.0.1:{server.port}").returncode == 0
        again = demo_night(tmp_path, "out/A", "--force")
        assert again.returncode == 0, again.stderr
        assert f"{EMAIL_LETTERS} letter(s) of this night were already sent from another folder" in again.stdout
        assert not (tmp_path / "out" / "A" / "delivery").exists()            # a new folder, its journal gone
        resend = cli(tmp_path, "send", "out/A", "--smtp", f"127.0.0.1:{server.port}")
        assert resend.returncode == 0, resend.stderr
        assert demo_night(tmp_path, "out/B").returncode == 0
        other = cli(tmp_path, "send", "out/B", "--smtp", f"127.0.0.1:{server.port}")
        assert other.returncode == 0, other.stderr
    assert sorted(inbox.letters()) == sorted(email_letters(tmp_path / "out" / "A"))  # each exactly once
    manifest = json.loads((tmp_path / "out" / "B" / "run.json").read_text(encoding="utf-8"))
    assert sorted(manifest["ledger"]["already_sent"]) == sorted(email_letters(tmp_path / "out" / "A"))
    assert [(r["run_date"], r["status"]) for r in table(tmp_path, "SELECT * FROM runs ORDER BY run_id")] == [
        (dt.date(2026, 11, 24), "finished")] * 3


def test_without_a_ledger_force_still_needs_force_sent_for_a_sent_folder(demo_run, tmp_path):
    inputs = ROOT / "fixtures" / "demo"
    args = ["run", "--config", str(ROOT / "config" / "example.toml"), "--open-items",
            str(inputs / "open_items.csv"), "--customers", str(inputs / "customers.csv"), "--as-of",
            "2026-11-24", "--out", "out/A"]
    # out/A as `args` write it: the shared demo folder is that run (no payments, no ledger), made
    # once per test process; a run of its own here would render the demo's PDFs again
    shutil.copytree(demo_run, tmp_path / "out" / "A")
    assert json.loads((tmp_path / "out" / "A" / "run.json").read_text(encoding="utf-8")).get("ledger") is None
    inbox = Inbox()
    with smtp_server(inbox) as server:
        assert cli(tmp_path, "send", "out/A", "--smtp", f"127.0.0.1:{server.port}").returncode == 0
    assert sorted(inbox.letters()) == sorted(email_letters(tmp_path / "out" / "A"))
    refused = cli(tmp_path, *args, "--force")
    assert refused.returncode == 2 and "pass --force-sent to replace it anyway" in refused.stderr


def test_a_run_json_naming_a_file_that_is_no_ledger_changes_nothing_there(night):
    """A tampered run.json may name any file: send and void refuse it before they make a lock
    beside it or DuckDB makes a database of it (an empty file would become one)."""
    (night / "empty.txt").write_bytes(b"")
    (night / "notes.txt").write_text("not a database\n")
    for target in ("empty.txt", "notes.txt"):
        name_ledger(night / "A", {"path": str(night / target)})
        sent = cli(night, "send", "A", "--dry-run")
        voided = cli(night, "void", "A", sorted(email_letters(night / "A"))[0], "--as-of", VOID_DAY)
        for done in (sent, voided):
            assert done.returncode == 2, done.stderr
            assert "not a ledger (not a DuckDB database file)" in done.stderr
    assert (night / "empty.txt").read_bytes() == b"" and (night / "notes.txt").read_text() == "not a database\n"
    assert not list(night.glob("*.txt.lock"))
    assert not (night / "A" / "voids").exists() and not (night / "A" / "voids.jsonl").exists()
