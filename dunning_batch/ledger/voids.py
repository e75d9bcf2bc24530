"""`void`'s part of the ledger: the record of voids an output folder keeps (OUT/voids.jsonl),
read strictly, and the ledger's `voids` rows made from it, so that a letter voided from one
folder counts as voided from every folder of its night.

A void writes its files and voids.jsonl first, then the ledger: a void killed in between is
completed by the next command that folds the folder (`fold_voids`), never lost.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from ..errors import UserError
from ..outputs.folder import read_manifest
from ..outputs.layout import VOIDS_FOLDER, VOIDS_RECORD
from ..sql_runner import execute, records, rows
from .store import Ledger, now_utc


def void_entries(out: Path) -> list[dict]:
    """The records of OUT/voids.jsonl; a damaged file is reported, never read past."""
    path = out / VOIDS_RECORD
    if path.is_symlink() or path.exists() and not path.is_file():
        raise UserError(f"{path} is not a file; it records which letters were voided: restore it from a backup or "
                        f"from the void.json files of the voids")
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(read_record(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError) as exc:  # a line cut short or overwritten, an int too long, too deep
            said = exc if isinstance(exc, json.JSONDecodeError) else "a number or nesting beyond any void's record"
            raise UserError(f"{path} is damaged (not valid JSON) at line {number}: {said}; it records which "
                            f"letters were voided: restore it from a backup or from the void.json files "
                            f"of the voids") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("void_id"), str) \
                or not isinstance(entry.get("letters"), list) \
                or not all(isinstance(letter, str) for letter in entry["letters"]) \
                or not _is_date(entry.get("void_date", "2000-01-01")):
            raise UserError(f"{path} is damaged (line {number} is not a void's record with void_id, letters and "
                            f"a void_date YYYY-MM-DD); restore it from a backup or from the void.json files of "
                            f"the voids")
        entries.append(entry)
    return entries


def _is_date(value) -> bool:
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def read_record(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is damaged (not valid JSON): {exc}; it records which letters were voided: "
                        f"restore it from a backup") from None


def record_voids(ledger: Ledger, out: Path, entries: list[dict]) -> int:
    """The ledger's `voids` rows for `entries` (voids.jsonl records) made from folder `out`,
    those it lacks, in one transaction; how many were added."""
    if not entries:
        return 0
    # a void made before voids.jsonl recorded its day (void --as-of): the day of the run it undid
    undated = read_manifest(out)["as_of"] if any("void_date" not in entry for entry in entries) else None
    pairs = [(entry["void_id"], letter, entry.get("void_date", undated))
             for entry in entries for letter in entry["letters"]]
    if not pairs:
        return 0
    void_ids, letter_ids, void_dates = (list(column) for column in zip(*pairs))
    with ledger.transaction() as con:
        [(added,)] = execute(con, "ledger/void_record", {
            "void_ids": void_ids, "letter_ids": letter_ids, "void_dates": void_dates,
            "folder": str(folder_of(out)), "recorded_at": now_utc()}).fetchall()
    return added


def voided_letters(out: Path) -> dict[str, str]:
    """letter_id -> void_id of every letter voided from `out`: the records of voids.jsonl, and
    the void.json of each void under OUT/voids/, which stay when voids.jsonl was deleted,
    emptied or edited (`send` never mails a letter either names)."""
    voided = {letter: entry["void_id"] for entry in void_entries(out) for letter in entry["letters"]}
    for record in sorted((out / VOIDS_FOLDER).glob("*/void.json")):
        try:
            head = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UserError(f"{record} is damaged ({type(exc).__name__}); it records which letters that void undid: "
                            f"restore it from a backup") from None
        letters = head.get("letters") if isinstance(head, dict) else None
        if not isinstance(letters, list) or not all(isinstance(letter, str) for letter in letters):
            raise UserError(f"{record} is damaged (no list of letters); it records which letters that void undid: "
                            f"restore it from a backup")
        voided.update({letter: str(head.get("void_id")) for letter in letters if letter not in voided})
    return voided


def fold_voids(ledger: Ledger, out: Path) -> int:
    """Add the voids of OUT/voids.jsonl the ledger lacks (a void killed before it reached the
    ledger, or made before the folder had one); how many letters' voids were added."""
    return record_voids(ledger, out, void_entries(out))


def voided_anywhere(ledger: Ledger, out: Path, run_date: dt.date) -> dict[str, dict]:
    """letter_id -> {void_id, folder}: every letter the ledger records as voided, after folding
    the voids.jsonl of `out` and of the other folders of its night the ledger knows."""
    fold_voids(ledger, out)
    for (folder,) in rows(ledger.con, "ledger/void_night_folders", {"run_date": run_date,
                                                                    "folder": str(folder_of(out))}):
        if Path(folder).is_dir():
            fold_voids(ledger, Path(folder))
    return {row["letter_id"]: row for row in records(ledger.con, "ledger/void_voided")}


def folder_of(out: Path) -> Path:
    """The folder as the ledger names it: absolute (the runs' folders are recorded so)."""
    return Path(os.path.abspath(out))
