"""The output folder of a run (SPEC §5): written beside DIR, renamed into place only when complete.

Also writes what describes the folder: run.json (the manifest with hashes and counts) and
views.sql (views for analysts).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from .errors import UserError
from .pipeline import ROWS_ORDERED_BY


@dataclass(frozen=True)
class OutputFile:
    name: str
    relation: str
    order_by: str
    columns: str = "*"
    rule: str | None = None          # a file of SPEC §9: written only when this rule is configured
    without: tuple[str, ...] = ()    # columns of §9 rules that are not configured, left out

    @property
    def is_csv(self) -> bool:
        return self.name.endswith(".csv")

    @property
    def select(self) -> str:
        """The select list written: the columns minus those of rules not configured."""
        return f"* EXCLUDE ({', '.join(self.without)})" if self.without else self.columns


ANALYST_VIEWS_DIR = Path(__file__).resolve().parent.parent / "sql" / "views"

# Every data file of the folder, the relation it holds and its row order (SPEC §5).
OUTPUT_FILES = (
    OutputFile("letters.parquet", "letters", "letter_id"),
    OutputFile("letter_lines.parquet", "letter_lines", "letter_id, line_no"),
    OutputFile("decisions.parquet", "decisions", "doc_id"),
    OutputFile("levels_update.parquet", "levels_update", "doc_id"),
    OutputFile("levels_update.csv", "levels_update", "doc_id"),
    OutputFile("customer_actions.csv", "customer_actions", "letter_id, action"),
    OutputFile("fee_documents.csv", "fee_documents", "letter_id"),
    OutputFile("recipients.parquet", "recipients", "letter_id"),
    OutputFile("item_details.parquet", "item_details", "doc_id"),
    OutputFile("rejected.parquet", "rejected", "source, row_number",
               "source_file, source, row_number, reason, row_text, currency, open_amount"),
    # SPEC §9.2, §9.4, §9.5: only when their rules are configured
    OutputFile("compensation_documents.csv", "compensation_documents", "letter_id, fee_doc_id",
               rule="compensation"),
    OutputFile("interest_documents.csv", "interest_documents", "letter_id", rule="post_interest"),
    OutputFile("payments_charged.csv", "payments_charged", "payment_id", rule="late_payment_interest"),
)

# Columns the rules of SPEC §9 add to the files of §5 (relation -> column -> rule): every
# stage computes them, but a file has them only when their rule is configured, so that a
# config without §9 keys writes the files of §5 byte for byte.
RULE_COLUMNS = {
    "letters": {"compensation_total": "compensation"},
    "letter_lines": {"compensation_amount": "compensation"},
    "levels_update": {"compensation_charged": "compensation", "interest_paid_to": "post_interest"},
    "item_details": {"open_balance": "min_percent", "compensation_charged": "compensation",
                     "interest_paid_to": "post_interest"},
}


def output_files(rules: frozenset[str] = frozenset()) -> tuple[OutputFile, ...]:
    """The data files of a run whose config switches on `rules` (Config.money_rules)."""
    files = []
    for f in OUTPUT_FILES:
        if f.rule is not None and f.rule not in rules:
            continue
        without = tuple(c for c, rule in RULE_COLUMNS.get(f.relation, {}).items() if rule not in rules)
        files.append(replace(f, without=without))
    return tuple(files)

# Column types of the CSV outputs, so analysts' views read amounts as DECIMAL, never DOUBLE.
CSV_TYPES = {
    "levels_update": {"doc_id": "VARCHAR", "customer_id": "VARCHAR", "level_before": "INTEGER",
                      "level_after": "INTEGER", "last_dunned_before": "DATE", "last_dunned_on": "DATE",
                      "letter_id": "VARCHAR"},
    "customer_actions": {"customer_id": "VARCHAR", "action": "VARCHAR", "value": "VARCHAR",
                         "letter_id": "VARCHAR", "run_date": "DATE"},
    "fee_documents": {"fee_doc_id": "VARCHAR", "customer_id": "VARCHAR", "currency": "VARCHAR",
                      "amount": "DECIMAL(18,2)", "doc_date": "DATE", "due_date": "DATE",
                      "letter_id": "VARCHAR", "description": "VARCHAR"},
}
CSV_TYPES["levels_update"].update(compensation_charged="BOOLEAN", interest_paid_to="DATE")
CSV_TYPES["compensation_documents"] = CSV_TYPES["interest_documents"] = dict(CSV_TYPES["fee_documents"])
CSV_TYPES["payments_charged"] = {"payment_id": "VARCHAR", "letter_id": "VARCHAR",
                                 "interest_amount": "DECIMAL(18,2)"}


def check_target(out: Path, force: bool) -> None:
    """Refuse an existing output folder unless --force: found before any work is done."""
    if out.exists() and not force:
        raise UserError(f"{out}: the output folder exists; choose another --out or pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; choose another --out")


class AtomicFolder:
    """A temporary folder beside `target` that becomes `target` only on `commit()`.

    A failed run removes it; a killed run leaves a hidden `.NAME.partial-PID` that the next
    run into the same place removes, so no half-written DIR is ever visible.
    """

    def __init__(self, target: Path, force: bool):
        self.target, self.force = target, force
        self.path = target.parent / f".{target.name}.partial-{os.getpid()}"

    def __enter__(self) -> "AtomicFolder":
        self.target.parent.mkdir(parents=True, exist_ok=True)
        for kind in ("partial", "spill"):  # left by a killed run (spill: DuckDB's temp files)
            for stale in self.target.parent.glob(f".{self.target.name}.{kind}-*"):
                if not _pid_alive(stale.name.rsplit("-", 1)[-1]):
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


def _pid_alive(text: str) -> bool:
    try:
        os.kill(int(text), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def write_data_files(con: duckdb.DuckDBPyConnection, folder: Path,
                     files: tuple[OutputFile, ...] = output_files()) -> None:
    for f in files:
        fmt = "(FORMAT csv, HEADER true, DATEFORMAT '%Y-%m-%d')" if f.is_csv else \
              "(FORMAT parquet, COMPRESSION zstd)"
        select = csv_cells(con, f.select, f.relation) if f.is_csv else f.select
        # a scan keeps a sorted table's order, so sort only what is not in order already
        order = "" if ROWS_ORDERED_BY.get(f.relation) == f.order_by else f" ORDER BY {f.order_by}"
        con.execute(f"COPY (SELECT {select} FROM {f.relation}{order}) TO $path {fmt}",
                    {"path": str(folder / f.name)})


# OWASP "CSV injection": a spreadsheet opening a CSV takes a cell that starts with one of
# these as a formula (or, tab and CR, as the start of one); the ' in front makes it text.
# A cell that starts with ' gets one too, so that dropping one leading ' always gives the
# value back (the views of views.sql do; Parquet files keep the value as it is).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_cells(con: duckdb.DuckDBPyConnection, select: str, relation: str) -> str:
    """The select list that writes `relation` as a CSV for the ERP and spreadsheets: each text
    cell that starts like a formula written with a ' before it; numbers (-50.00), dates and
    booleans as they are."""
    starts = ", ".join("chr(%d)" % ord(c) for c in FORMULA_STARTS)
    columns = con.execute(f"DESCRIBE SELECT {select} FROM {relation}").fetchall()
    return ", ".join(f"CASE WHEN left({name}, 1) IN ({starts}) THEN chr(39) || {name} ELSE {name} END AS {name}"
                     if kind == "VARCHAR" else name for name, kind, *_ in columns)


def csv_values(types: dict[str, str], without: tuple[str, ...] = ()) -> str:
    """The select list that reads a CSV written by csv_cells back as its values: one leading '
    dropped from each text cell."""
    text = [f"regexp_replace({name}, '^''', '') AS {name}"
            for name, kind in types.items() if kind == "VARCHAR" and name not in without]
    return f"* REPLACE ({', '.join(text)})" if text else "*"


def views_sql(files: tuple[OutputFile, ...] = output_files()) -> str:
    """CREATE VIEW statements over the folder's files, relative to the folder itself."""
    lines = ["-- Views over this run's outputs. Open DuckDB in this folder and run: .read views.sql", ""]
    seen = set()
    for f in files:
        if f.relation in seen:
            continue
        seen.add(f.relation)
        columns = "*"
        if f.is_csv:
            types = ", ".join(f"'{k}': '{v}'" for k, v in CSV_TYPES[f.relation].items() if k not in f.without)
            source = f"read_csv('{f.name}', header = true, columns = {{{types}}})"
            columns = csv_values(CSV_TYPES[f.relation], f.without)  # the values csv_cells wrote
        else:
            source = f"read_parquet('{f.name}')"
        lines.append(f"CREATE OR REPLACE VIEW {f.relation} AS SELECT {columns} FROM {source};")
    lines += ["", "-- Analyst views (sql/views/*.sql)."]
    for view in sorted(ANALYST_VIEWS_DIR.glob("*.sql")):
        lines += ["", f"CREATE OR REPLACE VIEW {view.stem} AS", view.read_text(encoding="utf-8").strip() + ";"]
    return "\n".join(lines) + "\n"


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
