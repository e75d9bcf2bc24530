"""The ordered SQL stages of a run: each `sql/NN_name.sql` is one SELECT that makes table `name`.

Python binds the parameters and runs the stages in this order; every rule of SPEC §4 lives
in the SQL files themselves.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from .errors import StageError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
MACROS = "00_macros"

# Inputs as typed relations and every problem in them (SPEC §2.3).
INPUT_STAGES = ("01_customers_parsed", "02_open_items_parsed", "02_payments_parsed", "03_problems")
# From accepted items to every output relation (SPEC §4, §5).
DECISION_STAGES = (
    "04_rejected",
    "05_accepted_customers",
    "05_items",
    "06_payments",              # SPEC §9.5
    "20_exclusions",
    "30_advance",
    "40_candidate_lines",
    "45_letter_gates",
    "46_pre_due_lines",         # SPEC §9.6
    "47_letter_items",
    "48_letter_keys",           # SPEC §5: the keys behind the letter ids, checked for collisions
    "50_letter_heads",
    "55_interest_lines",
    "56_compensation_lines",    # SPEC §9.2
    "57_letter_fees",           # SPEC §4.7, §9.1
    "60_letters",
    "70_letter_lines",
    "71_item_outcomes",
    "71_decisions",
    "72_levels_update",
    "73_customer_actions",
    "74_fee_documents",
    "75_recipients",
    "76_item_details",
    "77_compensation_documents",  # SPEC §9.2
    "78_interest_documents",      # SPEC §9.4
    "79_payments_charged",        # SPEC §9.5
)
# Stages that only pick rows or columns of a table made before them: views, so that ten
# million rows are not copied again (decisions and item_details are written in the order
# of the sorted item_outcomes).
VIEW_STAGES = frozenset({"05_accepted_customers", "05_items", "71_decisions", "76_item_details"})
# Relations whose rows already come in a known order (views that scan the item_outcomes
# table, which 71_item_outcomes sorts by doc_id): writing them needs no second sort.
ROWS_ORDERED_BY = {"decisions": "doc_id", "item_details": "doc_id"}
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class StageLog:
    """Seconds and row count per stage, in the order they ran (run.json's timings)."""

    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    on_stage: Callable[[str, int, float], None] | None = None


def stage_sql(stage: str) -> str:
    return (SQL_DIR / f"{stage}.sql").read_text(encoding="utf-8")


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(stage_sql(MACROS))


def run_stage(con: duckdb.DuckDBPyConnection, stage: str, params: dict[str, Any], log: StageLog) -> int:
    """Create table (or view) `name` from `sql/stage.sql`, binding only the parameters it names."""
    name = stage.split("_", 1)[1]
    kind = "VIEW" if stage in VIEW_STAGES else "TABLE"
    sql = stage_sql(stage)
    bound = {key: params[key] for key in sorted(set(_PARAMETER.findall(sql)))}
    started = time.perf_counter()
    try:
        con.execute(f"CREATE OR REPLACE {kind} {name} AS\n{sql}", bound)
        [(rows,)] = con.execute(f"SELECT count(*) FROM {name}").fetchall()  # fetchall: leaves no open result
    except duckdb.Error as exc:
        raise StageError(f"stage {stage} (sql/{stage}.sql) failed: {exc}") from exc
    except KeyError as exc:
        raise StageError(f"stage {stage} (sql/{stage}.sql) uses parameter {exc} that the run does not bind") from exc
    seconds = time.perf_counter() - started
    log.seconds[stage], log.rows[stage] = round(seconds, 3), rows
    if log.on_stage:
        log.on_stage(stage, rows, seconds)
    return rows


def run_stages(con: duckdb.DuckDBPyConnection, stages: tuple[str, ...], params: dict[str, Any],
               log: StageLog) -> None:
    for stage in stages:
        run_stage(con, stage, params, log)
