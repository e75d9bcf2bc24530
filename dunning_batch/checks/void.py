"""`void`: undoes letters sent by mistake: a levels file restoring each item's level and
last-dunned date from before the letter, a reversal per fee document dated the day of the
void, the customer actions (credit hold, payment term) to undo, and a record of the void.
With the money rules of SPEC §9 the compensation and interest documents are reversed too, and
the levels file restores compensation_charged and interest_paid_to.

The run's own files are never changed; voids are recorded in OUT/voids.jsonl so that a
letter cannot be voided twice. The whole read-check-write-record holds OUT's folder lock, so
two voids at once cannot both reverse one letter. With a ledger (--ledger, or the one run.json
names) it holds the ledger's lock too, a letter voided from another folder of the night counts
as voided, and the void is recorded in the ledger after voids.jsonl (ledger/voids.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..ledger.sends import ledger_for
from ..ledger.store import open_ledger
from ..ledger.voids import read_record, record_voids, void_entries, voided_anywhere
from ..manifest import check_as_written
from ..outputs.lock import folder_lock
from ..outputs import AtomicFolder, csv_cells, write_json, write_text_atomic
from ..outputs.folder import connect_views, file_columns, read_manifest
from ..outputs.levels_file import LevelsFileLayout, write_levels_file
from ..outputs.layout import VOIDS_FOLDER, VOIDS_RECORD
from ..sql_runner import all_columns_but, copy_relation, records, rows, table_from_file

RECORD = VOIDS_RECORD
# the files of a void: relation (sql/void/NAME.sql) -> the files it is written to
VOID_FILES = {
    "levels_restore": ("levels_restore.csv", "levels_restore.parquet"),
    "fee_reversals": ("fee_reversals.csv",),
    "customer_actions_restore": ("customer_actions_restore.csv",),
}
# with SPEC §9.5 (the run wrote payments_charged.csv): the payments whose interest comes back
PAYMENT_FILES = {"payments_restore": ("payments_restore.csv",)}


def void_letters(out: Path, letter_ids: list[str], target: Path | None = None, *, as_of: dt.date,
                 ledger: str | Path | None = None, on_wait: Callable[[str], None] | None = None) -> dict:
    """Write the void's files into `target` (default OUT/voids/VOID_ID) and record it.

    `as_of` is the day of the void: the date of every reversal document (not the run date).
    `ledger` (--ledger) names the ledger; by default the one run.json names, if any.
    """
    out = Path(out)
    manifest = read_manifest(out)
    check_as_written(out, manifest, "nothing was voided")  # its reversals are made from the run's files
    con = connect_views(out, locked=False)  # it writes the void's files
    letters = sorted(set(letter_ids))
    known = {row[0] for row in rows(con, "void/known_letters", {"letters": letters})}
    unknown = [x for x in letters if x not in known]
    if unknown:
        raise UserError(f"{out}: no letter {unknown[0]!r} in letters.parquet"
                        + (f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""))
    run_date = dt.date.fromisoformat(manifest["as_of"])
    if as_of < run_date:
        raise UserError(f"--as-of {as_of}: before the run date {run_date} of {out}; a letter is voided on or "
                        f"after the day it went out")
    void_id = f"VOID-{manifest['as_of'].replace('-', '')}-{hashlib.sha256('|'.join(letters).encode()).hexdigest()[:10]}"
    target = Path(target) if target else out / VOIDS_FOLDER / void_id
    _check_target(out, target)
    book = ledger_for(out, manifest, ledger)
    # the ledger's lock first, then the folder's (never the other way round: a run holding the
    # ledger may wait for nothing a void holds); one void at a time across the night's folders
    with (open_ledger(book, "void", f"void of {out}", on_wait=on_wait) if book else contextlib.nullcontext()) \
            as opened, folder_lock(out):  # from reading voids.jsonl to recording this void
        already = _voided(out)
        elsewhere = voided_anywhere(opened, out, run_date) if opened else {}
        twice = [x for x in letters if x in already or x in elsewhere]
        if twice:
            by = already.get(twice[0]) or f"{elsewhere[twice[0]]['void_id']} from {elsewhere[twice[0]]['folder']}"
            raise UserError(f"{out}: letter {twice[0]} was already voided by {by}; a letter is voided once")
        params = {"letters": letters, "voided_before": sorted(set(already) | set(elsewhere)), "void_date": as_of}
        head = {"void_id": void_id, "run_folder": str(out.resolve()), "run_date": manifest["as_of"],
                "void_date": as_of.isoformat(), "letters": letters}
        record = _write_void(con, out, target, params, head)
        entry = {"void_id": void_id, "letters": letters, "void_date": as_of.isoformat(),
                 "folder": _recorded_folder(out, target)}
        try:
            _record(out, entry)
        except BaseException:  # not recorded, so not done: no reversal files may stay behind
            shutil.rmtree(target, ignore_errors=True)
            raise
        if opened:  # done; a kill before this line is made good by the next fold of voids.jsonl
            record_voids(opened, out, [entry])
    return record | {"folder": str(target)}


def _check_target(out: Path, target: Path) -> None:
    """The void's folder goes into OUT/voids/ (a plain folder, not a link to one elsewhere) or
    outside every run's folder: in OUT's pdf/ or outbox/ the next `render` would replace it, and
    in another run's folder it would be taken for that run's."""
    voids = out / VOIDS_FOLDER
    if voids.is_symlink() or (voids.exists() and not voids.is_dir()):
        raise UserError(f"{voids}: is {'a link' if voids.is_symlink() else 'not a folder'}, where the voids of "
                        f"{out} are kept; nothing was voided: move it away and void again")
    where = target.resolve()
    if where.is_relative_to(out.resolve()):
        if not where.is_relative_to(voids.resolve()) or where == voids.resolve():
            raise UserError(f"{target}: inside {out} but not in its {VOIDS_FOLDER}/; nothing was voided: leave out "
                            f"--out (the void goes into {voids}) or choose a folder outside {out}")
        return
    for folder in (where, *where.parents):
        if (folder / "run.json").is_file():
            raise UserError(f"{target}: inside {folder}, the output folder of a run; nothing was voided: choose a "
                            f"folder outside every run's folder")


def _write_void(con, out: Path, target: Path, params: dict, head: dict) -> dict:
    """The void's files and void.json (`head` and what was written), into `target` atomically;
    returns void.json."""
    restored = set(file_columns(out, "levels_update")) & {"compensation_charged", "interest_paid_to"}
    charged_payments = (out / "payments_charged.csv").is_file()
    layout = LevelsFileLayout.from_record(read_manifest(out).get("levels_file"))
    counts = {}
    with AtomicFolder(target, force=None) as folder:
        for name, files in (VOID_FILES | (PAYMENT_FILES if charged_payments else {})).items():
            counts[name] = table_from_file(con, name, f"void/{name}", params, temp=True)
            # the §9 state columns only where the run's levels file has them
            absent = [c for c in ("compensation_charged", "interest_paid_to") if c not in restored]
            columns = all_columns_but(absent if name == "levels_restore" else ())
            for file in files:
                csv = file.endswith(".csv")
                if csv and name == "levels_restore" and layout is not None:  # as the run's levels file
                    write_levels_file(con, name, columns, folder.path / file, layout)
                    continue
                select = csv_cells(con, columns, name) if csv else columns  # no cell a spreadsheet runs
                copy_relation(con, name, folder.path / file, "csv" if csv else "parquet", select)
        record = head | {"levels_restored": counts["levels_restore"], "fee_reversals": counts["fee_reversals"],
                         "customer_actions_restored": records(con, "void/actions_restored")}
        if charged_payments:
            record["payments_restored"] = counts["payments_restore"]
        write_json(folder.path / "void.json", record)
        folder.commit()
    return record


def _recorded_folder(out: Path, target: Path) -> str:
    """Where a void's files are, as voids.jsonl records it: relative to OUT when inside it (the
    default, OUT/voids/VOID_ID), else absolute; never relative to where `void` was run."""
    if out.resolve() in target.resolve().parents:
        return target.resolve().relative_to(out.resolve()).as_posix()
    return str(target.resolve())


def _voided(out: Path) -> dict[str, str]:
    """letter_id -> the void that undid it, from OUT/voids.jsonl."""
    voided = {}
    for entry in void_entries(out):
        voided.update({letter: entry["void_id"] for letter in entry["letters"]})
    return voided


def _record(out: Path, entry: dict) -> None:
    """Add a line to OUT/voids.jsonl by replacing the file whole (its lines as they were, and
    the new one): a crash leaves the old file or the new one, never a half-written line."""
    path = out / RECORD
    before = read_record(path) if path.is_file() else ""
    if before and not before.endswith("\n"):
        before += "\n"
    write_text_atomic(path, before + json.dumps(entry) + "\n")
