"""Writing an output folder (SPEC §5): into a hidden folder beside DIR, renamed into place only
when complete; the data files, and run.json."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ..errors import UserError
from ..processes import pid_alive
from ..sql_runner import connect, copy_select, guarded_text_cells
from .layout import FORMULA_STARTS, OutputFile, output_files
from .levels_file import write_levels_file


def check_target(out: Path, force: bool | None) -> None:
    """Refuse an existing output folder unless --force (None: the command has no --force, as
    void and render): found before any work is done."""
    if out.exists() and not force:
        offer = " or pass --force to replace it" if force is not None else ""
        raise UserError(f"{out}: the output folder exists; choose another --out{offer}")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; choose another --out")


# A folder is written beside its place under a hidden name, `.NAME.partial-PID` (a PID has up
# to 7 digits): a NAME the file system takes may still make that one too long (255 bytes).
NAME_MAX = 255
HIDDEN_EXTRA = len(".") + len(".partial-4194304")


def check_name_length(target: Path) -> None:
    """Refuse a folder name too long for the hidden name it is written under (else exit 3)."""
    if len(target.name.encode()) + HIDDEN_EXTRA > NAME_MAX:
        raise UserError(f"{target}: a name of {len(target.name.encode())} bytes, and the folder is written beside "
                        f"it under a hidden name {HIDDEN_EXTRA} bytes longer, more than the {NAME_MAX} a file "
                        f"system allows; nothing was written: choose a name of at most {NAME_MAX - HIDDEN_EXTRA} bytes")


class AtomicFolder:
    """A temporary folder beside `target` that becomes `target` only on `commit()`.

    A failed run removes it; a killed run leaves a hidden `.NAME.partial-PID` that the next
    run into the same place removes, so no half-written DIR is ever visible.
    """

    def __init__(self, target: Path, force: bool | None):
        check_name_length(target)
        self.target, self.force = target, force
        self.path = target.parent / f".{target.name}.partial-{os.getpid()}"

    def __enter__(self) -> "AtomicFolder":
        self.target.parent.mkdir(parents=True, exist_ok=True)
        for kind in ("partial", "spill"):  # left by a killed run (spill: DuckDB's temp files)
            for stale in self.target.parent.glob(f".{self.target.name}.{kind}-*"):
                if not pid_alive(stale.name.rsplit("-", 1)[-1]):
                    shutil.rmtree(stale, ignore_errors=True)
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir()
        return self

    def commit(self) -> None:
        check_target(self.target, self.force)
        old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
        if self.target.exists():
            self.target.rename(old)
        self.path.rename(self.target)
        shutil.rmtree(old, ignore_errors=True)

    def __exit__(self, *exc_info: Any) -> None:
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)


def write_data_files(con: duckdb.DuckDBPyConnection, folder: Path,
                     files: tuple[OutputFile, ...] = output_files()) -> None:
    """The data files; levels_update.csv in the export's terms when its OutputFile says so."""
    for f in files:
        if f.export_layout is not None:
            write_levels_file(con, f.relation, f.select, folder / f.name, f.export_layout)
            continue
        select = csv_cells(con, f.select, f.relation) if f.is_csv else f.select
        copy_select(con, select, f.relation, folder / f.name, "csv" if f.is_csv else "parquet", f.order_by)


def csv_cells(con: duckdb.DuckDBPyConnection, select: str, relation: str) -> str:
    """The select list that writes `relation` as a CSV for the ERP and spreadsheets: each text
    cell that starts like a formula (layout.FORMULA_STARTS) written with a ' before it; numbers
    (-50.00), dates and booleans as they are."""
    return guarded_text_cells(con, select, relation, FORMULA_STARTS)


def write_parquet(table: pa.Table, path: Path, order_by: str | None = None) -> None:
    """A small Arrow table (the outbox index, a query's result) as Parquet, written by DuckDB
    like the run's own files, on a connection of its own."""
    con = connect()
    con.register("result_table", table)
    copy_select(con, "*", "result_table", path, "parquet", order_by or "")


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path` whole: a temporary file beside it, forced to disk, renamed over it, so a
    reader (or a crash) sees the old file or the new one, never a truncated one."""
    temp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        with temp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
