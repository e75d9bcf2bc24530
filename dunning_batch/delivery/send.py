"""`send` (SPEC §10.4): delivers an output folder's outbox over SMTP, never a letter twice.

Every attempt is appended to `OUT/delivery/sent.jsonl` (an `attempting` line before the
message goes out, the outcome after) and forced to disk before the next step, and a letter
the journal records as accepted is never sent again: a rerun after a crash,
a dropped connection or a refused batch sends exactly the rest. Temporary failures (4xx
replies, lost connections) are retried with exponential backoff; permanent ones (5xx) are
reported. A message handed over whole (its final dot sent) whose answer never came is in
doubt, not retried: the server may deliver it (RFC 1047), so it is named, and no later `send`
mails it again before send --resend-in-doubt. A server that closes the session (421) or
sends a reply beyond any reasonable size stops `send` at once, as does one that cannot be
reached through every retry, or drops the session for two letters in a row; the letters left
are journaled as not attempted. Before connecting, the outbox and its addresses are checked
(outbox_checks.py): `send` mails only what the run wrote, to plain addresses. The waiting is
injectable (`Pacing.sleep`, `Pacing.clock`) so tests do not wait.
With a ledger (--ledger, or the one run.json names) a letter accepted from any folder is not
sent again, and one an earlier `send` from any folder may have handed over without hearing the
answer is in doubt: named, not sent, exit 1, until send --resend-in-doubt (ledger/sends.py).
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from ..outputs.folder import connect_views, open_folder
from ..outputs.layout import SEND_JOURNAL
from ..errors import UserError
from ..ledger.sends import (ATTEMPTING, DONE_ELSEWHERE, IN_DOUBT, LedgerState, SendLedger, ledger_for, read_journal,
                            send_state)
from ..ledger.voids import folder_of, voided_letters
from ..sql_runner import one, records, table_from_file
from .journal import Journal
from .outbox_checks import addresses_of, check_outbox, check_recipients, check_unchanged, checked_sender
from .smtp_session import Connection, ReplyTooLong, SmtpServer, reply_text

JOURNAL = SEND_JOURNAL
# statuses in the journal: the first two end a letter for good (a partly refused letter is
# not re-sent, or the recipients who took it would get it twice)
DONE = ("accepted", "partial")
TEMPORARY, PERMANENT, DISCONNECTED = "temporary", "permanent", "disconnected"
# IN_DOUBT: the whole message went out and no answer came; neither retried nor sent again
# until asked (send --resend-in-doubt): the same word as the ledger's state of such a letter
NOT_ATTEMPTED = "not_attempted"  # journaled for the letters left when `send` stops


@dataclass
class Pacing:
    """The rate limit and the retry schedule: `attempts` tries per letter, waiting
    `backoff`, 2 x `backoff`, 4 x `backoff`, ... seconds between them."""

    max_per_minute: int | None = None
    attempts: int = 4
    backoff: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _next_slot: float | None = None

    def wait_for_slot(self) -> None:
        """Space messages evenly so that no minute holds more than `max_per_minute`."""
        if not self.max_per_minute:
            return
        now = self.clock()
        if self._next_slot is not None and now < self._next_slot:
            self.sleep(self._next_slot - now)
            now = self._next_slot
        self._next_slot = now + 60.0 / self.max_per_minute

    def wait_before_retry(self, attempt: int) -> None:
        self.sleep(self.backoff * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Outcome:
    """How one letter ended in this `send`: its last attempt's status and the server's reply."""

    letter_id: str
    to: str
    status: str
    reply: str
    attempts: int
    word: dict[str, Any] = field(default_factory=dict)  # the ledger's word, or the in-doubt attempt's
    held: bool = False  # not attempted: the ledger held it back (DONE_ELSEWHERE, IN_DOUBT)

    @property
    def accepted(self) -> bool:
        return self.status in DONE


@dataclass
class SendResult:
    outbox: int  # letters in the outbox
    already_sent: int  # accepted by an earlier `send`, skipped
    pending: list[dict[str, Any]]  # the letters this `send` was to deliver
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why the rest was not attempted (the server went away)
    dry_run: bool = False
    ledger: Path | None = None  # the ledger consulted, if any
    in_doubt: list[dict[str, Any]] = field(default_factory=list)  # held back, or left so now: the server may have it
    voided: list[dict[str, Any]] = field(default_factory=list)  # voided (voids.jsonl, the ledger): never sent
    sent_elsewhere: dict[str, int] = field(default_factory=dict)  # folder -> letters accepted from there
    notes: list[str] = field(default_factory=list)  # what the ledger found on the way, in words

    @property
    def not_accepted(self) -> list[Outcome]:
        """Refused, or failed: the next `send` tries them again (a letter in doubt it does not)."""
        return [o for o in self.outcomes if not o.accepted and o.status != IN_DOUBT]

    @property
    def accepted(self) -> int:
        return sum(o.accepted for o in self.outcomes)

    @property
    def not_attempted(self) -> list[dict[str, Any]]:
        return self.pending[len(self.outcomes):] if not self.dry_run else []

    @property
    def partly_refused(self) -> list[Outcome]:
        """Accepted for some addresses, refused for others: not re-sent, but to be looked at."""
        return [o for o in self.outcomes if o.status == "partial"]

    @property
    def ok(self) -> bool:
        return not self.not_accepted and not self.not_attempted and not self.partly_refused and not self.in_doubt

    def hold_back(self, state: LedgerState, out: Path) -> None:
        """Take out of `pending` the letters the ledger (or the journal) says were accepted or are in doubt."""
        self.notes += state.notes
        kept = []
        for letter in self.pending:
            letter_id = letter["letter_id"]
            if letter_id in state.voided:
                self.voided.append(letter | {"void_id": state.voided[letter_id]})
            elif letter_id in state.done:
                self.hold(letter, DONE_ELSEWHERE, {"folder": state.done[letter_id]}, out)
            elif letter_id in state.in_doubt:
                self.hold(letter, IN_DOUBT, state.in_doubt[letter_id], out)
            else:
                kept.append(letter)
        self.pending = kept

    def hold(self, letter: dict[str, Any], why: str, word: dict[str, Any], out: Path) -> None:
        """`letter` is not sent (again): accepted already (from `word["folder"]`), or in doubt
        (attempted at `word["at"]` from `word["folder"]`; `word["reply"]` when the whole message
        went out and no answer came, None when the attempt has no outcome)."""
        if why == IN_DOUBT:
            self.in_doubt.append(letter | word)
            return
        self.already_sent += 1
        if word["folder"] != os.path.abspath(out):
            self.sent_elsewhere[word["folder"]] = self.sent_elsewhere.get(word["folder"], 0) + 1


def send_outbox(out: str | Path, server: SmtpServer | None, pacing: Pacing | None = None, *,
                dry_run: bool = False, on_progress: Callable[[int, int], None] | None = None,
                now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                ledger: str | Path | None = None, resend_in_doubt: bool = False,
                on_wait: Callable[[str], None] | None = None) -> SendResult:
    """Deliver every letter of `out`'s outbox that no earlier `send` got accepted (from this
    folder, or from any folder the ledger knows) and that is not in doubt."""
    out = Path(out)
    _, manifest = open_folder(out)
    check_outbox(out, manifest)  # before anything is listed or sent: the outbox is the run's own
    send_id = uuid.uuid4().hex
    book = ledger_for(out, manifest, ledger)
    record = SendLedger(book, out, send_id, resend_in_doubt, on_wait,
                        run_date=dt.date.fromisoformat(manifest["as_of"])) if book else None
    if dry_run:  # writes nothing, not even the journal's folder; reads the ledger only
        outbox, pending, journaled = pending_letters(out, send_id, resend_in_doubt)
        result = SendResult(outbox=outbox, already_sent=outbox - len(pending), pending=pending, dry_run=True,
                            ledger=book)
        if record:  # first: a letter in doubt here that a server accepted from another folder is done
            result.hold_back(record.peek([x["letter_id"] for x in pending]), out)
        result.hold_back(journaled, out)
        check_recipients(out, result.pending)
        return result
    with Journal(out / JOURNAL, now, send_id) as journal:
        # read under the journal's lock, so a second `send` cannot pick the same letters
        outbox, pending, journaled = pending_letters(out, send_id, resend_in_doubt)
        result = SendResult(outbox=outbox, already_sent=outbox - len(pending), pending=pending, ledger=book)
        if record:
            result.hold_back(record.start([x["letter_id"] for x in pending]), out)
        result.hold_back(journaled, out)
        if not result.pending:
            return result
        check_unchanged(out, result.pending)
        check_recipients(out, result.pending)
        sender = checked_sender(out, manifest["sender"].get("email") or "")
        pacing = pacing or Pacing()
        try:
            deliver_all(result, server, sender, out, journal, pacing, record, on_progress)
        finally:
            if record:  # the answers not yet in the ledger; the journal has them in any case
                record.finish()
    return result


def deliver_all(result: SendResult, server: SmtpServer, sender: str, out: Path, journal: "Journal", pacing: Pacing,
                record: SendLedger | None, on_progress: Callable[[int, int], None] | None) -> None:
    """Deliver `result.pending` one by one over one connection, until the server goes away."""
    lost_before = False  # whether the letter before ended with the connection lost
    with Connection(server) as connection:
        for letter in list(result.pending):
            outcome = deliver(connection, sender, letter, out, journal, pacing, record)
            if outcome.held:  # another `send` got there first
                result.pending.remove(letter)
                result.hold(letter, outcome.status, outcome.word, out)
            else:
                result.outcomes.append(outcome)
                if outcome.status == IN_DOUBT:
                    result.in_doubt.append(letter | outcome.word)
            if on_progress:
                on_progress(1, len(result.pending))
            if connection.closing:
                # 421 or a runaway reply: the server ends the session, and hammering it helps nobody
                result.stopped = f"{server.address} ended the session: {connection.closing}"
            elif outcome.status == DISCONNECTED and not connection.reached:
                # the server stayed away through every retry: the rest would only wait for it too
                result.stopped = f"{server.address} unreachable: {outcome.reply}"
            elif outcome.status in (DISCONNECTED, IN_DOUBT) and lost_before:
                # one letter the server drops or leaves unanswered is that letter's; two in a row, the server's
                result.stopped = (f"{server.address} dropped the connection or left the message unanswered for two "
                                  f"letters in a row: {outcome.reply}")
            lost_before = outcome.status in (DISCONNECTED, IN_DOUBT)
            if result.stopped:
                for rest in result.not_attempted:
                    journal.record(rest, NOT_ATTEMPTED, f"not attempted: {result.stopped}", 0)
                break


def pending_letters(out: Path, send_id: str, resend_in_doubt: bool) -> tuple[int, list[dict[str, Any]], LedgerState]:
    """(letters in the outbox, those the journal does not record as accepted, by letter_id, and
    what the journal says of them: `send` holds back the ones in doubt, unless `resend_in_doubt`;
    under the journal's lock no other `send` of the folder is at work on them)."""
    con = connect_views(out)
    [total] = one(con, "delivery/outbox_size")
    journaled = journal_state(con, out, send_id)
    if resend_in_doubt:
        journaled.in_doubt = {}
    journaled.voided = voided_letters(out)
    return total, records(con, "delivery/outbox_pending", {"done": list(journaled.done)}), journaled


def journal_state(con: duckdb.DuckDBPyConnection, out: Path, send_id: str = "") -> LedgerState:
    """What `out`'s send journal says of the letters earlier `send`s tried: those a server
    accepted (wholly or in part), and those in doubt; by the ledger's own rule
    (ledger/send_state.sql), over the journal as the ledger reads it (read_journal)."""
    if not read_journal(con, out):
        return LedgerState()
    table_from_file(con, "sends", "delivery/journal_sends", temp=True)
    [letters] = one(con, "delivery/journal_letters")
    return send_state(con, letters or [], send_id, str(folder_of(out)))


def deliver(connection: "Connection", sender: str, letter: dict[str, Any], out: Path, journal: "Journal",
            pacing: Pacing, record: SendLedger | None = None) -> Outcome:
    """Send one letter, retrying temporary failures; every attempt goes into the journal, and
    with a ledger into the ledger too: before it goes out, and once the server answered."""
    recipients = addresses_of(letter["to"])  # check_recipients passed them; checked again right here
    data = (out / letter["eml_path"]).read_bytes()
    for attempt in range(1, pacing.attempts + 1):
        pacing.wait_for_slot()
        held = record.claim(letter, attempt) if record else None
        if held:
            return Outcome(letter["letter_id"], letter["to"], held[0], "", attempt - 1, held[1], held=True)
        try:  # the journal's `attempting` line is on disk before the message goes out, once the server took MAIL
            status, reply = transmit(connection, sender, recipients, data,
                                     lambda: journal.record(letter, ATTEMPTING, None, attempt))
        except UserError as exc:  # the login or STARTTLS refused: nothing went out, and nothing is in doubt
            journal.record(letter, NOT_ATTEMPTED, f"not attempted: {exc}", attempt)
            if record:
                record.outcome(letter, NOT_ATTEMPTED, f"not attempted: {exc}", attempt)
            raise
        journal.record(letter, status, reply, attempt)
        if record:
            record.outcome(letter, status, reply, attempt)
        if status not in (TEMPORARY, DISCONNECTED) or connection.closing:
            break
        if attempt < pacing.attempts:
            pacing.wait_before_retry(attempt)
    word = {"folder": str(folder_of(out)), "at": journal.now(), "reply": reply} if status == IN_DOUBT else {}
    return Outcome(letter["letter_id"], letter["to"], status, reply, attempt, word)


def transmit(connection: "Connection", sender: str, recipients: list[str], data: bytes,
             before_data: Callable[[], None], reopened: bool = False) -> tuple[str, str]:
    """One attempt: (status, the server's reply). A lost connection is dropped, to reconnect next
    time; lost after the whole message went out, the letter is in doubt. A session kept from
    the letter before and found closed before DATA is reopened at once, once: servers end idle
    or used sessions (some after every message), nothing of this letter went out, and waiting
    a backoff for it cost every letter two seconds."""
    began_data = []

    def before() -> None:
        began_data.append(True)
        before_data()

    try:
        smtp = connection.get()
        status, reply, code = exchange(smtp, sender, recipients, data, before)
    except smtplib.SMTPConnectError as exc:  # the greeting refused the session (RFC 5321 §3.1): not per letter
        connection.drop()
        connection.closing = reply_text(exc.smtp_code, exc.smtp_error)
        return classify(exc.smtp_code), connection.closing
    except smtplib.SMTPResponseException as exc:  # DATA refused before the message (SMTPDataError)
        status, reply, code = classify(exc.smtp_code), reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code
    except ReplyTooLong as exc:  # a broken or hostile server: end the session, send nothing more
        unanswered = connection.message_out
        connection.drop()
        connection.closing = str(exc)
        return IN_DOUBT if unanswered else DISCONNECTED, f"connection ended: {exc}"
    except (smtplib.SMTPServerDisconnected, OSError) as exc:  # also smtplib's other errors and TLS errors
        unanswered = connection.message_out
        connection.drop()
        if connection.reused and not began_data and not reopened:
            return transmit(connection, sender, recipients, data, before_data, reopened=True)
        return IN_DOUBT if unanswered else DISCONNECTED, f"connection lost: {exc or type(exc).__name__}"
    except UnicodeEncodeError:
        connection.reset()
        return PERMANENT, "an address is not ASCII and the message is sent without SMTPUTF8"
    if code == 421:  # the server is closing the connection (RFC 5321 §3.8): stop, do not come back
        connection.drop()
        connection.closing = reply
    elif status not in DONE:
        connection.reset()
    return status, reply


def exchange(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes,
             before_data: Callable[[], None]) -> tuple[str, str, int]:
    """MAIL, RCPT per recipient, DATA: what `sendmail` does, keeping the server's final reply;
    `before_data` just before the message may go out."""
    smtp.ehlo_or_helo_if_needed()
    code, text = smtp.mail(sender)
    if code != 250:
        return classify(code), reply_text(code, text), code
    replies = {r: smtp.rcpt(r) for r in recipients}
    refused = {r: reply for r, reply in replies.items() if reply[0] not in (250, 251)}
    refused_text = "; ".join(f"{r}: {reply_text(*reply)}" for r, reply in refused.items())
    if len(refused) == len(recipients):
        worst = max(code for code, _ in refused.values())
        return classify(worst), refused_text, worst
    before_data()
    code, text = smtp.data(data)
    if not 200 <= code < 300 and not 400 <= code < 600:  # the message went out, and no final answer came back
        return IN_DOUBT, f"no final SMTP reply: {reply_text(code, text)}", code
    if not 200 <= code < 300:  # any 2yz: the server took it (RFC 5321 §4.2.1)
        return classify(code), reply_text(code, text), code
    if refused:
        return "partial", f"{reply_text(code, text)}; refused {refused_text}", code
    return "accepted", reply_text(code, text), code


def classify(code: int) -> str:
    return TEMPORARY if 400 <= code < 500 else PERMANENT
