"""Opens a finished output folder: a DuckDB connection with its views, and its run.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from ..errors import UserError


def open_folder(out: str | Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """(connection with every view of views.sql, run.json as a dict); exit 2 if `out` is no run's folder."""
    out = Path(out)
    if not (out / "run.json").is_file() or not (out / "views.sql").is_file():
        raise UserError(f"{out}: not an output folder of dunning-batch run (no run.json / views.sql)")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # views.sql names files relative to the folder, as an analyst opening DuckDB there sees them
    con.execute("SET file_search_path = $folder", {"folder": str(out.resolve())})
    try:
        con.execute((out / "views.sql").read_text(encoding="utf-8"))
    except duckdb.Error as exc:
        raise UserError(f"{out}/views.sql: the views do not open ({exc})") from None
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return con, manifest
