"""The ordered stages of a run: each `sql/NN_name.sql` is one SELECT that makes relation `name`.

The run order is the order of the file names: every `sql/[0-9][0-9]_*.sql` but the macros,
sorted, with the stage computed in Python (PYTHON_STAGES: a number with no file) in its
place. Every rule of SPEC §4 lives in the SQL files themselves; Python binds the parameters.

The number says which group a stage belongs to:

- 01-09 PARSE_STAGES: the exports as typed relations (`*_parsed`) and the email addresses,
  judged by the parser delivery builds its headers with (04_address_checks, Python).
- 10-19 PROBLEM_STAGES: every problem in the inputs (SPEC §2.3), one stage per concern
  (ids, each source's rows, the letters' overflow guard, config x data coverage, the money
  rules' columns, the customers created with no postal address for a run with letters),
  gathered into `problems` by 19_problems.
  INPUT_STAGES = PARSE_STAGES + PROBLEM_STAGES: what `validate` runs.
- 20 REJECTION_STAGES: the rows set aside (`rejected`); a Dask run decides it once, on the
  coordinator, for every shard.
- 21-99 DECISION_STAGES: from the accepted rows to every output relation (SPEC §4, §5, §9).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Callable

import duckdb
import pyarrow as pa

from . import sql_runner
from .addresses import address_list_problem
from .sql_runner import arrow, count_rows, execute, registered, sql_text, stage_files, table_from_file
from .stage_log import StageLog

MACROS = "00_macros"

# Addresses a process judges at least before a second one is worth its start (about 0.3 s).
ADDRESSES_PER_PROCESS = 20_000


def address_checks(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Table `name`: one row per distinct email field of a customer whose letters go by email
    (SPEC §10.1), with why it is not deliverable (NULL when it is). DuckDB's Python UDFs need
    numpy, which this project does not depend on; a table of the distinct values is the same
    single call per address, and validation and delivery still share addresses.py. Only the
    fields that are not plainly deliverable go to the parser (sql/addresses/emails_to_check):
    at 60 µs an address it was most of a large run."""
    values = arrow(con, "addresses/emails_to_check").column("email").to_pylist()
    judged = pa.table({"email": pa.array(values, pa.string()),
                       "problem": pa.array(address_list_problems(values), pa.string())})
    with registered(con, {"judged_emails": judged}):
        table_from_file(con, name, "addresses/address_checks")


def address_list_problems(values: list[str]) -> list[str | None]:
    """address_list_problem of each value, in order. The mail parser takes about 60 µs an
    address, most of a large run, so a long list is judged by one process per core (spawned:
    this process holds DuckDB's threads, which a forked child must not inherit)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = min(len(values) // ADDRESSES_PER_PROCESS, cores)
    if workers < 2:
        return [address_list_problem(v) for v in values]
    size = -(-len(values) // (workers * 4))  # a few chunks a process, so none waits on the last
    chunks = [values[i:i + size] for i in range(0, len(values), size)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return [problem for chunk in pool.map(_judge, chunks) for problem in chunk]


def _judge(values: list[str]) -> list[str | None]:
    return [address_list_problem(v) for v in values]


# Stages computed in Python: stage -> function(con, table name) that makes the table. The
# number places it in the run order like a file name would.
PYTHON_STAGES: dict[str, Callable[[duckdb.DuckDBPyConnection, str], None]] = {
    "04_address_checks": address_checks,  # SPEC §10.1, §10.2
}


def stage_names() -> tuple[str, ...]:
    """Every stage in run order: the stage files' names and PYTHON_STAGES, sorted."""
    files = [name for name in stage_files() if name != MACROS]
    return tuple(sorted(files + list(PYTHON_STAGES)))


def stage_number(stage: str) -> int:
    return int(stage[:2])


STAGES = stage_names()
PARSE_STAGES = tuple(s for s in STAGES if 1 <= stage_number(s) <= 9)
PROBLEM_STAGES = tuple(s for s in STAGES if 10 <= stage_number(s) <= 19)
INPUT_STAGES = PARSE_STAGES + PROBLEM_STAGES
REJECTION_STAGES = tuple(s for s in STAGES if stage_number(s) == 20)
DECISION_STAGES = tuple(s for s in STAGES if stage_number(s) >= 21)

# Relations that only pick rows or columns of a table made before them: views, so that ten
# million rows are not copied again (decisions and item_details: of item_outcomes).
VIEW_RELATIONS = frozenset({"accepted_customers", "items", "decisions", "item_details"})


def relation(stage: str) -> str:
    """The relation stage `NN_name` makes: `name`."""
    return stage.split("_", 1)[1]


def stage_sql(stage: str) -> str:
    return sql_text(stage)


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    execute(con, MACROS)


# Problem stages whose every row comes from one input relation: stage -> that relation. When
# it holds no row (a run without a payments export), the stage's relation is made, with no
# row, from sql/problems/none.sql, the columns every problem stage has: its own SQL is not
# planned, which cost some 20 ms of every small run for nothing.
ROWS_FROM = {"16_payment_problems": "payments_parsed"}
NO_PROBLEMS = "problems/none"


def no_problems(con: duckdb.DuckDBPyConnection, name: str) -> None:
    table_from_file(con, name, NO_PROBLEMS)


def run_stage(con: duckdb.DuckDBPyConnection, stage: str, params: dict[str, Any], log: StageLog) -> int:
    """Create table (or view) `name` from `sql/stage.sql`, binding only the parameters it names."""
    make = PYTHON_STAGES.get(stage)
    if stage in ROWS_FROM and not count_rows(con, ROWS_FROM[stage]):
        make = no_problems
    return sql_runner.run_stage(con, stage, params, log, view=relation(stage) in VIEW_RELATIONS, make=make)


def run_stages(con: duckdb.DuckDBPyConnection, stages: tuple[str, ...], params: dict[str, Any],
               log: StageLog) -> None:
    for stage in stages:
        run_stage(con, stage, params, log)


def drop_spent(con: duckdb.DuckDBPyConnection) -> None:
    """Free the memory of the relations only the decision stages read (sql/memory/drop_spent.sql),
    once every one has run."""
    sql_runner.script(con, "memory/drop_spent")
