"""The one module that runs SQL: it opens DuckDB connections, reads the files of `sql/`,
binds exactly the parameters a file names, logs each stage's rows and seconds, and wraps a
failure with the stage and its file.

Every other module names a file of `sql/` and hands over values; none writes SQL text. The
few statements that must name a relation or a column (DuckDB binds values, not identifiers)
are built here, from names this project chose, each quoted.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import duckdb
import pyarrow as pa

from .errors import StageError, UserError
from .stage_log import StageLog

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


# --- connections -------------------------------------------------------------------------

def connect(memory_limit: str | None = None, temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection in UTC with no progress bar; with a memory limit, work beyond
    it spills to `temp_dir`. Nothing a connection computes may depend on the machine's zone."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit is not None:
        if not MEMORY_LIMIT.fullmatch(memory_limit.strip()):
            raise UserError(f"--memory-limit {memory_limit!r}: give a size such as 4GB or 512MiB")
        # SET takes no bind parameters; the value is checked against MEMORY_LIMIT above
        con.execute(f"SET memory_limit = '{memory_limit.strip()}'")
    if temp_dir is not None:
        con.execute("SET temp_directory = $dir", {"dir": str(temp_dir)})
    return con


def one_thread(con: duckdb.DuckDBPyConnection) -> None:
    """Run `con`'s queries on one thread: for a small night, a second one only schedules."""
    con.execute("SET threads = 1")


def connect_file(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB database file `path` (the ledger), in UTC with no progress
    bar; duckdb.Error when the file is no DuckDB database or another process holds it."""
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    return con


def script(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run every statement of `sql/<name>.sql`, which binds no parameter (a schema)."""
    try:
        con.execute(sql_text(name))
    except duckdb.Error as exc:
        raise StageError(f"sql/{name}.sql failed: {exc}") from exc


def lock_to(con: duckdb.DuckDBPyConnection, folders: Iterable[Path]) -> None:
    """Let `con` read only inside `folders` from now on, with its settings locked: `query` hands
    such a connection an analyst's SQL, one statement of which could otherwise read any file of
    the machine, write over the run's files, ATTACH a database or install an extension. No
    spill folder: DuckDB allows its own (`.tmp` in the working directory) beside `folders`."""
    con.execute("SET temp_directory = ''")
    # each folder also as the file readers are handed it (literal_path), which DuckDB checks too
    dirs = sorted({f"{name}/" for f in folders for name in (str(Path(f)), literal_path(Path(f)))})
    con.execute("SET allowed_directories = $dirs", {"dirs": dirs})
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


def literal_path(path: Path | str) -> str:
    """`path` as DuckDB's file readers take it literally. They read a path as a glob pattern:
    a folder named `A*` beside a folder `A` would read both folders' files, so each `*`, `?`
    and `[` is written as a class of that one character (`[*]`)."""
    return re.sub(r"([*?\[])", r"[\1]", str(path))


# --- the files of sql/ ---------------------------------------------------------------------

def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql` (`name` may hold a folder: "checks/1_decisions")."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def stage_files() -> list[str]:
    """The stage files of `sql/` (NN_name.sql), as names for sql_text, in file-name order."""
    return [path.stem for path in sorted(SQL_DIR.glob("[0-9][0-9]_*.sql"))]


def bound(sql: str, params: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """Exactly the parameters `sql` names, taken from `params`."""
    wanted = sorted(set(_PARAMETER.findall(sql)))
    missing = [key for key in wanted if key not in (params or {})]
    if missing:
        raise StageError(f"sql/{name}.sql uses parameter(s) {', '.join(missing)} that its caller does not bind")
    return {key: params[key] for key in wanted}


def execute(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
            ) -> duckdb.DuckDBPyConnection:
    """Run `sql/<name>.sql` on `con` with its parameters bound; the connection, to fetch from."""
    sql = sql_text(name)
    try:
        return con.execute(sql, bound(sql, params, name))
    except duckdb.Error as exc:
        raise StageError(f"sql/{name}.sql failed: {exc}") from exc


def rows(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> list[tuple]:
    """Every row of `sql/<name>.sql` as tuples (small results only: reports, checks)."""
    return execute(con, name, params).fetchall()


def one(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> tuple | None:
    """The first row of `sql/<name>.sql`, or None when it has none."""
    return execute(con, name, params).fetchone()


def records(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
            ) -> list[dict[str, Any]]:
    """Every row of `sql/<name>.sql` as a dict of column -> value (small results only)."""
    result = execute(con, name, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def arrow(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> pa.Table:
    """The result of `sql/<name>.sql` as an Arrow table, on a cursor of its own."""
    sql = sql_text(name)
    try:
        return con.cursor().sql(sql, params=bound(sql, params, name)).to_arrow_table()
    except duckdb.Error as exc:
        raise StageError(f"sql/{name}.sql failed: {exc}") from exc


def relation(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
             ) -> duckdb.DuckDBPyRelation:
    """`sql/<name>.sql` as a relation of `con` itself, for Arrow output without an extra copy
    (`.to_arrow_table()`, or `.to_arrow_reader(rows)` to stream a large result); unlike `arrow`,
    it sees the connection's temporary views. It runs when its rows are asked for."""
    sql = sql_text(name)
    try:
        return con.sql(sql, params=bound(sql, params, name))
    except duckdb.Error as exc:
        raise StageError(f"sql/{name}.sql failed: {exc}") from exc


# --- stages: one file, one relation ----------------------------------------------------------

def run_stage(con: duckdb.DuckDBPyConnection, stage: str, params: dict[str, Any], log: StageLog, *,
              view: bool = False, make: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None) -> int:
    """Make relation `name` of stage `NN_name` from `sql/NN_name.sql` (a table, or a view with
    `view`), or with `make(con, name)` for a stage computed in Python; log its rows and seconds."""
    name = stage.split("_", 1)[1]
    started = time.perf_counter()
    try:
        if make is not None:
            make(con, name)
        else:
            sql = sql_text(stage)
            kind = "VIEW" if view else "TABLE"
            made = con.execute(f"CREATE OR REPLACE {kind} {quote(name)} AS\n{sql}", bound(sql, params, stage)).fetchall()
        # CREATE TABLE AS answers with its row count, which spares a second query per stage
        # (a small run's fixed cost); a view, or a Python stage's table, is counted
        count = made[0][0] if make is None and not view else count_rows(con, name)
    except duckdb.Error as exc:
        raise StageError(f"stage {stage} (sql/{stage}.sql) failed: {exc}") from exc
    seconds = time.perf_counter() - started
    log.seconds[stage], log.rows[stage] = round(seconds, 3), count
    if log.on_stage:
        log.on_stage(stage, count, seconds)
    return count


# --- statements that name relations ----------------------------------------------------------

def quote(identifier: str) -> str:
    """`identifier` as a DuckDB identifier, whatever it holds."""
    return '"' + identifier.replace('"', '""') + '"'


def count_rows(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    # fetchall: leaves no open result on the connection
    [(count,)] = con.execute(f"SELECT count(*) FROM {quote(relation)}").fetchall()
    return count


def table_from_file(con: duckdb.DuckDBPyConnection, table: str, name: str,
                    params: dict[str, Any] | None = None, *, temp: bool = False) -> int:
    """Table `table` (temporary with `temp`) made by `sql/<name>.sql` with its parameters bound, for
    a relation whose name the caller picks (a shard's copy of an input, a void's files); its row count."""
    sql = sql_text(name)
    try:  # CREATE TABLE AS answers with its row count (as in run_stage)
        [(count,)] = con.execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {quote(table)} AS\n{sql}",
                                 bound(sql, params, name)).fetchall()
    except duckdb.Error as exc:
        raise StageError(f"sql/{name}.sql failed: {exc}") from exc
    return count


def rename_relation(con: duckdb.DuckDBPyConnection, old: str, new: str) -> None:
    """Rename table or view `old` to `new`."""
    [(views,)] = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = $name", {"name": old}).fetchall()
    con.execute(f"ALTER {'VIEW' if views else 'TABLE'} {quote(old)} RENAME TO {quote(new)}")


def table_from_arrow(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, *,
                     order_by: tuple[str, ...] = ()) -> None:
    """Table `name` holding the rows of an Arrow table (in `order_by` order when given)."""
    temp = f"{name}__arrow"
    con.register(temp, table)
    try:
        order = f" ORDER BY {', '.join(map(quote, order_by))}" if order_by else ""
        con.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS SELECT * FROM {quote(temp)}{order}")
    finally:
        con.unregister(temp)


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> Iterator[None]:
    """Arrow tables readable by name on `con` for the block (another connection's relations)."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)


def relation_arrow(con: duckdb.DuckDBPyConnection, relation: str) -> pa.Table:
    """Every row of `relation` as an Arrow table, on a cursor of its own."""
    return con.cursor().sql(f"SELECT * FROM {quote(relation)}").to_arrow_table()


def typed_nulls(columns: dict[str, str]) -> str:
    """The select list `NULL::<type> AS "<column>", ...` of `columns` (column -> DuckDB type,
    a type this project names): columns a file lacks, shown empty in their types."""
    return ", ".join(f"NULL::{kind} AS {quote(column)}" for column, kind in columns.items())


def with_nulls(relation: duckdb.DuckDBPyRelation, columns: dict[str, str]) -> duckdb.DuckDBPyRelation:
    """`relation` with `columns` (column -> type) added after its own, NULL."""
    return relation.project(f"*, {typed_nulls(columns)}") if columns else relation


def empty_relation(con: duckdb.DuckDBPyConnection, columns: dict[str, str]) -> duckdb.DuckDBPyRelation:
    """A relation with `columns` (column -> type) and no rows."""
    return con.sql(f"SELECT {typed_nulls(columns)} LIMIT 0")


def shadow_view(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], casts: dict, nulls: dict) -> None:
    """Temporary view `relation` on the cursor `con`, read in place of the connection's relation of that name:
    its `columns` (`casts`: column -> type cast to), then `nulls` (column -> type) NULL; no rows without `columns`."""
    listed = [f"CAST({quote(c)} AS {casts[c]}) AS {quote(c)}" if c in casts else quote(c) for c in columns]
    select = ", ".join(listed + ([typed_nulls(nulls)] if nulls else []))
    [(database,)] = con.execute("SELECT current_database()").fetchall()
    source = f"FROM {quote(database)}.main.{quote(relation)}" if listed else "LIMIT 0"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(relation)} AS SELECT {select} {source}")


def create_view_from_file(con: duckdb.DuckDBPyConnection, view: str, name: str) -> None:
    """Temporary view `view` defined by the query in `sql/<name>.sql` (analyst views)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(view)} AS {sql_text(name)}")


# --- the read side's statements that name relations (readers, payments, void) ----------------

def all_columns_but(columns: Iterable[str]) -> str:
    """A select list of every column but `columns` (for copy_relation's `select`)."""
    names = list(columns)
    return f"* EXCLUDE ({', '.join(map(quote, names))})" if names else "*"


# COPY's options per file kind, as `void` writes its files
COPY_FORMATS = {"csv": "(FORMAT csv, HEADER true)", "parquet": "(FORMAT parquet)"}


def copy_relation(con: duckdb.DuckDBPyConnection, relation: str, path: Path, kind: str, select: str = "*") -> None:
    """Write `relation` (its `select` list: all_columns_but, or outputs.csv_cells for a CSV
    that a spreadsheet opens) to the file `path` as `kind` (COPY_FORMATS).

    DuckDB's own errors pass through unwrapped: outputs.guard turns a full disk into a sentence."""
    copy_select(con, select, relation, path, kind, formats=COPY_FORMATS)


# how readers.py reads a Parquet column whose type the parse stages do not take as it is
PARQUET_CASTS = ("DATE", "VARCHAR")


def parquet_relation(con: duckdb.DuckDBPyConnection, name: str, path: Path,
                     columns: Iterable[tuple[str, str | None, str | None]], *, table: bool) -> None:
    """Relation `name` over the Parquet file `path`: per (column, source, cast) the file's
    column `source` as `column` (cast to `cast`, one of PARQUET_CASTS, when given; NULL text
    when `source` is None), and `_row`, the row's number in the file counted from 1.

    A view reads the file at each use; with `table` it is read once, into a table (without
    keeping the file's row order: `_row` keeps each row's place). A view takes no bind
    parameters: the path (command line and config, never data) is written as a quoted SQL
    literal. DuckDB's errors pass through: the reader words them for the file.
    """
    selects = []
    for column, source, cast in columns:
        if source is None:
            selects.append(f"NULL::VARCHAR AS {quote(column)}")
        elif cast is None:
            selects.append(f"{quote(source)} AS {quote(column)}")
        elif cast in PARQUET_CASTS:
            selects.append(f"CAST({quote(source)} AS {cast}) AS {quote(column)}")
        else:
            raise ValueError(f"parquet_relation: cast {cast!r} is not one of {PARQUET_CASTS}")
    literal = "'" + literal_path(Path(path).resolve()).replace("'", "''") + "'"
    sql = (f"CREATE OR REPLACE {'TABLE' if table else 'VIEW'} {quote(name)} AS SELECT {', '.join(selects)}, "
           f"file_row_number + 1 AS _row FROM read_parquet({literal}, file_row_number = true)")
    if table:
        con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(sql)
    finally:
        con.execute("RESET preserve_insertion_order")


# --- writing files: the data files of a folder and the statements of its views.sql -------------

# COPY's options per kind of data file a run writes
WRITE_FORMATS = {"csv": "(FORMAT csv, HEADER true, DATEFORMAT '%Y-%m-%d')",
                 "parquet": "(FORMAT parquet, COMPRESSION zstd)"}


def copy_select(con: duckdb.DuckDBPyConnection, select: str, relation: str, path: Path, kind: str,
                order_by: str = "", formats: dict[str, str] = WRITE_FORMATS) -> None:
    """Write `select` (a select list outputs.layout or csv_cells built) of `relation`, in
    `order_by` order when given, to the file `path` as `kind` (`formats`). DuckDB's own
    errors pass through: outputs.guard words a full disk."""
    order = f" ORDER BY {order_by}" if order_by else ""
    con.execute(f"COPY (SELECT {select} FROM {quote(relation)}{order}) TO $path {formats[kind]}",
                {"path": str(path)})


def select_types(con: duckdb.DuckDBPyConnection, select: str, relation: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of each column `select` gives over `relation`."""
    return [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE SELECT {select} FROM {quote(relation)}").fetchall()]


def view_text(view: str, select: str, source: str) -> str:
    """A statement of views.sql: view `view` as `select` over `source` (a file reader the
    layout names, relative to the folder)."""
    return f"CREATE OR REPLACE VIEW {view} AS SELECT {select} FROM {source};"


def empty_view_text(view: str, columns: dict[str, str]) -> str:
    """A statement of views.sql: view `view` with `columns` (column -> type) and no rows."""
    return f"CREATE OR REPLACE VIEW {view} AS SELECT {typed_nulls(columns)} LIMIT 0;"


def query_view_text(view: str, query: str) -> str:
    """A statement of views.sql: view `view` defined by `query` (a file of sql/views)."""
    return f"CREATE OR REPLACE VIEW {view} AS\n{query.strip()};"


def read_csv_text(name: str, types: dict[str, str]) -> str:
    """A views.sql file reader: the CSV `name` (relative to the folder) with its columns' types."""
    columns = ", ".join(f"'{column}': '{kind}'" for column, kind in types.items())
    return f"read_csv('{name}', header = true, columns = {{{columns}}})"


def read_parquet_text(name: str) -> str:
    """A views.sql file reader: the Parquet file `name` (relative to the folder)."""
    return f"read_parquet('{name}')"


# --- CSV cells a spreadsheet never runs (OWASP "CSV injection") ------------------------------

def guarded_text_cells(con: duckdb.DuckDBPyConnection, select: str, relation: str, starts: Iterable[str]) -> str:
    """The select list that writes `select` of `relation` with a ' before each text cell that
    starts with one of `starts`; numbers, dates and booleans as they are."""
    firsts = ", ".join("chr(%d)" % ord(c) for c in starts)
    return ", ".join(f"CASE WHEN left({name}, 1) IN ({firsts}) THEN chr(39) || {name} ELSE {name} END AS {name}"
                     if kind == "VARCHAR" else name for name, kind in select_types(con, select, relation))


def unguarded_text(text_columns: Iterable[str]) -> str:
    """The select list that reads cells written by guarded_text_cells back as their values:
    one leading ' dropped from each of `text_columns`."""
    text = [f"regexp_replace({name}, '^''', '') AS {name}" for name in text_columns]
    return f"* REPLACE ({', '.join(text)})" if text else "*"
