"""`send` (SPEC §10.4): delivers an output folder's outbox over SMTP, never a letter twice.

Every attempt is appended to `OUT/delivery/sent.jsonl` and forced to disk before the next,
and a letter the journal records as accepted is never sent again: a rerun after a crash,
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
from ..ledger.sends import DONE_ELSEWHERE, IN_DOUBT, LedgerState, SendLedger, ledger_for
from ..ledger.voids import folder_of
from ..sql_runner import one, records
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
    word: dict[str, Any] = field(default_factory=dict)  # the ledger's word when it held the letter back

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
    in_doubt: list[dict[str, Any]] = field(default_factory=list)  # not sent (again): the server may have it
    sent_elsewhere: dict[str, int] = field(default_factory=dict)  # folder -> letters accepted from there
    notes: list[str] = field(default_factory=list)  # what the ledger found on the way, in words

    @property
    def not_accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.accepted]

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
        """Take out of `pending` the letters the ledger says were accepted or are in doubt."""
        self.notes += state.notes
        kept = []
        for letter in self.pending:
            letter_id = letter["letter_id"]
            if letter_id in state.done:
                self.hold(letter, DONE_ELSEWHERE, {"folder": state.done[letter_id]}, out)
            elif letter_id in state.in_doubt:
                self.hold(letter, IN_DOUBT, state.in_doubt[letter_id], out)
            else:
                kept.append(letter)
        self.pending = kept

    def hold(self, letter: dict[str, Any], why: str, word: dict[str, Any], out: Path) -> None:
        """`letter` is not sent (again): accepted already (from `word["folder"]`), or in doubt
        (attempted at `word["at"]` from `word["folder"]`; `word["reply"]` when the server took
        the whole message and never answered)."""
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
    record = SendLedger(book, out, send_id, resend_in_doubt, on_wait) if book else None
    if dry_run:  # writes nothing, not even the journal's folder; reads the ledger only
        outbox, pending, doubts = pending_letters(out, resend_in_doubt)
        result = SendResult(outbox=outbox, already_sent=outbox - len(pending), pending=pending, dry_run=True,
                            ledger=book)
        result.hold_back(doubts, out)
        if record:
            result.hold_back(record.peek([x["letter_id"] for x in pending]), out)
        check_recipients(out, result.pending)
        return result
    with Journal(out / JOURNAL, now, send_id) as journal:
        # read under the journal's lock, so a second `send` cannot pick the same letters
        outbox, pending, doubts = pending_letters(out, resend_in_doubt)
        result = SendResult(outbox=outbox, already_sent=outbox - len(pending), pending=pending, ledger=book)
        result.hold_back(doubts, out)
        if record:
            result.hold_back(record.start([x["letter_id"] for x in pending]), out)
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
            if outcome.status in (DONE_ELSEWHERE, IN_DOUBT):  # another `send` got there first
                result.pending.remove(letter)
                result.hold(letter, outcome.status, outcome.word, out)
            else:
                result.outcomes.append(outcome)
            if on_progress:
                on_progress(1, len(result.pending))
            if connection.closing:
                # 421 or a runaway reply: the server ends the session, and hammering it helps nobody
                result.stopped = f"{server.address} ended the session: {connection.closing}"
            elif outcome.status == DISCONNECTED and not connection.reached:
                # the server stayed away through every retry: the rest would only wait for it too
                result.stopped = f"{server.address} unreachable: {outcome.reply}"
            elif outcome.status == DISCONNECTED and lost_before:
                # one letter the server drops (its size, its content) is that letter's; two in a row, the server's
                result.stopped = f"{server.address} dropped the connection for two letters in a row: {outcome.reply}"
            lost_before = outcome.status == DISCONNECTED
            if result.stopped:
                for rest in result.not_attempted:
                    journal.record(rest, NOT_ATTEMPTED, f"not attempted: {result.stopped}", 0)
                break


def pending_letters(out: Path, resend_in_doubt: bool = False) -> tuple[int, list[dict[str, Any]], LedgerState]:
    """(letters in the outbox, those the journal does not record as accepted, by letter_id, and
    what it says of the ones in doubt, which `send` holds back unless `resend_in_doubt`)."""
    con = connect_views(out)
    [total] = one(con, "delivery/outbox_size")
    done, in_doubt = journal_state(con, (out / JOURNAL).resolve())
    doubts = LedgerState(in_doubt={} if resend_in_doubt else {
        letter_id: {"folder": str(folder_of(out)), **word} for letter_id, word in in_doubt.items()})
    return total, records(con, "delivery/outbox_pending", {"done": done}), doubts


def journal_state(con: duckdb.DuckDBPyConnection, journal: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """What the journal says of the letters earlier `send`s tried: those a server accepted
    (wholly or in part), and those in doubt (letter_id -> {at, reply} of the latest attempt)."""
    if not journal.is_file():
        return [], {}
    rows = records(con, "delivery/journal_state", {"path": str(journal), "done": list(DONE)})
    done = [row["letter_id"] for row in rows if row["state"] == "done"]
    return done, {row["letter_id"]: {"at": row["attempted_at"], "reply": row["reply"]}
                  for row in rows if row["state"] == IN_DOUBT}


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
            return Outcome(letter["letter_id"], letter["to"], held[0], "", attempt - 1, held[1])
        status, reply = transmit(connection, sender, recipients, data)
        journal.record(letter, status, reply, attempt)
        if record:
            record.outcome(letter, status, reply, attempt)
        if status not in (TEMPORARY, DISCONNECTED) or connection.closing:
            break
        if attempt < pacing.attempts:
            pacing.wait_before_retry(attempt)
    word = {"folder": str(folder_of(out)), "at": journal.now(), "reply": reply} if status == IN_DOUBT else {}
    return Outcome(letter["letter_id"], letter["to"], status, reply, attempt, word)


def transmit(connection: "Connection", sender: str, recipients: list[str], data: bytes) -> tuple[str, str]:
    """One attempt: (status, the server's reply). A lost connection is dropped, to reconnect next
    time; lost after the whole message went out, the letter is in doubt."""
    try:
        smtp = connection.get()
        status, reply, code = exchange(smtp, sender, recipients, data)
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


def exchange(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> tuple[str, str, int]:
    """MAIL, RCPT per recipient, DATA: what `sendmail` does, keeping the server's final reply."""
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
    code, text = smtp.data(data)
    if not 200 <= code < 600:  # the message went out, and what came back is no answer
        return IN_DOUBT, f"no SMTP reply: {reply_text(code, text)}", code
    if code != 250:
        return classify(code), reply_text(code, text), code
    if refused:
        return "partial", f"{reply_text(code, text)}; refused {refused_text}", code
    return "accepted", reply_text(code, text), code


def classify(code: int) -> str:
    return TEMPORARY if 400 <= code < 500 else PERMANENT
