"""The nightly job as one library function: load -> validate -> decide -> price -> write.

`run()` is what the CLI and the tests call; `validate()` stops after the checks.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from .checks.folder import read_manifest
from .checks.summary import write_summary
from .config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS, Config, config_tables, load_config
from .errors import ConfigError, InputError, UserError
from .manifest import build_manifest
from .outputs import AtomicFolder, check_target, output_files, views_sql, write_data_files, write_json
from .payments import load_payments, payment_params
from .pipeline import DECISION_STAGES, INPUT_STAGES, StageLog, define_macros, run_stages
from .delivery.outbox import write_outbox
from .delivery.print_batch import write_print_batch
from .letters.batches import has_letter, pdf_digest, render_letters
from .letters.templating import template_names
from .readers import RawInput, load_raw

MAX_PROBLEMS = 50
# The run dates a run takes (--as-of): every date computed from one, up to a century either
# side (plausible_years) and the pay-by dates, stays a date of every library it meets.
FIRST_RUN_DATE = dt.date(1900, 1, 1)
LAST_RUN_DATE = dt.date(2999, 12, 31)
REQUIRED_ITEM_COLUMNS = ("doc_id", "customer_id", "currency", "open_amount")
REQUIRED_CUSTOMER_COLUMNS = ("customer_id", "name")


@dataclass
class RunResult:
    out: Path | None
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    """One DuckDB connection holding the config tables, the raw inputs and every stage."""

    con: duckdb.DuckDBPyConnection
    config: Config
    inputs: dict[str, RawInput]
    params: dict[str, Any]
    log: StageLog


def open_session(config_path: str | Path, open_items: str | Path, customers: str | Path,
                 as_of: dt.date, on_stage: Callable | None = None, memory_limit: str | None = None,
                 temp_dir: Path | None = None, shard: tuple[int, int] | None = None,
                 stages: tuple[str, ...] = INPUT_STAGES, payments: str | Path | None = None) -> Session:
    """Load config and inputs and run the input stages; raise on any unreadable file.

    With `shard` = (k, n), only the customers of shard k of n (and their items) are kept.
    """
    if not FIRST_RUN_DATE <= as_of <= LAST_RUN_DATE:
        raise UserError(f"--as-of {as_of}: give a run date from {FIRST_RUN_DATE} to {LAST_RUN_DATE}")
    config = load_config(config_path)
    con = connect(memory_limit, temp_dir)
    for name, table in config_tables(config).items():
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")
    define_macros(con)
    log = StageLog(on_stage=on_stage)
    started = time.perf_counter()
    inputs = {
        "customers": load_raw(con, customers, "customers", config.customers, CUSTOMER_COLUMNS,
                              REQUIRED_CUSTOMER_COLUMNS),
        "open_items": load_raw(con, open_items, "open_items", config.open_items, OPEN_ITEM_COLUMNS,
                               REQUIRED_ITEM_COLUMNS),
    }
    raw_payments = load_payments(con, payments, config)  # SPEC §9.5; empty without --payments
    if raw_payments is not None:
        inputs["payments"] = raw_payments
    if shard is not None:
        keep_shard(con, shard)
    log.seconds["read_inputs"] = round(time.perf_counter() - started, 3)
    params = {
        "as_of": as_of,
        "grouping": config.run.grouping,
        "consolidate_branches": config.run.consolidate_branches,
        "include_not_due": config.run.include_not_due,
        "include_credits": config.run.include_credits,
        "include_disputed": config.run.include_disputed,
        "default_language": config.run.default_language,
        # dates further than plausible_years from the run date are input errors (03_problems)
        "plausible_years": config.run.plausible_years,
        "plausible_from": years_from(as_of, -config.run.plausible_years),
        "plausible_to": years_from(as_of, config.run.plausible_years),
        "items_date_format": config.open_items.date_format,
        "items_decimal_comma": config.open_items.decimal_comma,
        "customers_date_format": config.customers.date_format,
        "customers_decimal_comma": config.customers.decimal_comma,
        "items_file": str(inputs["open_items"].path),
        "customers_file": str(inputs["customers"].path),
        **payment_params(config, raw_payments),
    }
    run_stages(con, stages, params, log)
    return Session(con, config, inputs, params, log)


def years_from(day: dt.date, years: int) -> dt.date:
    """The same day `years` years later (earlier when negative); 29 February -> 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def keep_shard(con: duckdb.DuckDBPyConnection, shard: tuple[int, int]) -> None:
    """Keep only shard k of n: customers by a stable hash of their id, items with them."""
    k, n = shard
    for table in ("raw_customers", "raw_open_items", "raw_payments"):
        con.execute(f"ALTER {_kind(con, table)} {table} RENAME TO {table}_all")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {table}_all WHERE shard_of(customer_id, $n) = $k",
                    {"n": n, "k": k})


def _kind(con: duckdb.DuckDBPyConnection, name: str) -> str:
    [(is_view,)] = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = $n", {"n": name}).fetchall()
    return "VIEW" if is_view else "TABLE"


MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def connect(memory_limit: str | None = None, temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection; with a memory limit, work beyond it spills to `temp_dir`."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # never the machine's zone: nothing a run computes may depend on where it runs
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit is not None:
        if not MEMORY_LIMIT.fullmatch(memory_limit.strip()):
            raise UserError(f"--memory-limit {memory_limit!r}: give a size such as 4GB or 512MiB")
        # SET takes no bind parameters; the value is checked against MEMORY_LIMIT above
        con.execute(f"SET memory_limit = '{memory_limit.strip()}'")
    if temp_dir is not None:
        con.execute("SET temp_directory = $dir", {"dir": str(temp_dir)})
    return con


def problem_lines(session: Session, limit: int = MAX_PROBLEMS) -> tuple[list[str], int]:
    """`file:row: column: what is wrong` lines, one per kind of problem, and how many kinds."""
    groups = session.con.execute(
        """
        SELECT source, min(_row) AS first_row, count(*) AS n, column_name, message
        FROM problems GROUP BY source, column_name, message
        ORDER BY CASE source WHEN 'open_items' THEN 1 WHEN 'customers' THEN 2 ELSE 3 END, first_row,
                 column_name, message
        """
    ).fetchall()
    lines = []
    for source, row, count, column, message in groups[:limit]:
        more = f" (and {count - 1} more row(s) like it)" if count > 1 else ""
        lines.append(f"{session.inputs[source].path}:{row}: {column}: {message}{more}")
    return lines, len(groups)


def validate(config_path: str | Path, open_items: str | Path, customers: str | Path,
             as_of: dt.date | None = None, payments: str | Path | None = None) -> list[str]:
    """Every problem in the config and inputs, as lines; an empty list when all is well."""
    session = open_session(config_path, open_items, customers, as_of or dt.date.today(), payments=payments)
    lines, total = problem_lines(session)
    if lines:
        return lines + ([f"... and {total - len(lines)} more problem(s)"] if total > len(lines) else [])
    # the inputs are clean: decide the night too, for problems only a run finds (rate coverage)
    session.params["render_pdf"] = False
    run_stages(session.con, DECISION_STAGES, session.params, session.log)
    try:
        _check_rate_coverage(session)
    except ConfigError as exc:
        return exc.lines()
    return []


def run(config_path: str | Path, open_items: str | Path, customers: str | Path, as_of: dt.date,
        out: str | Path, *, force: bool = False, strict: bool | None = None, pdf: bool = True,
        workers: int | None = None, memory_limit: str | None = None, dask: str | None = None,
        on_stage: Callable | None = None, on_progress: Callable | None = None,
        payments: str | Path | None = None) -> RunResult:
    """The nightly job: decide every item, write every output of SPEC §5 into `out` atomically.

    `payments` is the optional payments export of SPEC §9.5 (`--payments`).

    With `dask` (a scheduler address or "local:N"), shards of customers run on a Dask cluster.
    """
    out = Path(out)
    check_target(out, force)
    if dask is not None:
        from .distributed import run_distributed  # dask is needed only here

        return run_distributed(dask, config_path, open_items, customers, as_of, out, force=force,
                               strict=strict, pdf=pdf, on_stage=on_stage, payments=payments)
    spill = out.parent / f".{out.name}.spill-{os.getpid()}"  # DuckDB's temp files, removed at the end
    try:
        return _run(config_path, open_items, customers, as_of, out, force, strict, pdf, workers,
                    memory_limit, spill, on_stage, on_progress, payments)
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _run(config_path, open_items, customers, as_of, out, force, strict, pdf, workers, memory_limit, spill,
         on_stage, on_progress, payments=None) -> RunResult:
    session = open_session(config_path, open_items, customers, as_of, on_stage, memory_limit, spill,
                           payments=payments)
    check_inputs(session, strict, pdf)
    run_stages(session.con, DECISION_STAGES, session.params, session.log)
    check_decisions(session, pdf)
    render = functools.partial(render_letters, sender=session.config.sender, workers=workers,
                               on_progress=on_progress)
    return write_folder(session, out, force, pdf, render)


def check_inputs(session: Session, strict: bool | None, pdf: bool) -> None:
    """Stop before deciding anything when the inputs (strict) or the templates are wrong."""
    session.params["render_pdf"] = pdf
    if pdf:
        _check_templates(session.config)
    strict = session.config.run.strict if strict is None else strict
    if strict:
        lines, total = problem_lines(session)
        if lines:
            raise InputError(lines, more=total - len(lines))


def check_decisions(session: Session, pdf: bool) -> None:
    """Problems only the decided night shows (a rate table too short, no sender email)."""
    _check_rate_coverage(session)
    if pdf:
        _check_sender_email(session)


def write_folder(session: Session, out: Path, force: bool, pdf: bool,
                 render: Callable[[Path], Any]) -> RunResult:
    """Write every output of the decided session into `out` atomically; `render` makes the PDFs."""
    as_of = session.params["as_of"]
    with AtomicFolder(out, force) as folder:
        started = time.perf_counter()
        files = output_files(session.config.money_rules)  # SPEC §9: columns and files of configured rules
        write_data_files(session.con, folder.path, files)
        (folder.path / "views.sql").write_text(views_sql(files), encoding="utf-8")
        write_summary(folder.path, as_of)
        session.log.seconds["write_outputs"] = round(time.perf_counter() - started, 3)
        if pdf:
            started = time.perf_counter()
            render(folder.path)
            session.log.seconds["render_pdfs"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            # SPEC §10.2, §10.3: the emails and the printer's batch, made from the PDFs just written
            write_outbox(folder.path, session.config.sender)
            write_print_batch(folder.path)
            session.log.seconds["delivery_files"] = round(time.perf_counter() - started, 3)
        manifest = build_manifest(session, folder.path, pdf)
        write_json(folder.path / "run.json", manifest)
        folder.commit()
    return RunResult(out=out, manifest=manifest)


def render_folder(out: Path, letter_id: str | None = None, workers: int | None = None,
                  on_progress: Callable | None = None) -> dict[str, int]:
    """Re-render the PDFs of a finished output folder from its files alone (`render`)."""
    manifest = read_manifest(out)
    if letter_id and not has_letter(out, letter_id):
        raise UserError(f"{out}: no letter {letter_id!r} in letters.parquet")
    pages = render_letters(out, manifest["sender"], workers, letter_id, on_progress)
    if pdf_digest(out) != manifest["outputs"].get("pdf/"):
        manifest["outputs"]["pdf/"] = pdf_digest(out)  # e.g. a run made with --no-pdf
        write_json(out / "run.json", manifest)
    return pages


def _check_templates(config: Config) -> None:
    """Every level's template must exist before anything is rendered."""
    known = template_names()
    for policy in config.policies:
        for level in policy.levels:
            if level.template not in known:
                raise ConfigError(f"{config.path}: [[policy]] {policy.name!r} level {level.number} key 'template': "
                                  f"no template {level.template!r} in templates/ (have: {', '.join(sorted(known))})")


def _check_sender_email(session: Session) -> None:
    """Letters going by email need the sender's address: their From and Message-ID (SPEC §10.2)."""
    email = session.config.sender.get("email") or ""
    if re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", email):
        return
    by_email = session.con.execute(
        "SELECT count(*) FROM recipients WHERE delivery IN ('email', 'both')").fetchone()[0]
    if by_email:
        raise ConfigError(f"{session.config.path}: [sender] key 'email': {email!r} is not an email address, "
                          f"and {by_email} letter(s) go by email (From and Message-ID need it)")


def _check_rate_coverage(session: Session) -> None:
    """A reference-rate table must cover every day it is needed for (SPEC §3.4)."""
    gap = session.con.execute(
        """SELECT l.policy, min(i.interest_from), any_value(i.doc_id)
           FROM interest_lines AS i JOIN letter_heads AS l USING (letter_id)
           WHERE i.rate_percent IS NULL GROUP BY l.policy ORDER BY l.policy LIMIT 1"""
    ).fetchone()
    if gap:
        policy, day, doc_id = gap
        source = session.config.policy(policy).interest.reference_path
        raise ConfigError(f"{source}: the reference rates start after {day}, a day interest is charged for "
                          f"(item {doc_id}, policy {policy!r}); add the rate in force on that day")
