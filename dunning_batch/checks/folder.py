"""Opens finished output folders: a DuckDB connection with a folder's views (or two folders'
files side by side, for `diff`), and its run.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from ..errors import UserError
from ..outputs import OUTPUT_FILES


def open_folder(out: str | Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """(connection with every view of views.sql, run.json as a dict); exit 2 if `out` is no run's folder."""
    manifest = read_manifest(out)
    return connect_views(out), manifest


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The folder's run.json; exit 2 if `out` is not the folder of a finished run."""
    out = Path(out)
    if not (out / "run.json").is_file() or not (out / "views.sql").is_file():
        raise UserError(f"{out}: not an output folder of dunning-batch run (no run.json / views.sql)")
    try:
        manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # cut short or overwritten: say so, no traceback
        raise UserError(f"{out / 'run.json'} is damaged (not valid JSON): {exc}; restore it from a backup "
                        f"or run the job again into a new folder") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{out / 'run.json'} is damaged (not a JSON object); restore it from a backup "
                        f"or run the job again into a new folder")
    return manifest


def connect_views(out: str | Path) -> duckdb.DuckDBPyConnection:
    """A connection with every view of the folder's views.sql; run.json is not needed (yet)."""
    out = Path(out)
    if not (out / "views.sql").is_file():
        raise UserError(f"{out}: not an output folder of dunning-batch run (no views.sql)")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # views.sql names files relative to the folder, as an analyst opening DuckDB there sees them
    con.execute("SET file_search_path = $folder", {"folder": str(out.resolve())})
    try:
        con.execute((out / "views.sql").read_text(encoding="utf-8"))
    except duckdb.Error as exc:
        raise UserError(f"{out}/views.sql: the views do not open ({exc})") from None
    return con


def attach_folder(con: duckdb.DuckDBPyConnection, out: str | Path, prefix: str,
                  relations: tuple[str, ...]) -> dict[str, Any]:
    """Views `<prefix>_<relation>` over the Parquet files of folder `out` in `con`; returns its run.json.

    Lets one connection hold two runs side by side (`diff`): `a_letters`, `b_letters`, ...
    The file paths go in as values (DuckDB's relation API), never formatted into SQL text.
    """
    out = Path(out)
    manifest = read_manifest(out)
    files = {f.relation: f.name for f in OUTPUT_FILES if not f.is_csv}
    for relation in relations:
        if not (out / files[relation]).is_file():
            raise UserError(f"{out}: {files[relation]} is missing; the folder is incomplete")
        con.read_parquet(str(out / files[relation])).create_view(f"{prefix}_{relation}", replace=True)
    return manifest
