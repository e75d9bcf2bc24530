"""The nightly job as one library function: load -> validate -> decide -> price -> write.

`run()` is what the CLI and the tests call; `validate()` stops after the checks.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from .checks.summary import write_summary
from .config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS, Config, config_tables, load_config
from .errors import ConfigError, InputError, LetterIdCollision, UserError
from .manifest import build_manifest
from .outputs.guard import check_out, write_errors
from .outputs import AtomicFolder, output_files, views_sql, write_data_files, write_json
from .payments import load_payments, payment_params
from .sql_runner import connect
from .pipeline import DECISION_STAGES, INPUT_STAGES, REJECTION_STAGES, StageLog, define_macros, run_stages, stage_sql
from .delivery.outbox import write_outbox
from .delivery.print_batch import write_print_batch
from .letters.batches import render_letters
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
    run_stages(session.con, REJECTION_STAGES + DECISION_STAGES, session.params, session.log)
    try:
        _check_rate_coverage(session)
    except ConfigError as exc:
        return exc.lines()
    return []


def run(config_path: str | Path, open_items: str | Path, customers: str | Path, as_of: dt.date,
        out: str | Path, *, force: bool = False, strict: bool | None = None, pdf: bool = True,
        workers: int | None = None, memory_limit: str | None = None, dask: str | None = None,
        on_stage: Callable | None = None, on_progress: Callable | None = None,
        payments: str | Path | None = None, force_sent: bool = False) -> RunResult:
    """The nightly job: decide every item, write every output of SPEC §5 into `out` atomically.

    `payments` is the optional payments export of SPEC §9.5 (`--payments`). `force` replaces
    an existing `out` only when it is an earlier run's folder (outputs/guard.py); one whose letters
    were sent or voided needs `force_sent` too.

    With `dask` (a scheduler address or "local:N"), shards of customers run on a Dask cluster.
    """
    out = Path(out)
    force = force or force_sent
    check_out(out, force, force_sent, [Path(p) for p in (config_path, open_items, customers, payments) if p])
    if dask is not None:
        from .distributed import run_distributed  # dask is needed only here

        return run_distributed(dask, config_path, open_items, customers, as_of, out, force=force,
                               strict=strict, pdf=pdf, on_stage=on_stage, payments=payments,
                               force_sent=force_sent)
    spill = out.parent / f".{out.name}.spill-{os.getpid()}"  # DuckDB's temp files, removed at the end
    try:
        return _run(config_path, open_items, customers, as_of, out, force, strict, pdf, workers,
                    memory_limit, spill, on_stage, on_progress, payments, force_sent)
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _run(config_path, open_items, customers, as_of, out, force, strict, pdf, workers, memory_limit, spill,
         on_stage, on_progress, payments=None, force_sent=False) -> RunResult:
    session = open_session(config_path, open_items, customers, as_of, on_stage, memory_limit, spill,
                           payments=payments)
    check_inputs(session, strict, pdf)
    run_stages(session.con, REJECTION_STAGES + DECISION_STAGES, session.params, session.log)
    check_decisions(session, pdf)
    render = functools.partial(render_letters, sender=session.config.sender, workers=workers,
                               on_progress=on_progress)
    return write_folder(session, out, force, pdf, render, force_sent)


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


def check_decisions(session: Session, pdf: bool, letter_ids: bool = True) -> None:
    """Problems only the decided night shows (two keys with one letter id, a rate table too
    short, no sender email). A shard of a Dask run leaves the letter ids to its coordinator,
    which checks the keys of all shards at once (`letter_ids=False`)."""
    if letter_ids:
        check_letter_ids(session.con)
    _check_rate_coverage(session)
    if pdf:
        _check_sender_email(session)


def check_letter_ids(con: duckdb.DuckDBPyConnection) -> None:
    """SPEC §5: two different letter keys never share a letter id. Raises LetterIdCollision
    (exit 3, nothing written) naming the id and its keys when the relation `letter_keys` has any."""
    collisions = con.execute(stage_sql("letter_id_collisions")).fetchall()
    if collisions:
        letter_id, keys = collisions[0]
        more = f"; {len(collisions) - 1} more id(s) like it" if len(collisions) > 1 else ""
        raise LetterIdCollision(f"letter id {letter_id} would be shared by the letter keys "
                                f"{' and '.join(repr(k) for k in keys)} (SPEC §5: two keys never share a "
                                f"letter){more}; the run stops and writes nothing")


def write_folder(session: Session, out: Path, force: bool, pdf: bool,
                 render: Callable[[Path], Any], force_sent: bool = False) -> RunResult:
    """Write every output of the decided session into `out` atomically; `render` makes the PDFs.

    A disk that fills up or refuses the folder is one sentence (exit 2), with nothing left behind.
    """
    with write_errors(out):
        return _write_folder(session, out, force, pdf, render, force_sent)


def _write_folder(session: Session, out: Path, force: bool, pdf: bool, render: Callable[[Path], Any],
                  force_sent: bool) -> RunResult:
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
        # again, now that the run is done: `out` may have appeared or been sent from meanwhile
        check_out(out, force, force_sent, protected_paths(session))
        folder.commit()
    return RunResult(out=out, manifest=manifest)


def protected_paths(session: Session) -> list[Path]:
    """What the run read (config, exports, reference rates): `--force` never replaces a folder holding them."""
    rates = {p.interest.reference_path for p in session.config.policies if p.interest.reference_path}
    return [Path(session.config.path), *(raw.path for raw in session.inputs.values()), *map(Path, rates)]


def _check_templates(config: Config) -> None:
    """Every level's template must exist before anything is rendered."""
    known = template_names()
    for policy in config.policies:
        for level in policy.levels:
            if level.template not in known:
                raise ConfigError(f"{config.path}: [[policy]] {policy.name!r} level {level.number} key 'template': "
                                  f"no template {level.template!r} in templates/ (have: {', '.join(sorted(known))})")


def _check_sender_email(session: Session) -> None:
    """Letters going by email need the sender's address: their From and Message-ID (SPEC §10.2).
    An address that is given is checked when the config is read (config/load.py)."""
    email = session.config.sender.get("email") or ""
    if email:
        return
    by_email = session.con.execute(
        "SELECT count(*) FROM recipients WHERE delivery IN ('email', 'both')").fetchone()[0]
    if by_email:
        raise ConfigError(f"{session.config.path}: [sender] key 'email': is not set, but {by_email} letter(s) "
                          f"go by email (their From and Message-ID need it); add the address")


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
