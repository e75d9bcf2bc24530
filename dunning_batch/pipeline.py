"""The ordered SQL stages of a run: each `sql/NN_name.sql` is one SELECT that makes table `name`.

Python binds the parameters and runs the stages in this order; every rule of SPEC §4 lives
in the SQL files themselves. One stage is Python's (PYTHON_STAGES): the email addresses
are judged by the parser delivery builds its headers with (addresses.py), once per
distinct address, into a table that 03_problems joins.
"""

from __future__ import annotations

from typing import Any, Callable

import duckdb
import pyarrow as pa

from . import sql_runner
from .addresses import address_list_problem
from .sql_runner import SQL_DIR, StageLog, execute, sql_text, table_from_arrow

MACROS = "00_macros"

# Inputs as typed relations and every problem in them (SPEC §2.3).
INPUT_STAGES = ("01_customers_parsed", "02_open_items_parsed", "02_payments_parsed", "02_address_checks",
                "03_problems")
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


def address_checks(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Table `name`: one row per distinct email field of a customer whose letters go by email
    (SPEC §10.1), with why it is not deliverable (NULL when it is). DuckDB's Python UDFs need
    numpy, which this project does not depend on; a table of the distinct values is the same
    single call per address, and validation and delivery still share addresses.py."""
    emails = con.sql("SELECT DISTINCT email FROM customers_parsed "
                     "WHERE email IS NOT NULL AND delivery IN ('email', 'both')").to_arrow_table()
    values = emails.column("email").to_pylist()
    verdicts = pa.table({"email": pa.array(values, pa.string()),
                         "problem": pa.array([address_list_problem(v) for v in values], pa.string())})
    table_from_arrow(con, name, verdicts)


# Stages computed in Python: stage -> function(con, table name) that makes the table.
PYTHON_STAGES: dict[str, Callable[[duckdb.DuckDBPyConnection, str], None]] = {
    "02_address_checks": address_checks,  # SPEC §10.1, §10.2
}


def stage_sql(stage: str) -> str:
    return sql_text(stage)


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    execute(con, MACROS)


def run_stage(con: duckdb.DuckDBPyConnection, stage: str, params: dict[str, Any], log: StageLog) -> int:
    """Create table (or view) `name` from `sql/stage.sql`, binding only the parameters it names."""
    return sql_runner.run_stage(con, stage, params, log, view=stage in VIEW_STAGES, make=PYTHON_STAGES.get(stage))


def run_stages(con: duckdb.DuckDBPyConnection, stages: tuple[str, ...], params: dict[str, Any],
               log: StageLog) -> None:
    for stage in stages:
        run_stage(con, stage, params, log)
