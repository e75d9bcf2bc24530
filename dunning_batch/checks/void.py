"""`void`: undoes letters sent by mistake: a levels file restoring each item's level and
last-dunned date from before the letter, a reversal per fee document, and a record of the void.
With the money rules of SPEC §9 the compensation and interest documents are reversed too, and
the levels file restores compensation_charged and interest_paid_to.

The run's own files are never changed; voids are recorded in OUT/voids.jsonl so that a
letter cannot be voided twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import UserError
from ..outputs import CSV_TYPES, OUTPUT_FILES, AtomicFolder, csv_cells, write_json
from ..pipeline import SQL_DIR
from .folder import open_folder

VOID_SQL = SQL_DIR / "void"
RECORD = "voids.jsonl"


def void_letters(out: Path, letter_ids: list[str], target: Path | None = None) -> dict:
    """Write the void's files into `target` (default OUT/voids/VOID_ID) and record it."""
    con, manifest = open_folder(out)
    letters = sorted(set(letter_ids))
    known = {row[0] for row in con.execute(
        "SELECT letter_id FROM letters WHERE list_contains($letters, letter_id)", {"letters": letters}).fetchall()}
    unknown = [x for x in letters if x not in known]
    if unknown:
        raise UserError(f"{out}: no letter {unknown[0]!r} in letters.parquet"
                        + (f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""))
    already = _voided(out)
    twice = [x for x in letters if x in already]
    if twice:
        raise UserError(f"{out}: letter {twice[0]} was already voided by {already[twice[0]]}; "
                        f"a letter is voided once")
    void_id = f"VOID-{manifest['as_of'].replace('-', '')}-{hashlib.sha256('|'.join(letters).encode()).hexdigest()[:10]}"
    target = Path(target) if target else out / "voids" / void_id
    counts = {}
    _empty_money_documents(con, out)
    restored = _present_columns(con, "levels_update", ("compensation_charged", "interest_paid_to"))
    with AtomicFolder(target, force=False) as folder:
        for name, files in (("levels_restore", ("levels_restore.csv", "levels_restore.parquet")),
                            ("fee_reversals", ("fee_reversals.csv",))):
            sql = (VOID_SQL / f"{name}.sql").read_text(encoding="utf-8")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", {"letters": letters})
            counts[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            # the §9 state columns only where the run's levels file has them
            absent = [c for c in ("compensation_charged", "interest_paid_to") if c not in restored]
            columns = f"* EXCLUDE ({', '.join(absent)})" if name == "levels_restore" and absent else "*"
            for file in files:
                csv = file.endswith(".csv")
                fmt = "(FORMAT csv, HEADER true)" if csv else "(FORMAT parquet)"
                select = csv_cells(con, columns, name) if csv else columns  # no cell a spreadsheet runs
                con.execute(f"COPY (SELECT {select} FROM {name}) TO $path {fmt}", {"path": str(folder.path / file)})
        record = {"void_id": void_id, "run_folder": str(out), "run_date": manifest["as_of"],
                  "letters": letters, "levels_restored": counts["levels_restore"],
                  "fee_reversals": counts["fee_reversals"]}
        write_json(folder.path / "void.json", record)
        folder.commit()
    with (out / RECORD).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"void_id": void_id, "letters": letters, "folder": str(target)}) + "\n")
    return record | {"folder": str(target)}


def _empty_money_documents(con, out: Path) -> None:
    """Empty views for the document files of SPEC §9 a run without those rules does not write."""
    for f in OUTPUT_FILES:
        if f.rule is not None and f.relation in ("compensation_documents", "interest_documents") \
                and not (out / f.name).is_file():
            columns = ", ".join(f"NULL::{kind} AS {column}" for column, kind in CSV_TYPES[f.relation].items())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {f.relation} AS SELECT {columns} WHERE false")


def _present_columns(con, relation: str, columns: tuple[str, ...]) -> set[str]:
    names = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    return {c for c in columns if c in names}


def _voided(out: Path) -> dict[str, str]:
    """letter_id -> the void that undid it, from OUT/voids.jsonl."""
    path = out / RECORD
    if not path.is_file():
        return {}
    voided = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            voided.update({letter: entry["void_id"] for letter in entry["letters"]})
    return voided
