"""An exclusive lock on an output folder (OUT/.lock), held while a command reads, checks and
changes the folder's own records: `void` (voids.jsonl) and `render` (PDFs, outbox, run.json)."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Iterator

from ..errors import UserError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Hold OUT/.lock; a second command on the same folder waits here until the first is done,
    and then sees what the first wrote (flock: released when the file closes, also on a crash).
    A folder nobody may write to (an archive, read-only) cannot change: it needs no lock."""
    lock = Path(out) / LOCK_FILE
    # what the commands make is a plain file: a link would make one elsewhere, and a named pipe
    # or a folder in its place would wait forever or fail
    if lock.is_symlink() or (lock.exists() and not lock.is_file()):
        raise UserError(f"{lock}: is {'a link' if lock.is_symlink() else 'not a plain file'}, where the commands "
                        f"keep the folder's lock; nothing was done: remove it (no command of this tool made it) "
                        f"and run the command again")
    try:
        handle = lock.open("a")
    except PermissionError:
        handle = None
    with handle if handle is not None else contextlib.nullcontext():
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
