"""`send` against a tampered outbox and hostile servers (SPEC §10.4, §10.5).

`send` mails only what the run wrote (outbox.parquet and outbox/*.eml against run.json's
sha256, checked before connecting); a server that closes the session (421) or answers
without end stops it at once; a message the server took whole and never answered is in
doubt, never sent twice; a password SMTP cannot carry, or one given in place of the
variable's name, is a clear exit 2 that never shows it.

The hostile servers are small socket servers on 127.0.0.1, each connection bounded in time.
The demo's output folder and aiosmtpd's well-behaved server come from tests/test_delivery.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import pytest

from conftest import ROOT
from test_delivery import (EMAIL_LETTERS, Inbox, Sleeps, cli_sleeps, email_letters, folder,  # noqa: F401
                           journal, letter_of, parse, send_cli, smtp_server)

from dunning_batch.delivery.send import Pacing, send_outbox
from dunning_batch.delivery.smtp_session import SmtpServer

SERVER_SECONDS = 20  # a hostile server gives up on a connection after this long, whatever the client does


class Hostile(socketserver.ThreadingTCPServer):
    """An SMTP server on 127.0.0.1 speaking through `script(connection, server)`; counts connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script: Callable[[socket.socket, "Hostile"], None]):
        self.script, self.connections, self.sent_bytes = script, 0, 0
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.connections += 1
        self.request.settimeout(SERVER_SECONDS)
        with contextlib.suppress(OSError):
            self.server.script(self.request, self.server)


@contextlib.contextmanager
def hostile(script: Callable[[socket.socket, Hostile], None]) -> Iterator[Hostile]:
    server = Hostile(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def commands(connection: socket.socket) -> Iterator[str]:
    """The client's command lines, until it closes the connection."""
    reader = connection.makefile("rb")
    for line in reader:
        yield line.decode("ascii", "replace").strip().upper()


def closes_with_421(connection: socket.socket, server: Hostile) -> None:
    """Greets and answers EHLO, then says it is closing (421) at the first MAIL and hangs up."""
    connection.sendall(b"220 hostile ESMTP\r\n")
    for command in commands(connection):
        if command.startswith(("EHLO", "HELO")):
            connection.sendall(b"250-hostile\r\n250 8BITMIME\r\n")
        elif command.startswith("MAIL"):
            connection.sendall(b"421 4.3.2 Service shutting down\r\n")
            return
        elif command.startswith("QUIT"):
            connection.sendall(b"221 bye\r\n")
            return
        else:
            connection.sendall(b"250 ok\r\n")


def endless_ehlo(connection: socket.socket, server: Hostile) -> None:
    """Answers EHLO with continuation lines that never end (up to 50 MB, then it only waits)."""
    connection.sendall(b"220 hostile ESMTP\r\n")
    for command in commands(connection):
        if command.startswith("EHLO"):
            line = b"250-" + b"X" * 60 + b"\r\n"
            block = line * 1000
            while server.sent_bytes < 50_000_000:
                connection.sendall(block)  # raises once the client has hung up
                server.sent_bytes += len(block)
            time.sleep(SERVER_SECONDS)
            return


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "SMTP_PW"}  # only the test's own
    environment.update(env or {})
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------- item 5: the outbox is the run's

def test_send_refuses_an_outbox_whose_recipient_was_edited(folder):
    """Editing outbox.parquet's `to` would redirect a letter: refused before connecting, naming the file."""
    victim = min(email_letters(folder))
    con = duckdb.connect()
    path = str(folder / "outbox.parquet")
    con.execute("""CREATE TABLE outbox AS SELECT * REPLACE (CASE WHEN letter_id = $id THEN 'thief@example.net'
                   ELSE "to" END AS "to") FROM read_parquet($path)""", {"id": victim, "path": path})
    con.execute("COPY outbox TO $path (FORMAT parquet)", {"path": path})
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
        dry = send_cli(folder, "--dry-run")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"{folder / 'outbox.parquet'}: changed since the run") and "nothing was sent" in line
    assert dry.exit_code == 2 and "thief@example.net" not in dry.output
    assert inbox.received == [] and not (folder / "delivery").exists()


def edit_outbox_rehashed(folder: Path, select: str, params: dict[str, Any]) -> None:
    """Replace outbox.parquet by `select` over it ($path) and write its new sha256 into run.json,
    as an attacker who can write the whole folder would."""
    path = str(folder / "outbox.parquet")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE outbox AS {select}", {**params, "path": path})
    con.execute("COPY outbox TO $path (FORMAT parquet)", {"path": path})
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    manifest["outputs"]["outbox.parquet"]["sha256"] = hashlib.sha256((folder / "outbox.parquet").read_bytes()).hexdigest()
    (folder / "run.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def sent_to_an_inbox(folder: Path) -> tuple[Any, Inbox]:
    """`send FOLDER` to a well-behaved server: the command's result, and the server's inbox."""
    inbox = Inbox()
    with smtp_server(inbox) as server:
        return send_cli(folder, "--smtp", f"127.0.0.1:{server.port}"), inbox


def test_send_refuses_a_message_the_run_did_not_write(folder):
    """An extra outbox/*.eml is not in outbox.parquet, but outbox/'s digest in run.json says so."""
    (folder / "outbox" / "DL-20261124-ffffffffff.eml").write_bytes(b"To: thief@example.net\r\n\r\nhello\r\n")
    result, inbox = sent_to_an_inbox(folder)
    assert result.exit_code == 2, result.output
    assert "outbox/DL-20261124-ffffffffff.eml not written by the run" in result.stderr
    assert inbox.received == []



def test_send_refuses_a_message_named_outside_the_outbox_even_with_run_json_rehashed(folder, tmp_path):
    """A probe pointed one row's eml_path at a message outside the folder, with that file's
    digest, and wrote outbox.parquet's new digest into run.json: `send` mailed it."""
    victim = min(email_letters(folder))
    evil = tmp_path / "evil.eml"
    evil.write_bytes(b"To: x@example.com\r\nSubject: EVIL\r\n\r\nx\r\n")
    edit_outbox_rehashed(folder, """SELECT * REPLACE (
                                        CASE WHEN letter_id = $id THEN $eml ELSE eml_path END AS eml_path,
                                        CASE WHEN letter_id = $id THEN $sha ELSE sha256 END AS sha256)
                                    FROM read_parquet($path)""",
                         {"id": victim, "eml": os.path.relpath(evil, folder),
                          "sha": hashlib.sha256(evil.read_bytes()).hexdigest()})
    result, inbox = sent_to_an_inbox(folder)
    assert result.exit_code == 2, result.output
    assert f"letter '{victim}' names its message" in result.stderr and "nothing was sent" in result.stderr
    assert inbox.received == []


@pytest.mark.parametrize("edit, says", [
    # the row's letter_id and eml_path both point outside, so eml_path is outbox/ + letter_id + .eml
    ("SELECT * REPLACE (CASE WHEN letter_id = $id THEN '../../victim/X' ELSE letter_id END AS letter_id, "
     "CASE WHEN letter_id = $id THEN 'outbox/../../victim/X.eml' ELSE eml_path END AS eml_path) FROM read_parquet($path)",
     "names no letter of letters.parquet ('../../victim/X')"),
    ("SELECT * FROM read_parquet($path) UNION ALL SELECT * FROM read_parquet($path) WHERE letter_id = $id",
     "names a letter it lists twice ('{victim}')"),
], ids=["letter-id-outside", "a-letter-twice"])
def test_send_refuses_an_outbox_row_of_no_letter_or_a_letter_twice_even_with_run_json_rehashed(folder, edit, says):
    """A probe's outbox.parquet, re-hashed into run.json: a row whose letter_id climbed out of
    the folder mailed a file elsewhere, and a row listed twice mailed its letter twice."""
    victim = min(email_letters(folder))
    edit_outbox_rehashed(folder, edit, {"id": victim})
    result, inbox = sent_to_an_inbox(folder)
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"{folder / 'outbox.parquet'}: {says.format(victim=victim)}; the outbox was changed after "
                             f"the run, and nothing was sent: run the job again to rebuild the outbox\n")
    assert inbox.received == []


def test_a_folder_send_may_read_but_not_write_is_one_sentence(folder, monkeypatch):
    """A probe ran `send` as a user who may read the folder but not write its journal: exit 3."""
    real = Path.mkdir

    def refused(self, *args, **kwargs):
        if self.name == "delivery":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refused)
    result, inbox = sent_to_an_inbox(folder)
    assert result.exit_code == 2, result.output
    assert "cannot open send's journal (Permission denied); nothing was sent" in result.stderr
    assert inbox.received == []


@pytest.mark.parametrize("linked", ["an .eml", "outbox/", "delivery/", "delivery as a file", "journal as a folder"])
def test_send_refuses_links_among_the_outbox_and_its_journal(folder, tmp_path, linked):
    """A link whose target holds the same bytes passed the digests (they follow the link): send
    would mail, or journal, what lies outside the folder."""
    elsewhere = tmp_path / "elsewhere"
    if linked == "an .eml":
        eml = sorted((folder / "outbox").glob("*.eml"))[0]
        elsewhere.mkdir()
        shutil.copy(eml, elsewhere / eml.name)
        eml.unlink()
        eml.symlink_to(elsewhere / eml.name)
        named = f"outbox/{eml.name}"
    elif linked == "outbox/":
        shutil.move(folder / "outbox", elsewhere)
        (folder / "outbox").symlink_to(elsewhere)
        named = "outbox"
    elif linked == "delivery/":
        elsewhere.mkdir()
        (folder / "delivery").symlink_to(elsewhere)
        named = "delivery"
    elif linked == "delivery as a file":
        (folder / "delivery").write_text("")
        named = "delivery"
    else:
        (folder / "delivery" / "sent.jsonl").mkdir(parents=True)
        named = "delivery/sent.jsonl"
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = cli(folder, "send", ".", "--smtp", f"127.0.0.1:{server.port}")
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    said = "is a link; a run writes plain files" if linked in ("an .eml", "outbox/", "delivery/") else "is not a f"
    assert line.startswith(f"{named}: {said}") and "nothing was sent" in line, line
    assert inbox.received == [] and not any(elsewhere.glob("*.jsonl"))

# ------------------------------------------------------------ item 19: hostile servers

def test_a_421_ends_the_send_at_once_and_names_every_letter_left(folder, cli_sleeps):
    """421 is the server closing the session: one connection, no retries, the rest journaled, exit 1."""
    with hostile(closes_with_421) as server:
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
    assert result.exit_code == 1, result.output
    assert server.connections == 1 and cli_sleeps == []
    assert f"127.0.0.1:{server.port} ended the session: 421 4.3.2 Service shutting down" in result.stderr
    named = [line for line in result.stderr.splitlines() if line.startswith(("not accepted:", "not sent:"))]
    assert len(named) == EMAIL_LETTERS
    records = journal(folder)
    assert [r["status"] for r in records] == ["temporary"] + ["not_attempted"] * (EMAIL_LETTERS - 1)
    assert records[0]["reply"] == "421 4.3.2 Service shutting down"
    assert sorted(r["letter_id"] for r in records) == sorted(email_letters(folder))


@pytest.mark.parametrize("greeting, status", [("421 4.7.0 Too many connections, try later", "temporary"),
                                              ("554 5.3.2 No SMTP service here", "permanent")])
def test_a_greeting_that_refuses_the_session_ends_the_send_at_once(folder, cli_sleeps, greeting, status):
    """A 554 greeting (no service) was tried again for every letter: 22 connections, each refused."""
    def refuses(connection: socket.socket, server: Hostile) -> None:
        connection.sendall(greeting.encode() + b"\r\n")

    with hostile(refuses) as server:
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
    assert result.exit_code == 1 and server.connections == 1 and cli_sleeps == []
    assert f"ended the session: {greeting}" in result.stderr
    assert [r["status"] for r in journal(folder)] == [status] + ["not_attempted"] * (EMAIL_LETTERS - 1)


def test_an_endless_ehlo_reply_is_cut_off_and_ends_the_send(folder, cli_sleeps):
    """A reply is capped (lines and bytes): memory stays bounded and `send` stops after one connection."""
    started = time.monotonic()
    with hostile(endless_ehlo) as server:
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
    assert result.exit_code == 1, result.output
    assert time.monotonic() - started < SERVER_SECONDS
    assert server.connections == 1 and server.sent_bytes < 10_000_000  # the client hung up early
    assert "ended the session: the server's reply went beyond 1000 lines" in result.stderr
    assert [r["status"] for r in journal(folder)] == ["disconnected"] + ["not_attempted"] * (EMAIL_LETTERS - 1)


def test_a_password_smtp_cannot_carry_is_a_clear_error_before_connecting(folder):
    """A non-ASCII password was journaled as a permanent address failure for every letter."""
    with hostile(leaves_unanswered(0, "", auth=True)) as server:
        result = cli(folder.parent, "send", folder.name, "--smtp", f"127.0.0.1:{server.port}",
                     "--user", "dunning", "--password-env", "SMTP_PW", env={"SMTP_PW": "Grüße-2026"})
    assert result.returncode == 2, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert "--password-env: the password in that variable holds characters other than ASCII" in line
    assert "Grüße-2026" not in result.stdout + result.stderr
    assert server.connections == 0 and not (folder / "delivery").exists()


def test_a_password_given_instead_of_a_variable_name_is_never_shown(folder):
    result = cli(folder.parent, "send", folder.name, "--smtp", "127.0.0.1:1", "--user", "dunning",
                 "--password-env", "Hunter2-s3cret!")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Hunter2" not in result.stdout + result.stderr
    assert "the environment variable named by --password-env is not set" in result.stderr


# ------------------------------------------- a message taken whole, its answer never heard

def leaves_unanswered(first: int, how: str, drops_at_data: int = 0,
                      auth: bool = False) -> Callable[[socket.socket, Hostile], None]:
    """A server that takes every message whole (kept in `server.messages`) and answers 250,
    except the first `first` messages: after their final dot it hangs up (`how` = "hang_up"),
    says nothing ("silent"), says something that is no SMTP reply ("garbage"), or gives
    another reply ("reply 251 ok"). It hangs up at the first `drops_at_data` DATA commands.
    With `auth` it offers AUTH PLAIN LOGIN and accepts every login."""
    def script(connection: socket.socket, server: Hostile) -> None:
        connection.sendall(b"220 hostile ESMTP\r\n")
        reader = connection.makefile("rb")
        for raw in reader:
            command = raw.decode("ascii", "replace").strip().upper()
            if command.startswith("EHLO"):
                connection.sendall(b"250-hostile\r\n250 AUTH PLAIN LOGIN\r\n" if auth else b"250-hostile\r\n250 8BITMIME\r\n")
            elif command.startswith("AUTH") and auth:
                connection.sendall(b"235 2.7.0 ok\r\n")
            elif command == "DATA":
                server.datas = getattr(server, "datas", 0) + 1
                if server.datas <= drops_at_data:
                    return
                connection.sendall(b"354 go ahead\r\n")
                body = b"".join(iter(lambda: reader.readline(), b".\r\n"))
                server.messages = [*getattr(server, "messages", []), body]
                if len(server.messages) > first:
                    connection.sendall(b"250 2.0.0 queued\r\n")
                elif how == "garbage":
                    connection.sendall(b"thanks\r\n")
                elif how.startswith("reply "):
                    connection.sendall(how.removeprefix("reply ").encode() + b"\r\n")
                elif how == "silent":
                    reader.read()  # until the client hangs up
                    return
                else:
                    return
            elif command.startswith("QUIT"):
                connection.sendall(b"221 bye\r\n")
                return
            else:
                connection.sendall(b"250 ok\r\n")
    return script


def letters_received(server: Hostile) -> list[str]:
    return [letter_of(parse(m)) for m in getattr(server, "messages", [])]


def test_a_message_taken_whole_and_never_answered_is_in_doubt_and_never_sent_twice(folder, cli_sleeps):
    """The server read the first letter to its final dot and hung up: SPEC §10.4 retries a dropped
    connection, and the letter went out 4 times in one send and again in the next (RFC 1047)."""
    letters = sorted(email_letters(folder))
    first, relative = letters[0], folder.name
    with hostile(leaves_unanswered(1, "hang_up")) as server:
        smtp = ("--smtp", f"127.0.0.1:{server.port}")
        sent = cli(folder.parent, "send", relative, *smtp)
        again = cli(folder.parent, "send", relative, *smtp)
        dry = cli(folder, "send", ".", "--dry-run")
        assert letters_received(server) == letters  # each once, the first too
        resent = cli(folder.parent, "send", relative, *smtp, "--resend-in-doubt")
        last = cli(folder.parent, "send", relative, *smtp)
        received = letters_received(server)
    assert sent.returncode == 1 and cli_sleeps == [], sent.stderr  # no retry, no backoff
    [doubt] = [line for line in sent.stderr.splitlines() if "in doubt" in line]
    assert doubt.startswith(f"{first} to ") and ": in doubt: the whole message went out and no answer came (" \
        in doubt and f"from {folder})" in doubt and doubt.endswith("then run send --resend-in-doubt to send it again")
    assert f"sent {EMAIL_LETTERS - 1} of {EMAIL_LETTERS} letter(s) to send" in sent.stdout
    assert sent.stdout.rstrip().endswith("0 not accepted, 1 in doubt")
    records = journal(folder)[:EMAIL_LETTERS]
    assert (records[0]["letter_id"], records[0]["status"], records[0]["attempt"]) == (first, "in_doubt", 1)
    assert records[0]["reply"] == "connection lost: Connection unexpectedly closed"
    assert [r["status"] for r in records[1:]] == ["accepted"] * (EMAIL_LETTERS - 1)
    assert again.returncode == 1 and f"{first} to " in again.stderr and "sent 0 of 0 letter(s)" in again.stdout
    assert dry.returncode == 1 and "dry run: 0 of" in dry.stdout and f"{first} to " in dry.stderr
    assert resent.returncode == 0, resent.stderr
    assert last.returncode == 0 and received == letters + [first]  # sent again only when asked, and once


@pytest.mark.parametrize("how, reply", [("silent", "connection lost: Connection unexpectedly closed: timed out"),
                                        ("garbage", "no final SMTP reply: -1 thanks")])
def test_a_message_answered_with_silence_or_garbage_is_in_doubt(folder, how, reply):
    letters = sorted(email_letters(folder))
    with hostile(leaves_unanswered(1, how)) as server:
        result = send_outbox(folder, SmtpServer("127.0.0.1", server.port, timeout=1), Pacing(sleep=Sleeps()))
        received = letters_received(server)
    assert received == letters
    [doubt] = result.in_doubt
    assert (doubt["letter_id"], doubt["reply"]) == (letters[0], reply)
    assert len(result.outcomes) == EMAIL_LETTERS and result.accepted == EMAIL_LETTERS - 1
    assert not result.not_accepted and not result.ok
    rendered = cli(folder, "render", ".")  # its PDF may be the one that went out: kept
    assert rendered.returncode == 2 and f"records {EMAIL_LETTERS} letters as sent or in doubt" in rendered.stderr


def test_a_letter_whose_session_is_dropped_every_time_does_not_stop_the_others(folder, cli_sleeps):
    """The server hangs up at DATA on every attempt at the first letter (its size, say) and takes
    the next: that letter was not accepted, and the rest are sent. It stopped the whole send as
    "unreachable", though the server took the next connection."""
    letters = sorted(email_letters(folder))
    with hostile(leaves_unanswered(0, "", drops_at_data=4)) as server:  # the first letter's 4 attempts
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")  # in process: the backoff does not wait
        received = letters_received(server)
    assert result.exit_code == 1 and "stopped" not in result.stderr, result.stderr
    assert received == letters[1:] and cli_sleeps == [2.0, 4.0, 8.0]
    [line] = [line for line in result.stderr.splitlines() if line.startswith("not accepted:")]
    assert line.startswith(f"not accepted: {letters[0]} to ") and "disconnected after 4 attempt(s): connection lost" in line
    assert [r["status"] for r in journal(folder)] == ["disconnected"] * 4 + ["accepted"] * (EMAIL_LETTERS - 1)


@pytest.mark.parametrize("reply, status", [("251 2.1.5 ok, forwarded", "accepted"), ("200 ok", "accepted"),
                                           ("354 again?", "in_doubt"), ("550 5.7.1 refused", "permanent")])
def test_the_final_reply_decides_by_its_class(folder, reply, status):
    """Any 2yz after the final dot means the server took the message (RFC 5321 §4.2.1): a 251
    was journaled `permanent`, and the next `send` mailed every letter again. A 3yz is no
    final answer: in doubt."""
    letters = sorted(email_letters(folder))
    with hostile(leaves_unanswered(1, f"reply {reply}")) as server:  # the first message gets it, the others 250
        send_outbox(folder, SmtpServer("127.0.0.1", server.port, timeout=5), Pacing(sleep=Sleeps(), attempts=1))
        again = send_outbox(folder, SmtpServer("127.0.0.1", server.port, timeout=5), Pacing(sleep=Sleeps(), attempts=1))
        received = letters_received(server)
    assert [r["status"] for r in journal(folder)[:EMAIL_LETTERS]] == [status] + ["accepted"] * (EMAIL_LETTERS - 1)
    sent_again = [letters[0]] if status == "permanent" else []  # a rerun tries a refused letter again
    assert received == letters + sent_again and [o.letter_id for o in again.outcomes] == sent_again


def test_a_server_that_leaves_every_message_unanswered_stops_the_send_after_two(folder, cli_sleeps):
    """It swallowed every message: all 22 ended in doubt, one after another, 30 s each."""
    with hostile(leaves_unanswered(EMAIL_LETTERS, "hang_up")) as server:
        result = cli(folder.parent, "send", folder.name, "--smtp", f"127.0.0.1:{server.port}")
        received = letters_received(server)
    assert result.returncode == 1 and len(received) == 2
    assert "left the message unanswered for two letters in a row" in result.stderr
    assert [r["status"] for r in journal(folder)] == ["in_doubt"] * 2 + ["not_attempted"] * (EMAIL_LETTERS - 2)


def test_a_send_killed_while_the_server_holds_the_message_leaves_it_in_doubt_without_a_ledger(folder):
    """Without a ledger the journal said nothing of the attempt, and the next `send` mailed the
    letter again: now its `attempting` line is on disk before the message goes out."""
    letters = sorted(email_letters(folder))
    with hostile(leaves_unanswered(1, "silent")) as server:
        killed = subprocess.Popen([sys.executable, "-c", "from dunning_batch.cli import main; main()", "send",
                                   folder.name, "--smtp", f"127.0.0.1:{server.port}"], cwd=folder.parent,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not getattr(server, "messages", []) and time.monotonic() < deadline:
            time.sleep(0.05)
        killed.kill()
        killed.wait(timeout=30)
        after = cli(folder.parent, "send", folder.name, "--smtp", f"127.0.0.1:{server.port}")
        received = letters_received(server)
    assert after.returncode == 1, after.stderr
    assert received == letters  # the first once: the killed send's
    [line] = [line for line in after.stderr.splitlines() if "in doubt" in line]
    assert line.startswith(f"{letters[0]} to ") and "recorded no answer" in line


def test_a_damaged_journal_stops_send_without_a_ledger_too(folder):
    """The journal is read by the ledger's judgement with or without a ledger: an edited line
    (here an accepted line with text after it) was read as cut short, and its letter sent again."""
    letters = sorted(email_letters(folder))
    (folder / "delivery").mkdir()
    (folder / "delivery" / "sent.jsonl").write_text(json.dumps(
        {"letter_id": letters[0], "message_id": f"<{letters[0]}@example.com>", "status": "accepted", "reply": "250",
         "attempt": 1, "send_id": "s1"}) + " x\n")
    result = cli(folder, "send", ".", "--dry-run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"delivery/sent.jsonl is damaged (line 1 is no JSON object); it records what "
                                     f"`send` delivered: restore it from a backup, or correct that line from the mail "
                                     f"server's log")


@pytest.mark.parametrize("record", ["as written", "deleted", "emptied"])
def test_a_voided_letter_is_never_sent(folder, record):
    """`void` reversed a letter's fee and levels, and `send` still mailed it: the customer got a
    letter the books no longer hold."""
    letters = sorted(email_letters(folder))
    voided = cli(folder.parent, "void", folder.name, letters[1], "--as-of", "2026-11-25")
    assert voided.returncode == 0, voided.stderr
    void_id = json.loads((folder / "voids.jsonl").read_text())["void_id"]
    if record != "as written":  # the void's own void.json still names the letter
        (folder / "voids.jsonl").unlink() if record == "deleted" else (folder / "voids.jsonl").write_text("")
    inbox = Inbox()
    with smtp_server(inbox) as server:
        dry = cli(folder, "send", ".", "--dry-run")
        sent = cli(folder, "send", ".", "--smtp", f"127.0.0.1:{server.port}")
    assert sent.returncode == 0, sent.stderr
    assert sorted(inbox.letters()) == letters[:1] + letters[2:]
    assert f"not sent: {letters[1]} to " in sent.stdout and f": voided by {void_id}" in sent.stdout
    assert sent.stdout.rstrip().endswith("0 not accepted, 1 voided (not sent)")
    assert f"would send {letters[1]} " not in dry.stdout and "1 voided (not sent)" in dry.stdout
