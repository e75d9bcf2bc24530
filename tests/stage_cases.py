"""Per-stage test cases (tests/stages/NN_name.toml): typed input relations in, one stage file
run alone, the rows it makes compared with the expected rows, ignoring order.

A case file holds:

    # what the case shows, and how a reader checks the expected rows by hand
    [params]                      # the bind parameters the stage names
    as_of = 2026-11-24

    [inputs.items]                # one table per relation the stage reads
    columns = ["doc_id VARCHAR", "open_amount DECIMAL(18,2)", "due_date DATE"]
    rows = [
      { doc_id = "INV-1", open_amount = "100.00", due_date = 2026-11-14 },
    ]

    [expected]                    # the stage's rows: every column it makes
    rows = [ ... ]

A column a row leaves out is NULL. Values are written as TOML values (decimals as strings,
so that they stay exact) and cast to the column's type by DuckDB, expected rows to the types
of the relation the stage made. The macros of sql/00_macros.sql are defined first, as in a run.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from dunning_batch import pipeline, sql_runner

CASES = Path(__file__).resolve().parent / "stages"


def load_case(stage: str) -> dict[str, Any]:
    return tomllib.loads((CASES / f"{stage}.toml").read_text(encoding="utf-8"))


def _text(value: Any) -> Any:
    """A TOML value as the text DuckDB casts to the column's type (lists stay lists)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_text(v) for v in value]
    raise TypeError(f"no text for {value!r}")


def make_table(con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]],
               rows: list[dict[str, Any]]) -> None:
    """Table `name` with `columns` (name, DuckDB type) holding `rows` (column -> TOML value)."""
    unknown = {key for row in rows for key in row} - {c for c, _ in columns}
    assert not unknown, f"{name}: rows name column(s) {sorted(unknown)} that `columns` does not declare"
    arrays = {}
    for column, _ in columns:
        values = [_text(row.get(column)) for row in rows]
        arrays[column] = pa.array(values) if any(v is not None for v in values) else pa.nulls(len(rows), pa.string())
    relation = con.from_arrow(pa.table(arrays) if columns else pa.table({}))
    typed = relation.project(*[duckdb.ColumnExpression(c).cast(duckdb.sqltype(t)).alias(c) for c, t in columns])
    typed.create(name)


def run_case(stage: str, case: dict[str, Any], query: bool = False) -> tuple[Counter, Counter, list[str]]:
    """(expected rows, rows the stage made, the stage's columns): rows as tuples, counted.
    With `query`, `stage` names a query of a folder of sql/ ("ledger/export_lag") instead."""
    con = sql_runner.connect()
    try:
        pipeline.define_macros(con)
        for name, table in case.get("inputs", {}).items():
            columns = [tuple(c.split(" ", 1)) for c in table["columns"]]
            make_table(con, name, columns, table.get("rows", []))
        if query:
            sql_runner.table_from_file(con, "made__rows", stage, dict(case.get("params", {})))
            made = con.table("made__rows")
        else:
            pipeline.run_stage(con, stage, dict(case.get("params", {})), sql_runner.StageLog())
            made = con.table(pipeline.relation(stage))
        names, types = made.columns, [str(t) for t in made.types]
        got = Counter(_hashable(r) for r in made.fetchall())
        make_table(con, "expected__rows", list(zip(names, types)), case.get("expected", {}).get("rows", []))
        want = Counter(_hashable(r) for r in con.table("expected__rows").fetchall())
        return want, got, names
    finally:
        con.close()


def _hashable(row: tuple) -> tuple:
    return tuple(tuple(v) if isinstance(v, list) else v for v in row)
