"""Getting letters to customers (SPEC §10): channels, the outbox, the print batch and `send`.

`send` is tested against a real SMTP server that each test starts on 127.0.0.1 (aiosmtpd's
Controller on a free port): one that takes everything, one that answers 451 once for a
recipient, one that drops the connection after three messages, one that answers 550.
Waiting (backoff, rate limit) goes through an injected sleep, so no test waits for real.
The demo (fixtures/demo) sends 21 letters by email and 9 to the printer, 3 of them both.
"""

from __future__ import annotations

import contextlib
import csv
import email
import email.policy
import functools
import hashlib
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow.parquet as pq
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner, Result
from pypdf import PdfReader

from conftest import SPEC_CONFIG, Outcome, Scenario, customer, item
from dunning_batch import cli_delivery
from dunning_batch.checks.reconcile import reconcile
from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES, main
from dunning_batch.delivery.send import Pacing, send_outbox
from dunning_batch.delivery.smtp_session import SmtpServer, parse_server
from dunning_batch.errors import ConfigError
from dunning_batch.letters.templating import catalog
from dunning_batch.run import run, validate

ROOT = Path(__file__).resolve().parent.parent
PRINT_ONLY = {"C001", "C003", "C004", "C012", "C027"}  # delivery = print in the demo
BOTH = {"C002", "C022"}  # delivery = both
DROPPED_AFTER = 3
EMAIL_LETTERS, PRINT_LETTERS = 22, 9  # of the demo's 28 letters (C031-C037 of SPEC §9: 5 and 1; C038 of §11: 1 and 0)


# ------------------------------------------------------------------------------ the run

# demo_run (tests/conftest.py): the demo's output folder, shared; tests read it or copy it.

@pytest.fixture
def folder(demo_run: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo's output folder: `send` writes its journal into it."""
    copy = tmp_path / "out"
    shutil.copytree(demo_run, copy)
    return copy


def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    result = duckdb.connect().execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, r)) for r in result.fetchall()]


def email_letters(out: Path) -> dict[str, dict[str, Any]]:
    """What the outbox must hold: letters whose customer's channel includes email, to the
    contact's address where the customer names one (SPEC §11.2: the demo's C038)."""
    found = rows("""SELECT r.letter_id, r.customer_id, coalesce(r.contact_email, r.email) AS email, l.language,
                           l.template
                    FROM read_parquet($r) AS r JOIN read_parquet($l) AS l USING (letter_id)
                    WHERE r.delivery IN ('email', 'both')""",
                 r=str(out / "recipients.parquet"), l=str(out / "letters.parquet"))
    return {r["letter_id"]: r for r in found}


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def letter_of(message: email.message.EmailMessage) -> str:
    return message["Message-ID"].strip("<>").split("@")[0]


def assert_is_the_letter(message: email.message.EmailMessage, letter: dict[str, Any], out: Path) -> None:
    """Right recipient, subject in the customer's language, the letter's PDF attached and readable."""
    assert message["To"] == letter["email"]
    title = catalog(letter["language"])[letter["template"]]["subject"]
    assert message["Subject"] == f"{title} ({letter['letter_id']})"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{letter['letter_id']}.pdf"
    pdf = attachment.get_content()
    assert pdf == (out / "pdf" / f"{letter['letter_id']}.pdf").read_bytes()
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 1 and letter["letter_id"] in pages[0].extract_text()


# --------------------------------------------------------------------- §10.1 channels

def test_channel_defaults_to_email_when_there_is_an_address_else_print(scenario):
    people = [customer("C1", email="a@example.com"), customer("C2"),
              customer("C3", email="c@example.com", delivery="print"),
              customer("C4", email="d@example.com; e@example.com", delivery="BOTH")]
    items = [item(f"INV-{n}", 30, customer_id=f"C{n}") for n in range(1, 5)]
    outcome = scenario.run(items, people)
    found = {r["customer_id"]: r["delivery"] for r in outcome._rows("SELECT * FROM recipients")}
    assert found == {"C1": "email", "C2": "print", "C3": "print", "C4": "both"}


@pytest.mark.parametrize("fields, message", [
    ({"delivery": "fax"}, "a delivery channel"),
    ({"delivery": "email"}, "needs an email address"),
    ({"delivery": "both", "email": "nobody-at-example.com"}, "not a well-formed email address"),
    ({"email": "a@example.com; b@example"}, "not a well-formed email address"),
])
def test_a_bad_channel_is_an_input_error(scenario, fields, message):
    config, items, customers = scenario.files([item("INV-1", 30)], [customer("C1", **fields)])
    problems = validate(config, items, customers)
    column = "delivery" if "channel" in message else "email"
    assert any(p.startswith(f"{customers}:2: {column}: ") and message in p for p in problems), problems


# ------------------------------------------------------------------------ §10.2 outbox

def test_outbox_holds_one_message_per_email_letter_in_its_language(demo_run):
    expected = email_letters(demo_run)
    assert len(expected) == EMAIL_LETTERS
    assert not {r["customer_id"] for r in expected.values()} & PRINT_ONLY
    index = {r["letter_id"]: r for r in rows("SELECT * FROM read_parquet($p)", p=str(demo_run / "outbox.parquet"))}
    assert set(index) == set(expected)
    assert sorted(p.name for p in (demo_run / "outbox").iterdir()) == sorted(f"{i}.eml" for i in expected)
    languages = set()
    for letter_id, letter in expected.items():
        data = (demo_run / index[letter_id]["eml_path"]).read_bytes()
        assert index[letter_id]["sha256"] == hashlib.sha256(data).hexdigest()
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # SMTP line ends throughout
        message = parse(data)
        assert message["From"] == "Example GmbH <ar@example.com>"
        assert message["Date"] == "Tue, 24 Nov 2026 00:00:00 +0000"  # the run date, not the clock
        assert message["Message-ID"] == index[letter_id]["message_id"] == f"<{letter_id}@example.com>"
        assert (message["To"], message["Subject"]) == (index[letter_id]["to"], index[letter_id]["subject"])
        assert_is_the_letter(message, letter, demo_run)
        body = message.get_body(("plain",)).get_content()
        assert letter_id in body and catalog(letter["language"])["common"]["regards"] in body
        languages.add(letter["language"])
    assert languages == {"en", "de", "fr", "pl"}


def test_several_addresses_all_go_into_to(scenario):
    outcome = scenario.run([item("INV-1", 30)], [customer("C1", email="a@example.com;b@example.com")], pdf=True)
    [eml] = (outcome.out / "outbox").iterdir()
    assert parse(eml.read_bytes())["To"] == "a@example.com, b@example.com"


def test_outbox_and_print_batch_are_byte_identical_on_rerun(demo_run, tmp_path):
    again = tmp_path / "again"
    run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, again, rates=DEMO_RATES)
    for name in ["outbox.parquet", "print/print_batch.pdf", "print/print_batch.csv",
                 *(f"outbox/{p.name}" for p in (demo_run / "outbox").iterdir())]:
        assert (again / name).read_bytes() == (demo_run / name).read_bytes(), name
    first, second = (json.loads((f / "run.json").read_text())["outputs"] for f in (demo_run, again))
    assert first == second
    assert {"outbox.parquet", "outbox/", "print/print_batch.pdf", "print/print_batch.csv"} <= set(first)


def test_no_pdf_run_writes_no_delivery_files(scenario):
    outcome = scenario.run([item("INV-1", 30)], [customer("C1", email="a@example.com")])
    assert not (outcome.out / "outbox").exists() and not (outcome.out / "print").exists()


# ------------------------------------------------------------------- §10.3 print batch

def test_print_batch_starts_each_letter_on_an_odd_page_in_postal_order(demo_run):
    expected = rows("""SELECT letter_id FROM read_parquet($p) WHERE delivery IN ('print', 'both')
                       ORDER BY country, postal_code, letter_id""", p=str(demo_run / "recipients.parquet"))
    with (demo_run / "print" / "print_batch.csv").open(newline="", encoding="utf-8") as handle:
        index = list(csv.DictReader(handle))
    assert [r["letter_id"] for r in index] == [r["letter_id"] for r in expected]
    assert len(index) == PRINT_LETTERS
    batch = PdfReader(demo_run / "print" / "print_batch.pdf")
    next_page = 1
    for row in index:
        first, pages = int(row["first_page"]), int(row["pages"])
        assert first == next_page and first % 2 == 1, row
        letter = PdfReader(demo_run / "pdf" / f"{row['letter_id']}.pdf")
        assert pages == len(letter.pages)
        for n in range(pages):  # the letter's own pages, in order, from its first page on
            assert batch.pages[first - 1 + n].extract_text() == letter.pages[n].extract_text()
        if pages % 2:  # the filler page: a blank back, so the next letter starts a new sheet
            assert batch.pages[first - 1 + pages].extract_text().strip() == ""
        next_page = first + pages + pages % 2
    assert len(batch.pages) == next_page - 1
    assert any(int(r["pages"]) % 2 for r in index) and any(int(r["pages"]) % 2 == 0 for r in index)


def print_index(out: Path) -> list[dict[str, Any]]:
    with (out / "print" / "print_batch.csv").open(newline="", encoding="utf-8") as handle:
        return [{"letter_id": r["letter_id"], "first_page": int(r["first_page"]), "pages": int(r["pages"])}
                for r in csv.DictReader(handle)]


def xref_offsets(data: bytes) -> list[int]:
    """The byte offsets the cross-reference table gives for objects 1, 2, ..."""
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    lines = data[start:].split(b"trailer", 1)[0].split(b"\n")
    assert lines[0] == b"xref" and lines[1].split()[0] == b"0"
    return [int(entry[:10]) for entry in lines[3:3 + int(lines[1].split()[1]) - 1]]


def test_print_batch_is_a_well_formed_pdf(demo_run):
    """The batch is written object by object (letters/streamed_pdf.py): its cross-reference
    table must send a reader to each object, and a strict reader must take it without a warning."""
    data = (demo_run / "print" / "print_batch.pdf").read_bytes()
    offsets = xref_offsets(data)
    assert len(offsets) > 2 * PRINT_LETTERS
    assert [n for n, at in enumerate(offsets, 1) if not data[at:].startswith(b"%d 0 obj" % n)] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch = PdfReader(io.BytesIO(data), strict=True)
        assert len(batch.pages) == sum(r["pages"] + r["pages"] % 2 for r in print_index(demo_run))
        assert all(page.extract_text() is not None for page in batch.pages)


PRINT_PEAK = """
import re, sys
from pathlib import Path
from dunning_batch.delivery.print_batch import write_print_batch
write_print_batch(Path(sys.argv[1]))
print(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
"""


def many_print_letters(demo_run: Path, out: Path, count: int) -> Path:
    """A copy of the demo's folder with `count` letters to print: the demo's letters again and
    again under new ids, each with its PDF (a hard link to the original's)."""
    shutil.copytree(demo_run, out)
    con = duckdb.connect()
    con.execute("""CREATE TABLE copies AS
                   SELECT letter_id AS original, letter_id || '-' || lpad(k::VARCHAR, 5, '0') AS copy
                   FROM read_parquet($p), range(($n + 26) // 27) AS t(k) ORDER BY copy LIMIT $n""",
                {"p": str(out / "letters.parquet"), "n": count})
    for name, change in (("letters", "c.copy AS letter_id, 'pdf/' || c.copy || '.pdf' AS pdf_path"),
                         ("recipients", "c.copy AS letter_id, 'print' AS delivery")):
        path = out / f"{name}.parquet"
        con.execute(f"COPY (SELECT x.* REPLACE ({change}) FROM read_parquet($p) AS x "
                    f"JOIN copies AS c ON x.letter_id = c.original) TO '{path}.new' (FORMAT parquet)", {"p": str(path)})
        Path(f"{path}.new").replace(path)
    for original, copy in con.execute("SELECT original, copy FROM copies").fetchall():
        os.link(out / "pdf" / f"{original}.pdf", out / "pdf" / f"{copy}.pdf")
    return out


def print_batch_peak_mib(out: Path) -> float:
    """write_print_batch in a fresh process: its peak RSS (Linux's VmHWM) in MiB."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", PRINT_PEAK, str(out)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1]) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from Linux's /proc")
def test_the_print_batch_of_1000_letters_takes_the_memory_of_100(demo_run, tmp_path):
    peaks = {count: print_batch_peak_mib(many_print_letters(demo_run, tmp_path / str(count), count))
             for count in (100, 1000)}
    # pypdf's PdfWriter held every page until one write at the end: about 170 KiB a letter
    assert peaks[1000] - peaks[100] < 50, peaks
    out = tmp_path / "1000"
    index = print_index(out)
    assert len(index) == 1000
    next_page = 1
    for row in index:
        assert row["first_page"] == next_page and next_page % 2 == 1, row
        next_page += row["pages"] + row["pages"] % 2
    batch = PdfReader(out / "print" / "print_batch.pdf")
    assert len(batch.pages) == next_page - 1
    for row in (index[0], index[-1]):  # the first and the last letter, page by page
        letter = PdfReader(out / "pdf" / f"{row['letter_id']}.pdf")
        assert [batch.pages[row["first_page"] - 1 + n].extract_text() for n in range(row["pages"])] == \
               [page.extract_text() for page in letter.pages]


# ------------------------------------------------------------------- §10.4 send: servers

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts; subclasses refuse or drop."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 2.0.0 Ok: queued"

    def letters(self) -> list[str]:
        return [letter_of(parse(data)) for _, data in self.received]


class RefusesOnce(Inbox):
    """Answers `code` to one recipient, the first `times` times it is named (greylisting: 451)."""

    def __init__(self, address: str, code: str, times: int = 1) -> None:
        super().__init__()
        self.address, self.code, self.times = address, code, times
        self.refused = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.address and self.refused < self.times:
            self.refused += 1
            return self.code
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"


class DropsAfter(Inbox):
    """Closes the connection at the MAIL after `after` messages; `stay_down` keeps doing so."""

    def __init__(self, after: int, stay_down: bool) -> None:
        super().__init__()
        self.after, self.stay_down = after, stay_down
        self.drops = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if len(self.received) >= self.after and (self.stay_down or not self.drops):
            self.drops += 1
            server.transport.close()
            return "421 4.3.2 going down"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"


class OneMessagePerSession(Inbox):
    """Ends each session at the MAIL of its second message, without a reply: as servers that
    close a session after every message, or an idle one, look to the client."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if getattr(session, "carried", False):
            server.transport.close()
            return "421 4.3.2 one message a session"
        self.sessions += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_DATA(self, server, session, envelope):
        session.carried = True
        return await super().handle_DATA(server, session, envelope)


@contextlib.contextmanager
def smtp_server(handler: Inbox, **options: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 for the test's duration; yields where `send` finds it."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, timeout=5)
    finally:
        controller.stop()


class Sleeps(list):
    """An injected sleep: records the seconds asked for and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def journal(out: Path, attempting: bool = False) -> list[dict[str, Any]]:
    """The journal's lines: each attempt's outcome, and with `attempting` also the line each
    attempt writes before its message goes out."""
    lines = [json.loads(line) for line in (out / "delivery" / "sent.jsonl").read_text().splitlines()]
    return [line for line in lines if attempting or line["status"] != "attempting"]


def send_cli(out: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["send", str(out), *args], env=env)


# --------------------------------------------------------------------- §10.4 send: tests

def test_every_email_letter_arrives_once_and_a_rerun_sends_nothing(folder):
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
        assert result.exit_code == 0, result.output
        assert f"sent {EMAIL_LETTERS} of {EMAIL_LETTERS} letter(s) to send" in result.output
        again = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
    assert again.exit_code == 0 and "sent 0 of 0 letter(s) to send" in again.output
    assert f"{EMAIL_LETTERS} accepted earlier" in again.output
    expected = email_letters(folder)
    assert sorted(inbox.letters()) == sorted(expected)  # each once, and nothing for print-only customers
    for recipients, data in inbox.received:
        message = parse(data)
        letter = expected[letter_of(message)]
        assert recipients == [letter["email"]]
        assert_is_the_letter(message, letter, folder)
    records = journal(folder)
    assert [r["status"] for r in records] == ["accepted"] * EMAIL_LETTERS
    assert all(r["reply"].startswith("250 ") and r["time"] for r in records)
    assert all(reconcile(folder)), "send changed the run's outputs (§10.5)"


def test_a_451_for_one_recipient_is_retried_with_backoff(folder):
    letters = email_letters(folder)
    target = min(letters)
    inbox = RefusesOnce(letters[target]["email"], "451 4.7.1 Greylisted, try again later")
    sleeps = Sleeps()
    with smtp_server(inbox) as server:
        result = send_outbox(folder, server, Pacing(sleep=sleeps, backoff=2.0))
    assert result.ok and inbox.refused == 1
    assert sorted(inbox.letters()) == sorted(letters)
    attempts = [(r["status"], r["attempt"]) for r in journal(folder) if r["letter_id"] == target]
    assert attempts == [("temporary", 1), ("accepted", 2)]
    assert sleeps == [2.0]


def test_temporary_failures_back_off_exponentially_then_report(folder):
    letters = email_letters(folder)
    target = min(letters)
    inbox = RefusesOnce(letters[target]["email"], "452 4.2.2 Mailbox full", times=10)
    sleeps = Sleeps()
    with smtp_server(inbox) as server:
        result = send_outbox(folder, server, Pacing(sleep=sleeps, attempts=4, backoff=1.5))
    assert sleeps == [1.5, 3.0, 6.0]
    [failed] = result.not_accepted
    assert (failed.letter_id, failed.status, failed.attempts) == (target, "temporary", 4)
    assert "452 4.2.2 Mailbox full" in failed.reply
    assert len(inbox.received) == EMAIL_LETTERS - 1


def test_a_dropped_connection_is_reopened_and_nothing_is_sent_twice(folder):
    inbox = DropsAfter(DROPPED_AFTER, stay_down=False)
    sleeps = Sleeps()
    with smtp_server(inbox) as server:
        result = send_outbox(folder, server, Pacing(sleep=sleeps))
    assert result.ok and inbox.drops == 1
    assert sorted(inbox.letters()) == sorted(email_letters(folder))
    # the session of the letters before was lost at MAIL: reopened at once, the letter's first attempt
    assert [(r["status"], r["attempt"]) for r in journal(folder)] == [("accepted", 1)] * EMAIL_LETTERS
    assert sleeps == []


def test_a_server_that_ends_each_session_after_one_message_costs_no_backoff(folder):
    inbox = OneMessagePerSession()
    sleeps = Sleeps()
    with smtp_server(inbox) as server:
        result = send_outbox(folder, server, Pacing(sleep=sleeps))
    assert result.ok and inbox.sessions == EMAIL_LETTERS
    delivered = inbox.letters()
    assert sorted(delivered) == sorted(email_letters(folder)) and len(set(delivered)) == len(delivered)
    assert [(r["status"], r["attempt"]) for r in journal(folder)] == [("accepted", 1)] * EMAIL_LETTERS
    assert sleeps == []  # before: one failed attempt and a 2 s backoff for every letter but the first


def test_a_server_that_goes_down_after_three_then_a_rerun_delivers_each_exactly_once(folder):
    inbox = DropsAfter(DROPPED_AFTER, stay_down=True)
    with smtp_server(inbox) as server:
        first = send_outbox(folder, server, Pacing(sleep=Sleeps(), attempts=3))
        # it takes the connection and drops it at MAIL: one letter dropped may be that letter's fault, two are not
        assert not first.ok and first.stopped and "dropped the connection or left the message unanswered for two " \
            "letters in a row" in first.stopped
        assert len(inbox.received) == DROPPED_AFTER
        assert len(first.outcomes) == DROPPED_AFTER + 2 and len(first.not_attempted) == EMAIL_LETTERS - DROPPED_AFTER - 2
        inbox.stay_down, inbox.after = False, 10**6  # the server is back
        second = send_outbox(folder, server, Pacing(sleep=Sleeps()))
    assert second.ok and second.already_sent == DROPPED_AFTER and len(second.outcomes) == EMAIL_LETTERS - DROPPED_AFTER
    delivered = inbox.letters()
    assert sorted(delivered) == sorted(email_letters(folder)) and len(set(delivered)) == len(delivered)


@pytest.fixture(autouse=True)
def cli_sleeps(monkeypatch) -> Sleeps:
    """The CLI's backoff and rate limit, with a sleep that returns at once: no test waits."""
    sleeps = Sleeps()
    monkeypatch.setattr(cli_delivery, "Pacing", functools.partial(Pacing, sleep=sleeps))
    return sleeps


def test_the_cli_names_what_a_dead_server_left_unsent(folder, cli_sleeps):
    sleeps = cli_sleeps
    result = send_cli(folder, "--smtp", f"127.0.0.1:{free_port()}")  # nothing listens there
    assert result.exit_code == 1, result.output
    assert sleeps == [2.0, 4.0, 8.0]  # four attempts at the first letter, then it stops
    assert "unreachable" in result.stderr and "run send again" in result.stderr
    named = [line for line in result.stderr.splitlines() if line.startswith(("not sent:", "not accepted:"))]
    assert len(named) == EMAIL_LETTERS
    assert [r["status"] for r in journal(folder)] == ["disconnected"] * 4 + ["not_attempted"] * (EMAIL_LETTERS - 1)


def test_a_550_is_reported_and_exits_1(folder):
    letters = email_letters(folder)
    addresses = [r["email"] for r in letters.values()]
    target = max(i for i, r in letters.items() if addresses.count(r["email"]) == 1)  # one letter only
    inbox = RefusesOnce(letters[target]["email"], "550 5.1.1 Mailbox unavailable", times=10)
    with smtp_server(inbox) as server:
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
    assert result.exit_code == 1, result.output
    assert f"not accepted: {target} to {letters[target]['email']}: permanent" in result.stderr
    assert "550 5.1.1 Mailbox unavailable" in result.stderr
    assert f"sent {EMAIL_LETTERS - 1} of {EMAIL_LETTERS}" in result.output and inbox.refused == 1  # a 5xx is not retried
    assert [r["status"] for r in journal(folder) if r["letter_id"] == target] == ["permanent"]


def test_a_letter_refused_for_one_of_two_addresses_is_reported_and_never_sent_again(scenario):
    outcome = scenario.run([item("INV-1", 30)], [customer("C1", email="a@example.com; b@example.com")], pdf=True)
    inbox = RefusesOnce("b@example.com", "550 5.1.1 No such user", times=10)
    with smtp_server(inbox) as server:
        first = send_cli(outcome.out, "--smtp", f"127.0.0.1:{server.port}")
        again = send_cli(outcome.out, "--smtp", f"127.0.0.1:{server.port}")
    assert first.exit_code == 1 and "partly refused (not sent again)" in first.stderr
    assert "b@example.com: 550 5.1.1 No such user" in first.stderr
    assert again.exit_code == 0 and "1 accepted earlier" in again.output
    assert [recipients for recipients, _ in inbox.received] == [["a@example.com"]]
    assert [r["status"] for r in journal(outcome.out)] == ["partial"]


def test_login_reads_the_password_from_the_environment_and_never_shows_it(folder):
    password = "s3cret-Pa55word"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"dunning" \
            and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    inbox = Inbox()
    options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    with smtp_server(inbox, **options) as server:
        address = f"127.0.0.1:{server.port}"
        wrong = send_cli(folder, "--smtp", address, "--user", "dunning", "--password-env", "SMTP_PW",
                         env={"SMTP_PW": "not-it"})
        right = send_cli(folder, "--smtp", address, "--user", "dunning", "--password-env", "SMTP_PW",
                         env={"SMTP_PW": password})
    assert wrong.exit_code == 2 and "refused the login of user 'dunning'" in wrong.stderr
    assert right.exit_code == 0, right.output
    assert len(inbox.received) == EMAIL_LETTERS
    for text in (wrong.output, right.output, (folder / "delivery" / "sent.jsonl").read_text()):
        assert password not in text and "not-it" not in text


@pytest.fixture(scope="module")
def certificate() -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, kept in tests/tls/ (its README says
    how it was made), so that no openssl command is needed."""
    folder = Path(__file__).resolve().parent / "tls"
    return folder / "cert.pem", folder / "key.pem"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_starttls_and_ssl_encrypt_the_session(folder, certificate, security):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    options = ({"tls_context": server_context, "require_starttls": True} if security == "starttls"
               else {"ssl_context": server_context})
    inbox = Inbox()
    with smtp_server(inbox, **options) as plain:
        server = SmtpServer(plain.host, plain.port, security, timeout=5,
                            ssl_context=ssl.create_default_context(cafile=str(cert)))
        result = send_outbox(folder, server, Pacing(sleep=Sleeps()))
    assert result.ok and len(inbox.received) == EMAIL_LETTERS


def test_rate_limit_spaces_messages_evenly():
    now = [100.0]
    sleeps = Sleeps()

    def sleep(seconds: float) -> None:
        sleeps(seconds)
        now[0] += seconds

    pacing = Pacing(max_per_minute=30, sleep=sleep, clock=lambda: now[0])
    starts = []
    for _ in range(4):
        pacing.wait_for_slot()
        starts.append(now[0])
        now[0] += 0.5  # sending takes half a second
    assert starts == [100.0, 102.0, 104.0, 106.0] and sleeps == [1.5, 1.5, 1.5]


def test_rate_limit_holds_a_real_send_to_the_pace(folder):
    now = [0.0]
    sleeps = Sleeps()

    def sleep(seconds: float) -> None:  # time passes only while `send` waits
        sleeps(seconds)
        now[0] += seconds

    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = send_outbox(folder, server, Pacing(max_per_minute=60, sleep=sleep, clock=lambda: now[0]))
    assert result.ok and len(inbox.received) == EMAIL_LETTERS and sleeps == [1.0] * (EMAIL_LETTERS - 1)


def test_dry_run_lists_what_would_be_sent_and_writes_nothing(folder):
    result = send_cli(folder, "--dry-run")
    assert result.exit_code == 0, result.output
    assert len([line for line in result.output.splitlines() if line.startswith("would send DL-")]) == EMAIL_LETTERS
    assert f"{EMAIL_LETTERS} of {EMAIL_LETTERS} letter(s) to send" in result.output
    assert not (folder / "delivery").exists()


def test_a_changed_message_is_not_sent(folder):
    eml = sorted((folder / "outbox").iterdir())[0]
    eml.write_bytes(eml.read_bytes().replace(b"Example GmbH", b"Exampel GmbH"))
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = send_cli(folder, "--smtp", f"127.0.0.1:{server.port}")
    assert result.exit_code == 2 and eml.name in result.stderr and "changed since the run" in result.stderr
    assert inbox.received == []


@pytest.mark.parametrize("args, env, message", [
    (["--user", "u"], {}, "--user and --password-env go together"),
    (["--password-env", "PW"], {}, "--user and --password-env go together"),
    (["--user", "u", "--password-env", "NO_SUCH_VARIABLE_SET"], {}, "named by --password-env is not set"),
    (["--starttls", "--ssl"], {}, "exclude each other"),
])
def test_bad_usage_exits_2(folder, args, env, message):
    result = send_cli(folder, "--smtp", "127.0.0.1:1", *args, env=env)
    assert result.exit_code == 2 and message in result.output + result.stderr, result.output
    assert not (folder / "delivery").exists()


def test_send_needs_a_server_and_an_outbox(scenario, folder):
    assert send_cli(folder).exit_code == 2  # no --smtp
    outcome = scenario.run([item("INV-1", 30)], [customer("C1", email="a@example.com")])  # --no-pdf
    result = send_cli(outcome.out, "--smtp", "127.0.0.1:1")
    assert result.exit_code == 2 and "no outbox.parquet" in result.stderr


def test_a_deleted_outbox_is_named_as_missing_not_as_never_written(folder):
    (folder / "outbox.parquet").unlink()
    result = send_cli(folder, "--smtp", "127.0.0.1:1")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"{folder}: outbox.parquet is missing, though run.json records that the run wrote "
                                     f"it; nothing was sent: restore the file from a backup, or run the job again to "
                                     f"rebuild the outbox")


@pytest.mark.parametrize("text, security, expected", [
    ("mail.example.com", "plain", ("mail.example.com", 25)),
    ("mail.example.com", "starttls", ("mail.example.com", 587)),
    ("mail.example.com", "ssl", ("mail.example.com", 465)),
    ("127.0.0.1:2525", "plain", ("127.0.0.1", 2525)),
    ("[::1]:2525", "plain", ("::1", 2525)),
])
def test_parse_server(text, security, expected):
    assert parse_server(text, security) == expected


def test_a_line_cut_short_by_a_crash_does_not_count_as_sent(folder):
    letters = sorted(email_letters(folder))
    delivery = folder / "delivery"
    delivery.mkdir()
    (delivery / "sent.jsonl").write_text(
        json.dumps({"letter_id": letters[0], "message_id": f"<{letters[0]}@example.com>", "status": "accepted",
                    "reply": "250 ok", "attempt": 1, "send_id": "earlier"}) + "\n"
        + '{"letter_id": "' + letters[1] + '", "message_id": "<' + letters[1] + '@example.com>", "status": "accep')
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = send_outbox(folder, server, Pacing(sleep=Sleeps()))
    assert result.ok and result.already_sent == 1 and sorted(inbox.letters()) == letters[1:]
    lines = (delivery / "sent.jsonl").read_text().splitlines()  # the cut line is left as it was
    assert len(lines) == 2 + 2 * (EMAIL_LETTERS - 1)  # an attempting line and an outcome a letter
    assert [json.loads(lines[i])["letter_id"] for i in (2, 3)] == [letters[1]] * 2


# ------------------------------------------------------------------ §10.5 and reconcile

def test_reconcile_checks_the_outbox_and_print_batch(folder):
    assert all(c.ok for c in reconcile(folder))
    eml = sorted((folder / "outbox").iterdir())[0]
    eml.write_bytes(eml.read_bytes() + b"\r\n")
    (folder / "print" / "print_batch.csv").write_text("letter_id,first_page,pages\n")
    [files] = [c for c in reconcile(folder) if c.name == "6 files"]
    assert not files.ok and "outbox/" in files.detail and "print/print_batch.csv changed" in files.detail


# ------------------------------------------- issue 15: addresses that read two ways

# Each passed the old check and then went out as something else: the encoded word decodes to
# a quoted local part whose commas `send` split into three RCPT TO (one evil@attacker.example),
# the comment and the literal were dropped or kept by the header parser; the control
# characters passed the check and crashed the outbox (exit 3, the whole night lost).
HOSTILE_ADDRESSES = {
    "encoded_word": "=?utf-8?q?ap=40x.de=2C_evil=40attacker.example=2C_x?=@x.de",
    "comment": "finance@evil.example(.real.pl)",
    "domain_literal": "info@[127.0.0.1].real.de",
    "vertical_tab": "ap\x0bevil@attacker.example",
    "file_separator": "ap\x1c@x.de",
    "next_line": "ap\x85@x.de",
    "line_separator": "ap@x.de\u2028",
    "idna_maps_sharp_s": "ap@faß.de",  # IDNA 2003 reads fass.de, IDNA 2008 faß.de: two domains
}


class RecordsRecipients(Inbox):
    """Takes every message, and keeps every address any RCPT TO named, accepted or not."""

    def __init__(self) -> None:
        super().__init__()
        self.rcpt: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt.append(address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES.values(), ids=HOSTILE_ADDRESSES.keys())
def test_an_address_delivery_would_read_differently_is_an_input_error_naming_the_row(scenario, address):
    config, items, customers = scenario.files([item("INV-1", 30)], [customer("C1", email=address)])
    problems = validate(config, items, customers)
    assert [p for p in problems if p.startswith(f"{customers}:2: email: ")], problems
    assert all("is not a well-formed email address" in p for p in problems if ": email: " in p), problems


@pytest.fixture(scope="module")
def hostile_night(tmp_path_factory) -> tuple[Outcome, Result, list[str]]:
    """One night of every hostile address at once (customer H<n> on row n + 1 of both files,
    an item each) and one good customer last, run with --no-strict and sent: what each case
    below reads. One run and one send instead of one per address (the suite's time)."""
    names = list(HOSTILE_ADDRESSES)
    people = [customer(f"H{n}", email=HOSTILE_ADDRESSES[name]) for n, name in enumerate(names, 1)]
    people.append(customer("OK", email="ok@example.com"))
    items = [item(f"INV-H{n}", 30, customer_id=f"H{n}") for n in range(1, len(names) + 1)]
    items.append(item("INV-OK", 30, customer_id="OK"))
    outcome = Scenario(tmp_path_factory.mktemp("hostile")).run(items, people, pdf=True, strict=False)
    inbox = RecordsRecipients()
    with smtp_server(inbox) as server:
        result = send_cli(outcome.out, "--smtp", f"127.0.0.1:{server.port}")
    return outcome, result, inbox.rcpt


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES.values(), ids=HOSTILE_ADDRESSES.keys())
def test_a_hostile_address_never_reaches_rcpt_to(hostile_night, address):
    outcome, result, rcpt = hostile_night
    row = list(HOSTILE_ADDRESSES.values()).index(address) + 2   # its customer's row and its item's
    assert rcpt == ["ok@example.com"]
    assert result.exit_code == 0, result.output
    # the customer's row was refused, and its item with it (README "Semantics": --no-strict)
    rejected = {(r["source"], r["row_number"]): r["reason"] for r in outcome.rejected}
    assert ("customers", row) in rejected and ("open_items", row) in rejected, sorted(rejected)
    assert "email: " in rejected[("customers", row)]
    # and nothing else: every hostile customer and its item, the good one decided and sent
    assert sorted(rejected) == sorted((source, n) for source in ("customers", "open_items")
                                      for n in range(2, len(HOSTILE_ADDRESSES) + 2))


def test_send_refuses_an_outbox_whose_to_is_not_plain_addresses(scenario):
    """A folder written before addresses were checked this way: what the old outbox held for the
    encoded word. `send` checks every recipient again and sends nothing."""
    outcome = scenario.run([item("INV-1", 30)], [customer("C1", email="ap@x.de")], pdf=True)
    index = outcome.out / "outbox.parquet"
    table = duckdb.connect().execute(
        """SELECT * REPLACE ('"ap@x.de, evil@attacker.example, x"@x.de' AS "to") FROM read_parquet($p)""",
        {"p": str(index)}).to_arrow_table()
    pq.write_table(table, index)
    # as the old run would have recorded it: the outbox then passes send's check against run.json
    manifest = json.loads((outcome.out / "run.json").read_text(encoding="utf-8"))
    manifest["outputs"]["outbox.parquet"]["sha256"] = hashlib.sha256(index.read_bytes()).hexdigest()
    (outcome.out / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    inbox = RecordsRecipients()
    with smtp_server(inbox) as server:
        result = send_cli(outcome.out, "--smtp", f"127.0.0.1:{server.port}")
    assert result.exit_code == 2, result.output
    [letter] = outcome.letters
    assert letter["letter_id"] in result.stderr and "not plain addresses" in result.stderr
    assert inbox.rcpt == [] and inbox.received == []
    assert not (outcome.out / "delivery" / "sent.jsonl").read_text()


def test_an_internationalised_domain_goes_out_in_its_ascii_form(scenario):
    outcome = scenario.run([item("INV-1", 30)], [customer("C1", email="kunde@müller.de; b@example.com")], pdf=True)
    [eml] = (outcome.out / "outbox").iterdir()
    assert parse(eml.read_bytes())["To"] == "kunde@xn--mller-kva.de, b@example.com"
    inbox = RecordsRecipients()
    with smtp_server(inbox) as server:
        result = send_cli(outcome.out, "--smtp", f"127.0.0.1:{server.port}")
    assert result.exit_code == 0, result.output
    assert inbox.rcpt == ["kunde@xn--mller-kva.de", "b@example.com"]


@pytest.mark.parametrize("address", ["ar@[127.0.0.1]", "ar@example.com(billing)", "Example <ar@example.com>",
                                     "ar\x0b@example.com"])
def test_the_senders_address_is_checked_by_the_same_rule(scenario, address):
    config = SPEC_CONFIG.replace('email = "ar@example.com"', f"email = {json.dumps(address)}")
    paths = scenario.files([item("INV-1", 30)], [customer("C1", email="a@example.com")], config=config)
    with pytest.raises(ConfigError) as error:
        validate(*paths)
    # a control character is refused before the address is parsed, in every [sender] text
    refused = "holds the control character" if "\x0b" in address else "not a plain email address"
    assert "[sender] key 'email'" in str(error.value) and refused in str(error.value)


def test_names_with_line_breaks_and_bidi_marks_go_out_by_email_and_print(scenario):
    """Free text keeps its line breaks and the marks of right-to-left text (sql/00_macros.sql):
    the letters render, the messages are built, nothing crashes."""
    people = [customer("C1", name="Alpha GmbH\r\nBuchhaltung", address="Weg 9\r\n80331 München",
                       email="a@example.com", delivery="both"),
              customer("C2", name="\u202eBeta\u202c Ltd \u05d1\u05d8\u05d0\u200d", email="b@example.com")]
    outcome = scenario.run([item("INV-1", 30), item("INV-2", 30, customer_id="C2")], people, pdf=True)
    messages = {m["To"]: m for m in (parse(p.read_bytes()) for p in (outcome.out / "outbox").iterdir())}
    assert set(messages) == {"a@example.com", "b@example.com"}
    assert "Dear \u202eBeta\u202c Ltd \u05d1\u05d8\u05d0\u200d," in messages["b@example.com"].get_body(("plain",)).get_content()
    assert (outcome.out / "print" / "print_batch.pdf").is_file()


def test_sender_text_with_a_control_character_is_a_config_error(scenario):
    """The sender's name is the From's display name and printed on every letter: refused with a
    control character like the text of the exports."""
    config = SPEC_CONFIG.replace('name = "Example GmbH"', 'name = "Example\\u000bGmbH"')
    paths = scenario.files([item("INV-1", 30)], [customer("C1", email="a@example.com")], config=config)
    with pytest.raises(ConfigError) as error:
        validate(*paths)
    assert "[sender] key 'name': holds the control character '\\x0b'" in str(error.value)


def test_a_long_address_list_is_judged_the_same_by_several_processes(monkeypatch):
    """Above ADDRESSES_PER_PROCESS addresses a process, the list is judged in spawned
    processes: the same verdicts in the same order as one process gives."""
    from dunning_batch import pipeline

    values = ["ap@example.com", "a@b", "Name <x@example.com>", "x@例え.jp", "=?utf-8?q?x?=@example.com",
              "ok.one@example.org; two@example.net", "bad@@example.com"] * 3
    alone = [pipeline.address_list_problem(v) for v in values]
    monkeypatch.setattr(pipeline, "ADDRESSES_PER_PROCESS", 4)
    monkeypatch.setattr(pipeline.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert pipeline.address_list_problems(values) == alone
    assert alone[0] is None and alone[1] is not None  # the list holds good and bad addresses
