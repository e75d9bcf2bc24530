"""`send`'s part of the ledger: a letter id a server accepted from any folder is never mailed
again, and a letter whose message may have reached the server without `send` hearing the
answer is "in doubt": not mailed again unless asked (send --resend-in-doubt).

Each `send` has a send_id. Before a message goes out, an `attempting` row is committed; after
the server answered, the folder's journal line (fsync'd) and then the outcome row. A `send`
killed between the two leaves an attempting row without its outcome: the letter is in doubt.
The ledger is held only for those moments (opened, one thing done, closed): never across a
talk with the server or a retry's wait, so a nightly run waits for `send` a moment at most.

`fold_folder` adds what a folder's journal and voids.jsonl hold and the ledger lacks: `send`
does it first, and a run does it for each finished folder (and the one --force replaces).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from ..delivery.journal import in_use
from ..errors import UserError
from ..outputs.layout import SEND_JOURNAL
from ..sql_runner import execute, one, records, table_from_file
from .store import Ledger, open_ledger, now_utc
from .voids import fold_voids, folder_of, voided_anywhere

DONE_ELSEWHERE, IN_DOUBT = "done", "in_doubt"  # the states of sql/ledger/send_state.sql
ATTEMPTING = "attempting"
LEGACY_PREFIX = "journal:"  # the send_id of journal lines written before send_id existed


def ledger_for(out: Path, manifest: dict[str, Any], given: str | Path | None) -> Path | None:
    """The ledger a command on folder `out` uses: `given` (--ledger, relative to the working
    directory), else the one its run recorded in run.json; None when the run had none."""
    if given is not None:
        path = folder_of(Path(given))
        if not path.is_file():
            raise UserError(f"--ledger {given}: no ledger at {path}; give the ledger file the runs recorded")
        return path
    entry = manifest.get("ledger")
    if entry is None:  # a run without a ledger, or from before the ledger existed
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
        raise UserError(f"{out / 'run.json'} is damaged (its \"ledger\" is neither null nor an object with a "
                        f"path); give the ledger with --ledger PATH")
    path = Path(entry["path"])
    if not path.is_file():
        raise UserError(f"{out / 'run.json'}: the run recorded its ledger {path}, and there is no such file; "
                        f"give the ledger's path with --ledger PATH (it may have moved)")
    return path


def legacy_send_id(folder: Path) -> str:
    """The send_id of a folder's journal lines written before `send` wrote one: the same for
    every earlier `send` of the folder (their lines are told apart by their time)."""
    return LEGACY_PREFIX + hashlib.sha256(str(folder_of(folder)).encode()).hexdigest()[:16]


def read_journal(con: duckdb.DuckDBPyConnection, folder: Path) -> bool:
    """`folder`'s send journal as the temporary table `journal_lines` of `con`; False when the
    folder has none. A line a crash cut short never counts; a damaged line stops the command
    (exit 2), as does a journal that is no file: `send` reads it, with or without a ledger, and
    the ledger folds it, by this one judgement."""
    path = folder / SEND_JOURNAL
    if not path.exists():
        return False
    if not path.is_file():
        raise UserError(f"{path} is not a file; it records what `send` delivered: restore it from a backup")
    table_from_file(con, "journal_lines", "ledger/send_journal_lines",
                    {"path": str(path.resolve()), "legacy_send_id": legacy_send_id(folder), "now": now_utc()},
                    temp=True)
    damaged = one(con, "ledger/send_journal_damage")
    if damaged is not None:
        line_no, damage = damaged
        where = f"line {line_no} {damage}" if line_no is not None else damage
        raise UserError(f"{path} is damaged ({where}); it records what `send` delivered: restore it from a backup, "
                        f"or correct that line from the mail server's log")
    return True


def fold_journal(ledger: Ledger, folder: Path) -> int:
    """Add the attempts of `folder`'s send journal that the ledger lacks; how many (read_journal)."""
    if not read_journal(ledger.con, folder):
        return 0
    with ledger.transaction() as con:
        [(added,)] = execute(con, "ledger/send_fold_journal", {"folder": str(folder_of(folder))}).fetchall()
    return added


def fold_folder(ledger: Ledger, folder: Path) -> dict[str, int]:
    """Add what `folder`'s journal (delivery/sent.jsonl) and voids.jsonl hold and the ledger
    lacks: {"sends": attempts added, "voids": voided letters added}. Idempotent."""
    folder = Path(folder)
    return {"sends": fold_journal(ledger, folder), "voids": fold_voids(ledger, folder)}


@dataclass
class LedgerState:
    """What the ledger says of an outbox's letters: those a server accepted (letter_id ->
    the folder it was first accepted from), those in doubt (letter_id -> {folder, at, reply},
    reply None for an attempt without its outcome), and those voided."""

    done: dict[str, str] = field(default_factory=dict)
    in_doubt: dict[str, dict[str, Any]] = field(default_factory=dict)
    voided: dict[str, str] = field(default_factory=dict)  # letter_id -> the void that undid it: never sent
    notes: list[str] = field(default_factory=list)


def send_state(con: duckdb.DuckDBPyConnection, letters: list[str], send_id: str,
               folder: str | None = None) -> LedgerState:
    """What the `sends` of `con` (the ledger's, or one folder's journal as journal_sends.sql
    shapes it, whose rows then name no folder: `folder`) say of `letters`."""
    state = LedgerState()
    if not letters:
        return state
    for row in records(con, "ledger/send_state", {"letters": letters, "low": min(letters), "high": max(letters),
                                                   "send_id": send_id}):
        if row["state"] == DONE_ELSEWHERE:
            state.done[row["letter_id"]] = row["folder"] or folder
        else:
            state.in_doubt[row["letter_id"]] = {"folder": row["folder"] or folder, "at": row["sent_at"],
                                                "reply": row["reply"]}
    return state


@dataclass
class SendLedger:
    """One `send`'s use of the ledger at `path` for output folder `out` (as the user named it;
    the ledger records it absolute, as `folder`)."""

    path: Path
    out: Path
    send_id: str
    resend_in_doubt: bool = False
    on_wait: Callable[[str], None] | None = None
    started: dt.datetime = field(default_factory=now_utc)
    run_date: dt.date | None = None  # the folder's night: its letters voided from any folder of it are not sent
    _waited: bool = False
    _heard: list[tuple] = field(default_factory=list)  # answers in the journal, not yet in the ledger

    @property
    def folder(self) -> Path:
        return folder_of(self.out)

    def _open(self, read_only: bool = False):
        return open_ledger(self.path, "send", f"send of {self.folder}", read_only=read_only, on_wait=self._wait)

    def _wait(self, message: str) -> None:
        if self.on_wait is not None and not self._waited:  # said once, not before every letter
            self._waited = True
            self.on_wait(message)

    def start(self, letters: list[str]) -> LedgerState:
        """Fold this folder's journal and voids into the ledger, then what it says of `letters`.
        A letter in doubt from another folder whose journal heard the answer (a `send` killed
        between its journal line and the ledger's row) is settled by folding that journal too."""
        with self._open() as ledger:
            fold_folder(ledger, self.out)
            state = self._state(ledger, letters)
            if self.run_date:  # the voids.jsonl of every folder of the night the ledger knows, folded in first
                voided_anywhere(ledger, self.out, self.run_date)
            state.voided = self._voided(ledger)
            others = sorted({d["folder"] for d in state.in_doubt.values()} - {str(self.folder)})
            for other in others:
                try:
                    fold_journal(ledger, Path(other))
                except UserError as exc:  # the letters stay in doubt; the damage is said
                    state.notes.append(str(exc))
            if others:
                notes, voided, state = state.notes, state.voided, self._state(ledger, letters)
                state.notes, state.voided = notes, voided
            state.notes = ledger.notes + state.notes
        return state

    def peek(self, letters: list[str]) -> LedgerState:
        """What the ledger says of `letters`, read only (send --dry-run writes nothing)."""
        with self._open(read_only=True) as ledger:
            state = self._state(ledger, letters)
            state.voided = self._voided(ledger)
            return state

    @staticmethod
    def _voided(ledger: Ledger) -> dict[str, str]:
        """letter_id -> void_id of every letter the ledger records as voided, from any folder."""
        return {row["letter_id"]: row["void_id"] for row in records(ledger.con, "ledger/void_voided")}

    def _state(self, ledger: Ledger, letters: list[str]) -> LedgerState:
        """What the ledger says of `letters`. --resend-in-doubt resends a letter in doubt since
        before this `send` began, unless the `send` that attempted it still runs (its folder's
        journal is locked): that one is talking to the server, and would deliver it too."""
        state = send_state(ledger.con, letters, self.send_id)
        if self.resend_in_doubt:
            state.in_doubt = {letter_id: word for letter_id, word in state.in_doubt.items()
                              if word["at"] >= self.started
                              or word["folder"] != str(self.folder) and in_use(Path(word["folder"]) / SEND_JOURNAL)}
        return state

    def claim(self, letter: dict[str, Any], attempt: int) -> tuple[str, dict[str, Any]] | None:
        """Just before `attempt` at `letter` goes out: None, with its `attempting` row committed;
        or why it must not go out after all (another `send`, from any folder, got the server to
        accept it, or is in the middle of it), with the ledger's word on it. The answers heard
        since the last claim are committed with it."""
        letter_id = letter["letter_id"]
        with self._open() as ledger, ledger.transaction():
            self._say_heard(ledger)
            state = self._state(ledger, [letter_id])
            if letter_id in state.done:
                return DONE_ELSEWHERE, {"folder": state.done[letter_id]}
            if letter_id in state.in_doubt:
                return IN_DOUBT, state.in_doubt[letter_id]
            self._record(ledger, letter, ATTEMPTING, None, attempt, now_utc())
        return None

    def outcome(self, letter: dict[str, Any], status: str, reply: str, attempt: int) -> None:
        """The server's answer to `attempt`, once the journal has it (fsync'd). It reaches the
        ledger with the next claim or at the end: one opening of the ledger per message, not
        two. Until then the journal holds it, and whoever finds the attempt without its outcome
        folds that journal first (`start`), so a kill in between leaves nothing in doubt."""
        self._heard.append((letter, status, reply, attempt, now_utc()))

    def finish(self) -> None:
        """At the end: the answers not yet in the ledger, and the journal lines no attempt wrote
        there (the letters left when `send` stopped, journaled as not attempted), in one go."""
        with self._open() as ledger:
            with ledger.transaction():
                self._say_heard(ledger)
            fold_journal(ledger, self.out)

    def _say_heard(self, ledger: Ledger) -> None:
        for heard in self._heard:
            self._record(ledger, *heard)
        self._heard.clear()

    def _record(self, ledger: Ledger, letter: dict[str, Any], status: str, reply: str | None, attempt: int,
                at: dt.datetime) -> None:
        execute(ledger.con, "ledger/send_record", {
            "send_id": self.send_id, "letter_id": letter["letter_id"], "message_id": letter["message_id"],
            "folder": str(self.folder), "status": status, "reply": reply, "attempt": attempt, "sent_at": at})
