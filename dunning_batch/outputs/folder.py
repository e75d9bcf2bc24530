"""Reading a finished output folder: the one place every command opens one (query, explain,
reconcile, diff, render, summary, outbox, print batch, send, void).

A folder's views are built here from code, over the absolute paths of its files, so an
answer never depends on the working directory (DuckDB looks for a bare file name in the
current folder first) and nothing the folder holds is ever executed: views.sql is written
for analysts who open DuckDB inside the folder, and no command reads it back. The
connection can read the folder and nothing else: no other file, no extension, no ATTACH,
and its settings are locked.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ..config.sender import sender_problems
from ..config.relations import CFG_TABLES
from ..errors import UserError
from ..sql_runner import (connect, create_view_from_file, empty_relation, literal_path, lock_to, select_types, shadow_view,
                          with_nulls)
from .layout import (ANALYST_VIEWS_DIR, CONFIG_FILES, CSV_TYPES, DELIVERY_FILES, OUTPUT_FILES, OutputFile,
                     csv_values, missing_columns)
from .manifest_shape import shape_damage

MANIFEST = "run.json"


def open_folder(out: str | Path, *, locked: bool = True) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """(a connection with the folder's views, run.json as a dict); exit 2 if `out` is no finished run."""
    manifest = read_manifest(out)
    return connect_views(out, locked=locked), manifest


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The folder's run.json; exit 2 if `out` is not the folder of a finished run or run.json is damaged."""
    out = Path(out)
    path = out / MANIFEST
    if not out.is_dir():
        raise UserError(f"{out}: no such folder; name the output folder of a dunning-batch run")
    if path.exists() and not path.is_file():  # a folder or a FIFO (reading one would wait forever)
        raise UserError(f"{path}: not a plain file; a run writes plain files, so this folder was changed after "
                        f"the run: run the night again into a new folder")
    if not path.is_file():
        raise UserError(f"{out}: not an output folder of dunning-batch run (no {MANIFEST})")
    if path.is_symlink():
        raise UserError(f"{path}: is a link; a run writes plain files, so this folder was changed after the run: "
                        f"run the night again into a new folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: JSON, or an int too long
        raise UserError(f"{path} is damaged (not valid JSON): {exc}; restore it from a backup or run "
                        f"the job again into a new folder") from None
    if not isinstance(manifest, dict) or not {"as_of", "outputs"} <= manifest.keys():
        raise UserError(f"{path} is damaged (it lacks the keys a run writes: as_of, outputs); "
                        f"restore it from a backup or run the job again into a new folder")
    if damage := manifest_damage(manifest):
        raise UserError(f"{path} is damaged ({damage}); restore it from a backup or run the job again into a "
                        f"new folder")
    return manifest


# run.json's keys whose JSON type the commands rely on, as a run writes them
MANIFEST_TYPES = {"as_of": str, "outputs": dict, "inputs": dict, "config": dict, "run": dict, "sender": dict,
                  "input_totals": dict, "totals_per_currency": dict, "letters_per_level": dict,
                  "decisions_per_reason": dict, "stage_rows": dict, "pdf_environment": dict,
                  "levels_file": dict, "rejected_rows": int, "customers_created": int}
REQUIRED_KEYS = ("as_of", "outputs", "inputs", "run", "config", "sender", "input_totals", "totals_per_currency",
                 "letters_per_level")
# a file or folder a run writes inside its folder, as run.json's "outputs" names it
OUTPUT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/([A-Za-z0-9_][A-Za-z0-9_.-]*)?)?")


def manifest_damage(manifest: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a run.json (a key of another JSON type than a run
    writes, a run date that is no date, an output outside the folder or without its digest),
    or None: every command reads these, and names and digests them within the folder only."""
    for key, kind in MANIFEST_TYPES.items():
        value = manifest.get(key)
        # a run writes these always (reconcile checks the totals against the files); the others
        # a run may leave out or write as null (no PDFs, no levels file in the export's terms)
        required = key in REQUIRED_KEYS
        if (value is not None or required) and (not isinstance(value, kind) or isinstance(value, bool)):
            return f'its "{key}" is not {"an object" if kind is dict else "a whole number" if kind is int else "text"}'
    try:
        dated = len(manifest["as_of"]) == 10 and dt.date.fromisoformat(manifest["as_of"])
    except (TypeError, ValueError):
        dated = False
    if not dated:
        return 'its "as_of" is not a date YYYY-MM-DD'
    for name, entry in manifest["outputs"].items():
        if not OUTPUT_NAME.fullmatch(name) or ".." in name:
            return f'its "outputs" name {name!r}, which is no file a run writes inside its folder'
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            return f'its "outputs" entry {name!r} holds no sha256'
    if found := shape_damage(manifest):
        return found
    if problems := sender_problems(manifest["sender"], MANIFEST):
        return problems[0].removeprefix(f"{MANIFEST}: ")  # the checks of a config's [sender]
    return None


def new_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with no progress bar, for one or more folders' views."""
    return connect()


def connect_views(out: str | Path, *, locked: bool = True,
                  relations: tuple[str, ...] | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with a view per data file of the folder, its config (cfg_*) and the
    analyst views (sql/views); with `relations`, those views alone (each required, as for
    add_views): a run reads its letters three times, and forty views cost it 60 ms a time.

    Works on a folder being written too (a run's summary), so run.json is not needed.
    `locked=False` leaves the connection able to write elsewhere (`void` writes its files).
    """
    folder = _folder(out)
    con = new_connection()
    add_views(con, folder, relations=relations)
    if locked:
        lock_to(con, [folder])
    return con


def add_views(con: duckdb.DuckDBPyConnection, out: str | Path, prefix: str = "",
              relations: tuple[str, ...] | None = None) -> None:
    """Views `<prefix><relation>` over the data files of folder `out`, by absolute path.

    Without `relations`, every file the folder holds, its config (cfg_*) and the analyst
    views; with them, just those, each required (`diff` holds two runs side by side as
    `a_letters`, `b_letters`, ...). Every view has the columns of SPEC §9 (NULL when the
    file lacks them: their rule was off), and a document file of §9 the run did not write
    is an empty view, as views.sql promises. The paths go in as values (DuckDB's relation
    API), never formatted into SQL text.
    """
    folder = _folder(out)
    sources = [(f.relation, f.name) for f in OUTPUT_FILES + CONFIG_FILES] + list(DELIVERY_FILES.items())
    optional = {f.relation for f in OUTPUT_FILES if f.rule is not None}
    # a config table of a rule of SPEC §11 is kept only when the rule is on: empty otherwise
    optional_config = {f.relation for f in CONFIG_FILES if f.rule is not None}
    done = set()
    for relation, name in sources:
        if relation in done or (relations is not None and relation not in relations):
            continue
        path = folder / name
        if path.is_symlink():
            raise UserError(f"{path}: is a link; a run writes plain files, so this folder was changed "
                            f"after the run: run the night again into a new folder")
        if not path.is_file():
            if relation in optional:  # SPEC §9: its rule was off, the run wrote no such file
                done.add(relation)
                empty_relation(con, CSV_TYPES[relation]).create_view(prefix + relation, replace=True)
            elif relation in optional_config:
                done.add(relation)
                empty_relation(con, config_types(con, relation)).create_view(prefix + relation, replace=True)
            elif relations is not None:
                raise UserError(f"{folder}: {name} is missing; the folder is incomplete")
            continue
        done.add(relation)
        found = _relation(con, path, relation)
        with_nulls(found, missing_columns(relation, found.columns)).create_view(prefix + relation, replace=True)
    if relations is None:
        add_analyst_views(con, prefix)


def add_analyst_views(con: duckdb.DuckDBPyConnection, prefix: str = "") -> None:
    """The analyst views (sql/views), as `<prefix><name>`, over the relations `con` reads."""
    for view in sorted(ANALYST_VIEWS_DIR.glob("*.sql")):
        create_view_from_file(con, prefix + view.stem, f"views/{view.stem}")


def run_views(con: duckdb.DuckDBPyConnection, files: tuple[OutputFile, ...],
              relations: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    """A cursor of a run's connection `con` on which each of `relations` (of the data files
    `files`, outputs.output_files) reads as add_views shows its file once written: its columns,
    a CSV's in their written types (CSV_TYPES), those of SPEC §9 rules that are off NULL, a
    document file of §9 the run does not write empty; and the analyst views.

    The run's summary reads its folder so, instead of a connection of its own with a view
    over every file it has just written (a small run's largest fixed cost after its stages).
    The relations themselves stay as they are for the rest of the run.
    """
    cursor = con.cursor()
    config = {f.relation for f in CONFIG_FILES}  # the run's own cfg_* tables, which its files hold as they are
    done = set()
    for f in files:
        if f.relation in done or f.relation in config or f.relation not in relations:
            continue
        done.add(f.relation)
        columns = [name for name, _ in select_types(cursor, f.select, f.relation)]
        casts = {c: kind for c, kind in CSV_TYPES[f.relation].items() if c in columns} if f.is_csv else {}
        shadow_view(cursor, f.relation, columns, casts, missing_columns(f.relation, columns))
    for f in OUTPUT_FILES:
        if f.rule is not None and f.relation not in done and f.relation in relations:  # SPEC §9: rule off, no file
            done.add(f.relation)
            shadow_view(cursor, f.relation, [], {}, CSV_TYPES[f.relation])
    add_analyst_views(cursor)
    return cursor


def config_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """The columns of config table `relation` (config.relations) in their DuckDB types."""
    [table] = [t for t in CFG_TABLES if t.name == relation]
    empty = pa.table({c.name: pa.array([], c.type) for c in table.columns})
    return {name: str(kind) for name, kind in zip(empty.column_names, con.from_arrow(empty).types)}


def file_columns(out: str | Path, relation: str) -> list[str]:
    """The columns of `relation` as the folder's file has them (its view adds those of SPEC §9
    rules that were off): what the run wrote, for files made after its model (`void`)."""
    folder = _folder(out)
    path = next((folder / f.name for f in OUTPUT_FILES if f.relation == relation and (folder / f.name).is_file()),
                None)
    return [] if path is None else _relation(new_connection(), path, relation).columns


def _folder(out: str | Path) -> Path:
    folder = Path(out).resolve()
    if not folder.is_dir():
        raise UserError(f"{out}: no such folder; name the output folder of a dunning-batch run")
    return folder


def _relation(con: duckdb.DuckDBPyConnection, path: Path, relation: str) -> duckdb.DuckDBPyRelation:
    """The file as a relation; a CSV's columns in their written types (amounts DECIMAL, never DOUBLE)."""
    try:
        if path.suffix != ".csv":
            return con.read_parquet(literal_path(path))
        header = _csv_header(con, path)
        types = {c: t for c, t in CSV_TYPES.get(relation, {}).items() if c in header}
        # the values, without the ' that keeps a spreadsheet from running a cell (writer.csv_cells)
        table = con.read_csv(literal_path(path), header=True, sep=",", quotechar='"', dtype=types)
        return table.project(csv_values(types))
    except duckdb.Error as exc:
        raise UserError(f"{path}: cannot be read as the file a run writes ({_first_line(exc)}); "
                        f"run the night again into a new folder") from None


def _csv_header(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The column names of a CSV a run wrote: its first record, read by Python's csv module
    (DuckDB's sniffer read the file once more for them, a tenth of opening a folder); DuckDB's
    reading when that record is no UTF-8 CSV (a damaged file is then worded as before)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        header = []
    return header or con.read_csv(literal_path(path), header=True, all_varchar=True, sep=",", quotechar='"').columns


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
