"""The ledger file (README "Running every night"): opening it safely, one command at a time.

The ledger is a DuckDB database file. Every command that reads or writes it first takes an
exclusive lock on `LEDGER.lock` beside it and writes there who holds it. A `run` holds the
lock from before it reads the ledger until its folder is recorded, so two runs on one ledger
never decide from the same state: the second exits 2 naming the first. `send`, `void` and
`history` hold it for a moment at a time; whoever meets them waits.

Opening also finishes what a killed run left: a run recorded as `pending` whose folder is in
place with the run.json it recorded is adopted (its letters count), one whose folder never
appeared is dropped (it wrote nothing anyone could have sent; its rows stay, marked
`dropped`, and count nowhere).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import functools
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb

from ..digest import sha256_of
from ..errors import UserError
from ..processes import pid_alive
from ..sql_runner import connect, connect_file, execute, records, rows, script

FORMAT = "dunning_batch ledger"
SCHEMA_VERSION = "1"
LOCK_SUFFIX = ".lock"
# Who may hold the lock for long: a second command of this kind stops instead of waiting.
LONG_HOLDERS = ("run",)
# How long a run waits for a lock held in the name of a process that is gone (_released_by_the_dead)
DEAD_HOLDER_SECONDS = 5


@dataclass
class Ledger:
    """An open ledger: its path, the connection, and what opening it found (adopted or
    dropped runs, in words for run.json and the summary)."""

    path: Path
    con: duckdb.DuckDBPyConnection
    notes: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: the statements of the block are committed together, or none is."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")


def ledger_path(path: str | Path) -> Path:
    """The ledger's absolute path (run.json records it, so `send` finds it from anywhere)."""
    return Path(os.path.abspath(path))


class NotALedger(UserError):
    """The file at a ledger's path is some other database: refused, with nothing left beside it."""


@contextlib.contextmanager
def hold(path: Path, command: str, what: str, *,
         on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold LEDGER.lock for the block. A run meeting another run stops (exit 2); anyone else
    waits for the holder, saying once whom it waits for."""
    lock = path.with_name(path.name + LOCK_SUFFIX)
    made = not lock.exists()
    try:
        handle = lock.open("a+", encoding="utf-8")
    except OSError as exc:
        if exc.errno == errno.EROFS and path.is_file():
            # a ledger on a read-only file system (a mounted backup) cannot change: nothing to lock
            yield
            return
        raise UserError(f"{path}: cannot use the ledger here ({exc.strerror}: {lock}); give a --ledger in a "
                        f"folder you may write to") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(lock)
            if command in LONG_HOLDERS and holder.get("command") in LONG_HOLDERS:
                if not _released_by_the_dead(handle, holder):
                    raise UserError(f"{path}: the ledger is in use by another run (pid {holder.get('pid')}: "
                                    f"{holder.get('what')}); two runs on one ledger would decide from the same "
                                    f"state: wait for it to finish and run again") from None
            else:
                if on_wait is not None:
                    on_wait(f"waiting for the ledger {path}, in use by {holder.get('command', 'another command')} "
                            f"(pid {holder.get('pid')}) ...")
                fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": command, "what": what}))
        handle.flush()
        try:
            yield  # closing the handle releases the lock, also when the process is killed
        except NotALedger:
            if made:  # leave nothing beside a database that is not ours
                lock.unlink(missing_ok=True)
            raise


def _released_by_the_dead(handle: Any, holder: dict) -> bool:
    """Whether the lock, held in the name of a process that no longer exists, comes free within
    DEAD_HOLDER_SECONDS (then this process holds it). A killed run is reaped before a child it
    was starting has finished dying with a copy of its descriptors: the lock outlives it by a
    moment, and a run started again at once should not be told the ledger is in use."""
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0 or pid_alive(pid):
        return False
    deadline = time.monotonic() + DEAD_HOLDER_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.01)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            continue
    return False


def _holder(lock: Path) -> dict:
    """Who holds the lock, as it wrote itself into the lock file (best effort: may be empty)."""
    try:
        holder = json.loads(lock.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError, RecursionError):
        return {}
    return holder if isinstance(holder, dict) else {}


@contextlib.contextmanager
def opened(path: Path, *, create: bool = False, read_only: bool = False) -> Iterator[Ledger]:
    """The ledger at `path` (the caller holds its lock), made when `create` and absent.

    A file that is not a ledger of this project, or of a newer schema, is refused (exit 2):
    a ledger is never written over another database."""
    _check_path(path, create)
    try:
        con = connect_file(path, read_only=read_only and path.exists())
    except duckdb.Error as exc:
        if "Could not set lock" in str(exc):  # another program holds the database itself (not our .lock)
            held = re.search(r"PID (\d+)", str(exc))
            raise UserError(f"{path}: the ledger is open in another program{f' (PID {held[1]})' if held else ''}; "
                            f"wait for it to close the ledger, then run again") from None
        raise NotALedger(f"{path}: not a ledger this tool can open ({_first_line(exc)}); give the ledger file "
                         f"the runs recorded, or a new path") from None
    try:
        _check_format(path, con, create and not read_only)
        ledger = Ledger(path, con)
        if not read_only:
            ledger.notes = _finish_pending(ledger)
        yield ledger
    finally:
        con.close()


@contextlib.contextmanager
def open_ledger(path: str | Path, command: str, what: str, *, create: bool = False, read_only: bool = False,
                on_wait: Callable[[str], None] | None = None) -> Iterator[Ledger]:
    """Hold the ledger's lock and open it: the way every command but `run` uses the ledger."""
    path = ledger_path(path)
    _check_path(path, create)  # a folder's run.json may name any path: no lock file beside a non-ledger
    with hold(path, command, what, on_wait=on_wait), opened(path, create=create, read_only=read_only) as ledger:
        yield ledger


def _check_path(path: Path, create: bool) -> None:
    """Refuse, before any lock file is made beside it, a path that is no ledger to open."""
    for part in (path, path.with_name(path.name + ".wal")):  # DuckDB would wait forever on a named pipe
        if part.exists() and not part.is_file():
            raise NotALedger(f"{part}: not a plain file (a folder, a named pipe or a device); a ledger and its "
                             f"log are files DuckDB writes: give the ledger file the runs recorded (--ledger PATH)")
    if path.exists() and not create and not is_duckdb_file(path):
        # DuckDB would make a database of an empty file: a command that only uses a ledger
        # (send, void, history: its path may come from a folder's run.json) never does
        raise UserError(f"{path}: not a ledger (not a DuckDB database file); give the ledger file the runs "
                        f"recorded (--ledger PATH)")
    if not path.exists():
        if not create:
            raise UserError(f"{path}: no ledger there; give the ledger the runs recorded (--ledger PATH, "
                            f"or [run] ledger in the config)")
        if not path.parent.is_dir():
            raise UserError(f"{path}: the folder {path.parent} does not exist; create it or give another "
                            f"--ledger")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def is_duckdb_file(path: Path) -> bool:
    """Whether `path` starts like a DuckDB database file (its magic bytes "DUCK" at offset 8);
    never opens anything but a plain file (a named pipe would wait for a writer forever)."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def _check_format(path: Path, con: duckdb.DuckDBPyConnection, make: bool) -> None:
    tables = {row["table_name"] for row in records(con, "ledger/tables")}
    if not tables and make:  # a new ledger: its tables and mark together, or nothing
        con.execute("BEGIN TRANSACTION")
        script(con, "ledger/schema")
        execute(con, "ledger/mark", {"format": FORMAT, "version": SCHEMA_VERSION})
        con.execute("COMMIT")
        return
    info = {row["key"]: row["value"] for row in records(con, "ledger/info")} if "ledger_info" in tables else {}
    if info.get("format") != FORMAT:
        raise NotALedger(f"{path}: a DuckDB database but not a dunning_batch ledger (it has no ledger_info "
                         f"table naming the format); give the ledger file the runs recorded, or a new path")
    if info.get("schema_version") != SCHEMA_VERSION:
        raise UserError(f"{path}: a ledger of schema version {info.get('schema_version')!r}, and this version "
                        f"of dunning_batch reads version {SCHEMA_VERSION}; use the dunning_batch that wrote it")
    if altered := _altered(con):
        raise UserError(f"{path}: a ledger of schema version {SCHEMA_VERSION} whose tables were altered "
                        f"({altered}); restore the ledger from a backup")


@functools.cache
def _schema_columns() -> tuple[dict[str, Any], ...]:
    """ledger/columns over ledger/schema.sql made in memory, once a process: `send` opens the
    ledger twice a letter."""
    made = connect()
    script(made, "ledger/schema")
    return tuple(records(made, "ledger/columns"))


def _altered(con: duckdb.DuckDBPyConnection) -> str | None:
    """The first column of ledger/schema.sql that the ledger on `con` lacks or holds in another
    type, worded; None when it has them all as that schema makes them."""
    have = {(r["table_name"], r["column_name"]): r["data_type"] for r in records(con, "ledger/columns")}
    for row in _schema_columns():
        column = f"{row['table_name']}.{row['column_name']}"
        found = have.get((row["table_name"], row["column_name"]))
        if found != row["data_type"]:
            return f"{column} is missing" if found is None else f"{column} is {found}, not {row['data_type']}"
    return None


def _finish_pending(ledger: Ledger) -> list[str]:
    """Adopt or drop the runs a killed run left pending; what was done, in words."""
    notes = []
    for run in records(ledger.con, "ledger/pending_runs"):
        folder = Path(run["folder"])
        in_place = (folder / "run.json").is_file() and sha256_of(folder / "run.json") == run["run_json_sha256"]
        with ledger.transaction() as con:
            if in_place:
                execute(con, "ledger/finish_run", {"run_id": run["run_id"]})
            else:
                execute(con, "ledger/drop_run", {"run_id": run["run_id"]})
        notes.append(f"the run of {run['run_date']} into {folder} was killed before the ledger recorded it; "
                     + ("its folder is in place, so its letters were adopted" if in_place
                        else "its folder never appeared, so it was dropped"))
    return notes


def now_utc() -> dt.datetime:
    """The wall clock in UTC, without zone (DuckDB TIMESTAMP): when the ledger learnt of an event."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def first(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None):
    """The single value of `sql/<name>.sql`'s first row, None when it has none."""
    found = rows(con, name, params)  # fetches all: leaves no open result on the connection
    return found[0][0] if found else None
