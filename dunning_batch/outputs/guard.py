"""Which `--out` a run may write, and which existing folder `--force` may replace (SPEC §5).

A run deletes only what a run created: `--force` replaces a folder only when it is the
finished output folder of an earlier run (a valid run.json) holding nothing but the files
a run writes, never a folder holding the run's own inputs or config, nor `/`, a home
folder, the current folder or one of its parents. A folder whose letters were sent
(`delivery/sent.jsonl`) or voided (`voids.jsonl`, `voids/`) keeps the record that stops
`send` from mailing them again, so replacing it also needs `--force-sent`.

It also turns what the operating system says when the folder cannot be written (disk
full, read-only, no permission, a mount point) into one sentence (exit 2).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pwd
from pathlib import Path
from typing import Iterable, Iterator

import duckdb

from ..delivery.outbox import OUTBOX_DIR, OUTBOX_FILE
from ..delivery.print_batch import BATCH_CSV, BATCH_PDF
from ..errors import StageError, UserError
from ..ledger.store import LOCK_SUFFIX as LEDGER_LOCK_SUFFIX, is_duckdb_file
from .layout import CONFIG_FILES, OUTPUT_FILES, SEND_JOURNAL, VOIDS_FOLDER, VOIDS_RECORD
from .lock import LOCK_FILE
from .writer import check_name_length

# The files a run writes at the top of its folder, and its folders with the files they may hold.
RUN_FILES = frozenset({f.name for f in OUTPUT_FILES + CONFIG_FILES} | {"run.json", "views.sql", "summary.html", OUTBOX_FILE})
RUN_FOLDERS = {"pdf": lambda name: name.endswith(".pdf"),
               OUTBOX_DIR: lambda name: name.endswith(".eml"),
               str(Path(BATCH_PDF).parent): lambda name: name in {Path(BATCH_PDF).name, Path(BATCH_CSV).name}}
RUN_JSON_KEYS = ("version", "as_of", "outputs")


def check_result_file(to: Path) -> None:
    """Refuse a `--to` (query, history) whose folder does not exist or that would write over a
    record: a file inside any run's output folder (a folder holding a run.json, at any depth),
    a DuckDB database (a ledger), or a ledger's lock or log. Each command refuses its own
    folder or ledger first, in its words."""
    if not to.parent.is_dir():
        raise UserError(f"{to}: the folder {to.parent} does not exist")
    where = to.resolve()
    for folder in where.parents:
        if (folder / "run.json").is_file():
            raise UserError(f"{to}: inside {folder}, the output folder of a run, which is its record; "
                            f"--to writes a file elsewhere")
    database = where.with_name(where.name.removesuffix(LEDGER_LOCK_SUFFIX).removesuffix(".wal"))
    if is_duckdb_file(where) or (database != where and is_duckdb_file(database)):
        raise UserError(f"{to}: a DuckDB database (a ledger?), or its lock or log; --to never writes over "
                        f"one: choose another file")


def check_out(out: Path, force: bool, force_sent: bool = False, protected: Iterable[Path] = ()) -> None:
    """Refuse an `--out` the run may not write or replace; `protected` are the run's inputs and config.

    Called before any work is done and again just before the finished folder is renamed into place.
    """
    _check_place(out)
    if not out.exists() and not out.is_symlink():
        return
    if not force:
        raise UserError(f"{out}: the output folder exists; choose another --out or pass --force to replace it")
    if out.is_symlink() or not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder (a file or a symbolic link); --force replaces only "
                        f"the output folder of an earlier run: choose another --out")
    here = out.resolve()
    for path in protected:
        if _is_within(Path(path).resolve(), here):
            raise UserError(f"{out}: holds {path}, which this run reads; --force never replaces a folder "
                            f"holding the run's inputs or config: choose another --out")
    if not _finished_run(out):
        raise UserError(f"{out}: not the output folder of a finished run (no valid run.json), and --force "
                        f"replaces only such a folder: choose another --out or empty it yourself")
    stranger = _first_foreign_entry(out)
    if stranger is not None:
        raise UserError(f"{out}: holds {stranger}, which no run writes, and --force deletes only what a run "
                        f"wrote: move it away or choose another --out")
    sent = [name for name in (str(SEND_JOURNAL), VOIDS_RECORD, VOIDS_FOLDER) if (out / name).exists()]
    if sent and not force_sent:
        raise UserError(f"{out}: letters of this folder were sent or voided ({', '.join(sent)}), and replacing it "
                        f"loses that record so that `send` would mail every letter again: pass --force-sent to "
                        f"replace it anyway, or choose another --out")


def _check_place(out: Path) -> None:
    """Never the root, a home folder, the current folder or one of its parents, nor a mount point."""
    check_name_length(out)
    here = out.resolve()
    cwd = Path.cwd().resolve()
    if here == Path(here.anchor):
        what = "the root folder"
    elif here in _home_folders():
        what = "a home folder"
    elif _is_within(cwd, here):
        what = "the current folder" if here == cwd else "a parent of the current folder"
    elif os.path.ismount(here):
        raise UserError(f"{out}: is a mount point, which a run cannot replace (it renames its finished folder "
                        f"into place): give a new folder inside it, e.g. {out / 'run'}")
    else:
        return
    raise UserError(f"{out}: is {what}; a run writes a folder of its own: give a new folder such as out/2026-11-24")


def _home_folders() -> set[Path]:
    homes = {Path.home().resolve()}
    with contextlib.suppress(OSError):
        homes |= {Path(entry.pw_dir).resolve() for entry in pwd.getpwall() if entry.pw_dir not in ("", "/")}
    return homes


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _finished_run(out: Path) -> bool:
    """A run.json that parses and has the keys every run writes: the mark of a finished run."""
    try:
        manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(manifest, dict) and all(k in manifest for k in RUN_JSON_KEYS) \
        and isinstance(manifest["outputs"], dict)


def _first_foreign_entry(out: Path) -> str | None:
    """The first entry (sorted) that neither a run nor `send`/`void` writes, as a path inside `out`."""
    for entry in sorted(out.iterdir()):
        name = entry.name
        if entry.is_symlink():
            return name
        if entry.is_file() and (name in RUN_FILES or name in (VOIDS_RECORD, LOCK_FILE)):
            continue
        if entry.is_dir() and name in RUN_FOLDERS:
            inside = next((f"{name}/{p.name}" for p in sorted(entry.iterdir())
                           if p.is_symlink() or not p.is_file() or not RUN_FOLDERS[name](p.name)), None)
            if inside is None:
                continue
            return inside
        if entry.is_dir() and name == SEND_JOURNAL.parent.name:
            inside = next((f"{name}/{p.name}" for p in sorted(entry.iterdir())
                           if p.is_symlink() or p.name != SEND_JOURNAL.name or not p.is_file()), None)
            if inside is None:
                continue
            return inside
        if entry.is_dir() and name == VOIDS_FOLDER:
            inside = _first_foreign_void(entry)
            if inside is None:
                continue
            return inside
        return name + ("/" if entry.is_dir() else "")
    return None


def _first_foreign_void(voids: Path) -> str | None:
    """voids/ holds one folder per void (void.json and its files), as `void` writes them."""
    for folder in sorted(voids.iterdir()):
        where = f"{voids.name}/{folder.name}"
        if folder.is_symlink() or not folder.is_dir() or not (folder / "void.json").is_file():
            return where
        stray = next((p.name for p in sorted(folder.iterdir()) if p.is_symlink() or not p.is_file()), None)
        if stray is not None:
            return f"{where}/{stray}"
    return None


# errno -> (what happened, what to do), when the output folder cannot be written
WRITE_ERRORS = {
    errno.ENOSPC: ("no space left on the device", "free some space"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space"),
    errno.EROFS: ("the file system is read-only", "choose an --out on a writable disk"),
    errno.EACCES: ("permission denied", "choose an --out you may write to"),
    errno.EPERM: ("permission denied", "choose an --out you may write to"),
    errno.EBUSY: ("it is busy or a mount point, so a finished folder cannot be renamed onto it",
                  "give a new folder inside it"),
    errno.EXDEV: ("it is on another device than its parent, so a finished folder cannot be renamed onto it",
                  "give a new folder inside it"),
}
# DuckDB's COPY reports the operating system's error as text only
DUCKDB_WRITE_ERRORS = {"No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT,
                       "Read-only file system": errno.EROFS, "Permission denied": errno.EACCES}


@contextlib.contextmanager
def write_errors(out: Path) -> Iterator[None]:
    """One sentence (exit 2) instead of a traceback when the output folder cannot be written.

    Used outside the atomic folder, so the half-written temporary folder is gone by then.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        raise UserError(_sentence(out, exc.errno, exc.filename)) from None
    except (duckdb.IOException, StageError) as exc:
        # sql_runner names the file of sql/ whose statement failed, chained from DuckDB's error
        cause = exc if isinstance(exc, duckdb.IOException) else exc.__cause__
        code = next((code for text, code in DUCKDB_WRITE_ERRORS.items() if text in str(cause)), None)
        if not isinstance(cause, duckdb.IOException) or code is None:
            raise
        raise UserError(_sentence(out, code, None)) from None


def _sentence(out: Path, code: int, filename: str | None) -> str:
    what, fix = WRITE_ERRORS[code]
    where = f" ({filename})" if filename else ""
    return f"{out}: cannot write the output folder: {what}{where}; nothing was written: {fix} and run again"
