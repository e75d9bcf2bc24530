"""`query`: runs an analyst's SQL over an output folder's views and formats the result.

Formats: an aligned text table (the default), CSV and JSON (to stdout or a file), Parquet
(to a file only, column types kept). Decimals are printed exactly, never through a float.
Text is printed with its control and invisible characters escaped (terminal.py): in the
table and CSV as `\x1b`, in JSON as `\u001b` (the same string to a JSON reader).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from ..errors import UserError
from ..outputs.layout import FORMULA_STARTS
from ..manifest import check_complete
from ..outputs.folder import connect_views, read_manifest
from ..outputs.guard import check_result_file
from ..outputs.writer import write_parquet
from ..terminal import printable

FORMATS = ("table", "csv", "json", "parquet")
# DuckDB type ids whose values are right-aligned in the table
NUMERIC_TYPES = {"tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger",
                 "ubigint", "uhugeint", "float", "double", "decimal"}


@dataclass(frozen=True)
class QueryResult:
    """What `query` produced: the text to print, or the file it wrote instead."""

    rows: int
    text: str = ""
    path: Path | None = None


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    numeric: list[bool]
    values: list[tuple]


def query(out: str | Path, sql: str, fmt: str = "table", to: str | Path | None = None) -> QueryResult:
    """Run `sql` against the views of output folder `out`; format the result as `fmt`.

    With `to`, the result is written to that file instead of returned as text; `parquet`
    needs `to`. Bad SQL is a UserError carrying DuckDB's message on one line.
    """
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and to is None:
        raise UserError("--format parquet writes a binary file: name it with --to FILE")
    target = _check_target(Path(out), Path(to)) if to is not None else None
    check_complete(Path(out), read_manifest(out))
    con = connect_views(out)
    try:
        relation = con.sql(_one_select(con, sql))
        if fmt == "parquet":
            table = relation.to_arrow_table()
            write_parquet(table, target)
            return QueryResult(rows=table.num_rows, path=target)
        rows = Rows(list(relation.columns), [t.id in NUMERIC_TYPES for t in relation.types], relation.fetchall())
    except duckdb.Error as exc:
        raise UserError(f"query failed: {one_line(str(exc))}") from None
    # a CSV goes to spreadsheets: its text cells are guarded as the run's own CSVs are
    text = {"table": format_table, "csv": lambda r: format_csv(r, guard=True), "json": format_json}[fmt](rows)
    if target is None:
        return QueryResult(rows=len(rows.values), text=text)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{target}: cannot write the result ({exc.strerror})") from None
    return QueryResult(rows=len(rows.values), path=target)


def _one_select(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """`sql` when it is one statement that only reads (SELECT, WITH ... SELECT, DESCRIBE, SHOW,
    EXPLAIN); anything else is refused before it runs: the folder is the run's record."""
    statements = con.extract_statements(sql)
    if not statements:
        raise UserError("query needs a statement: write a SELECT over the folder's views")
    if len(statements) != 1:
        raise UserError(f"query runs exactly one statement, this SQL has {len(statements)}; "
                        f"run them one at a time")
    statement = statements[0]
    if statement.type == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs the statement it explains: only a SELECT may follow (what the
        # pattern does not read, a comment between the words, is refused)
        explained = EXPLAINED.match(statement.query)
        inner = con.extract_statements(statement.query[explained.end():]) if explained else []
        if len(inner) != 1 or inner[0].type != duckdb.StatementType.SELECT:
            raise UserError(f"query only reads: EXPLAIN {_first_word(inner[0]) if len(inner) == 1 else 'of this'} "
                            f"is refused; EXPLAIN a SELECT")
    elif statement.type != duckdb.StatementType.SELECT:
        raise UserError(f"query only reads: {_first_word(statement)} is refused; write a SELECT "
                        f"(use --to FILE to save its result)")
    return sql


# EXPLAIN and EXPLAIN ANALYZE before the statement they explain
EXPLAINED = re.compile(r"\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?", re.IGNORECASE)


def _first_word(statement: Any) -> str:
    """A statement named by its own first word: DuckDB types INSTALL as LOAD, and ATTACH,
    COPY ... are what the user wrote."""
    said = re.match(r"\s*([A-Za-z]+)", statement.query)
    return said[1].upper() if said else statement.type.name


def one_line(message: str) -> str:
    """DuckDB's message without its line breaks and the ^^^ marker under the SQL."""
    parts = [line.strip() for line in message.splitlines()]
    return " ".join(p for p in parts if p and set(p) != {"^"})


def _check_target(out: Path, to: Path) -> Path:
    """The file `--to` names; never inside the output folder, which is the run's record."""
    if to.resolve().is_relative_to(out.resolve()):
        raise UserError(f"{to}: --to must not write into the output folder {out}; choose a file elsewhere")
    check_result_file(to)
    return to


# ---- formatting ------------------------------------------------------------------------------

def cell_text(value: Any) -> str:
    """A value as an analyst reads it: decimals exactly, ISO dates, NULL for null."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cell_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{cell_text(k)}: {cell_text(v)}" for k, v in value.items()) + "}"
    return printable(str(value))  # line breaks as \n, ESC as \x1b: one line per row, no escape sequence


def format_table(rows: Rows) -> str:
    """Columns as wide as their widest value, numbers right-aligned, a row count at the end."""
    cells = [[cell_text(v) for v in row] for row in rows.values]
    columns = [printable(name) for name in rows.columns]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if numeric else v.ljust(w)
                         for v, w, numeric in zip(values, widths, rows.numeric)).rstrip()

    body = [line(columns), line(["-" * w for w in widths])] + [line(row) for row in cells]
    count = len(cells)
    return "\n".join(body) + f"\n({count} row{'' if count == 1 else 's'})\n"


def format_csv(rows: Rows, guard: bool = False) -> str:
    """RFC 4180 CSV with a header; NULL is an empty field. With `guard`, each text cell that
    starts like a formula gets a ' before it, as in every CSV of the run (outputs.csv_cells)."""
    def text(value: Any) -> str:
        if value is None:
            return ""
        if guard and isinstance(value, str) and value.startswith(FORMULA_STARTS):
            return "'" + cell_text(value)
        return cell_text(value)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # a header is a cell too: the analyst's SQL may name a column "=HYPERLINK(...)"
    writer.writerow([text(printable(name)) for name in rows.columns])
    for row in rows.values:
        writer.writerow([text(v) for v in row])
    return buffer.getvalue()


def format_json(rows: Rows) -> str:
    """A JSON array with one object per row; decimals as exact JSON numbers, dates as ISO strings."""
    if not rows.values:
        return "[]\n"
    objects = ["{" + ", ".join(f"{json_string(name)}: {json_value(v)}"
                               for name, v in zip(rows.columns, row)) + "}" for row in rows.values]
    return "[\n  " + ",\n  ".join(objects) + "\n]\n"


def json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else "null"
    if isinstance(value, float):
        return json.dumps(value) if math.isfinite(value) else "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json_string(str(k))}: {json_value(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (dt.date, dt.time)):
        return json.dumps(value.isoformat())
    return json_string(str(value))


def json_string(text: str) -> str:
    """A JSON string literal of `text`: readable letters as they are, control and invisible
    characters (C1, bidi overrides, U+2028) as \\u escapes, which JSON readers decode back."""
    return printable(json.dumps(text, ensure_ascii=False), escape=lambda char: json.dumps(char)[1:-1])
