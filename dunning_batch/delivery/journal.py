"""OUT/delivery/sent.jsonl, `send`'s journal: for each attempt at a letter an `attempting`
line just before its message goes out and the outcome after, each on disk (fsync'd) before
the next step, under a lock that keeps a second `send` of the same folder out (and tells
others that this one is at work: in_use). `send` reads it to skip what a server accepted and
hold back what is in doubt; the ledger folds it in (ledger/sends.py)."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError


class Journal:
    """OUT/delivery/sent.jsonl: one JSON line per attempt, on disk before the next attempt.

    Held under an exclusive lock, so two `send`s on one folder cannot both send a letter.
    """

    def __init__(self, path: Path, now: Callable[[], dt.datetime], send_id: str = ""):
        self.path, self.now, self.send_id = path, now, send_id

    def __enter__(self) -> "Journal":
        try:
            self.path.parent.mkdir(exist_ok=True)
            self.handle = self.path.open("a+", encoding="utf-8")
        except OSError as exc:  # a folder the user may read but not write (or a full disk)
            raise UserError(f"{self.path}: cannot open send's journal ({exc.strerror}); nothing was sent: every "
                            f"attempt is recorded there first, so give write access to "
                            f"{self.path.parent.parent} and send again") from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise UserError(f"{self.path}: another `send` is delivering this folder; wait for it to finish") from None
        if self.handle.tell() and not self._ends_with_newline():
            self.handle.write("\n")  # a line cut short by a crash: the next record starts on its own line
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.handle.close()  # closing releases the lock

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def record(self, letter: dict[str, Any], status: str, reply: str, attempt: int) -> None:
        entry = {"letter_id": letter["letter_id"], "message_id": letter["message_id"], "to": letter["to"],
                 "time": self.now().isoformat(timespec="seconds"), "status": status, "reply": reply,
                 "attempt": attempt, "send_id": self.send_id}
        self.handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())


def in_use(path: Path) -> bool:
    """Whether a `send` holds the journal at `path` now (its lock): a letter that `send`
    attempted without an answer yet is in its hands, not in doubt."""
    try:
        handle = path.open("rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
