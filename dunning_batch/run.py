"""The nightly job as an ordered list of steps over one Session (`steps`):

    hold_ledger -> guard_out -> start -> load -> check_inputs -> reject -> compare_export
        -> decide -> write -> render -> deliver -> record

`check_inputs` is the validation (guards.py). `hold_ledger`, `compare_export` and the end of
`record` are the ledger's (ledger/nightly.py). `decide` runs the decision stages of SPEC §4,
which price the letters too (interest, fees and totals are stages 55-60); `start`, `decide`
and `render` are the driver's: this machine (LOCAL, here) or a Dask cluster
(distributed.on_cluster), which the CLI picks with --dask. `run()` is the keyword API the
tests and benchmarks call; `validate()` stops after the checks."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Callable

from .checks.summary import write_summary
from .delivery.outbox import write_outbox
from .delivery.print_batch import write_print_batch
from .distributed import on_cluster
from .errors import ConfigError
from .guards import check_decisions, check_inputs, check_rate_coverage, problem_lines
from .ledger.nightly import compare_export, hold_ledger, mark_sent, record_finished, record_pending
from .letters.environment import pdf_environment
from .letters.pool import render_letters, start_helpers
from .manifest import build_manifest
from .outputs import AtomicFolder, output_files, output_rules, views_sql, write_data_files, write_json
from .outputs.levels_file import levels_file_layout
from .outputs.guard import check_out, write_errors
from .pipeline import DECISION_STAGES, REJECTION_STAGES, drop_spent, relation, run_stages
from .session import (FIRST_RUN_DATE, LAST_RUN_DATE, Driver, RunOptions, RunResult, Session, Step, load,
                      protected_paths)
from .sql_runner import connect, count_rows, rows  # connect: tests open a connection as a run does, from here

__all__ = ["FIRST_RUN_DATE", "LAST_RUN_DATE", "LOCAL", "RunOptions", "RunResult", "connect", "run", "run_night", "steps",
           "validate"]


# the stage after which a run knows how many letters it renders (decide_local)
LETTERS_MADE = "60_letters"


def steps(driver: Driver) -> tuple[Step, ...]:
    """The run, in order; `start`, `decide` and `render` are the driver's."""
    return (hold_ledger, guard_out, driver.start, load, check_inputs, reject, compare_export, driver.decide, write,
            driver.render, deliver, record)


def run_night(options: RunOptions, driver: Driver | None = None) -> RunResult:
    """The nightly job: decide every item, write every output of SPEC §5 into `options.out`
    atomically, on this machine or with `driver` (distributed.on_cluster)."""
    session = Session(options)
    with session.exits:  # the spill folder, a cluster's client, an unfinished folder: gone at the end
        for step in steps(driver or LOCAL):
            step(session)
    return RunResult(out=options.out, manifest=session.manifest)


def run(config_path: str | Path, open_items: str | Path, customers: str | Path, as_of: dt.date,
        out: str | Path, *, force: bool = False, strict: bool | None = None, pdf: bool = True,
        workers: int | None = None, memory_limit: str | None = None, dask: str | None = None,
        on_stage: Callable | None = None, on_progress: Callable | None = None,
        payments: str | Path | None = None, force_sent: bool = False, ledger: str | Path | None = None,
        no_ledger: bool = False, stale_export: str | None = None, rates: str | Path | None = None) -> RunResult:
    """run_night with keywords; with `dask` (a scheduler address or "local:N"), shards of
    customers run on a Dask cluster."""
    options = RunOptions(config_path, open_items, customers, as_of, out=Path(out), payments=payments, force=force,
                         force_sent=force_sent, strict=strict, pdf=pdf, workers=workers, memory_limit=memory_limit,
                         on_stage=on_stage, on_progress=on_progress, ledger=ledger, no_ledger=no_ledger,
                         stale_export=stale_export, rates=rates)
    return run_night(options, None if dask is None else on_cluster(dask))


def validate(config_path: str | Path, open_items: str | Path, customers: str | Path,
             as_of: dt.date | None = None, payments: str | Path | None = None,
             rates: str | Path | None = None) -> list[str]:
    """Every problem in the config and inputs, as lines; an empty list when all is well."""
    # the inputs are judged as a run with PDFs (the default) judges them: a customer created
    # with no postal address is a problem (sql/17_created_customer_problems); nothing is rendered
    session = Session(RunOptions(config_path, open_items, customers, as_of or dt.date.today(), payments=payments,
                                 pdf=True, rates=rates))
    load(session)
    lines, total = problem_lines(session)
    if lines:
        return lines + ([f"... and {total - len(lines)} more problem(s)"] if total > len(lines) else [])
    # the inputs are clean: decide the night too, for problems only a run finds (rate coverage)
    session.params["render_pdf"] = False
    run_stages(session.con, REJECTION_STAGES + DECISION_STAGES, session.params, session.log)
    try:
        check_rate_coverage(session)
    except ConfigError as exc:
        return exc.lines()
    return []


# --- the steps ----------------------------------------------------------------------------------

def guard_out(session: Session) -> None:
    """Step: refuse an `out` that is no place for a run's folder before reading anything."""
    options = session.options
    check_out(options.out, options.replaces, force_sent(session), options.input_paths())


def force_sent(session: Session) -> bool:
    """Whether a folder whose letters were sent or voided may be replaced: with --force-sent, or
    with --force when the ledger now holds what its journal and voids recorded."""
    return session.options.force_sent or (session.night is not None and session.night.keeps_sends)


def start_local(session: Session) -> None:
    """Step (LOCAL): DuckDB's temp files go to a hidden folder beside `out`, removed at the end."""
    out = session.options.out
    session.memory_limit = session.options.memory_limit
    session.spill = out.parent / f".{out.name}.spill-{os.getpid()}"
    session.exits.callback(shutil.rmtree, session.spill, ignore_errors=True)


def reject(session: Session) -> None:
    """Step: the rows set aside (non-strict), decided once for the whole export, before the
    ledger is compared with what is left and before any shard decides; and what the export held
    (run.json's input_totals), counted while its parsed rows are there."""
    run_stages(session.con, REJECTION_STAGES, session.params, session.log)
    session.input_totals = rows(session.con, "reports/input_totals")


def decide_local(session: Session) -> None:
    """Step (LOCAL): the decision stages of SPEC §4 on this machine, then the checks of the night.
    A run with PDFs starts its rendering helpers as soon as its letters are counted (LETTERS_MADE),
    when they are enough to repay a helper's start (letters.pool.HELPER_LETTERS), so that the
    start (about a second each: WeasyPrint, fonts) overlaps with DuckDB's remaining stages and
    the writing; a run its inputs stop starts none. They stop at the end, however the run ends."""
    counted = DECISION_STAGES.index(LETTERS_MADE) + 1
    run_stages(session.con, DECISION_STAGES[:counted], session.params, session.log)
    if session.options.pdf:
        session.helpers = start_helpers(session.options.workers, count_rows(session.con, relation(LETTERS_MADE)))
        if session.helpers is not None:
            session.exits.callback(session.helpers.close)
    run_stages(session.con, DECISION_STAGES[counted:], session.params, session.log)
    check_decisions(session)
    drop_spent(session.con)


def write(session: Session) -> None:
    """Step: the data files, views.sql and summary.html into a temporary folder beside `out`.

    From here on a disk that fills up or refuses the folder is one sentence (exit 2), with
    nothing left behind."""
    out, options = session.options.out, session.options
    session.exits.enter_context(write_errors(out))
    session.folder = folder = session.exits.enter_context(AtomicFolder(out, options.replaces))
    with session.log.timed("write_outputs"):
        # SPEC §9: columns and files of configured rules; the levels file in the export's terms if asked
        files = output_files(output_rules(session.config, session.con), levels_file_layout(session.config))
        write_data_files(session.con, folder.path, files)
        (folder.path / "views.sql").write_text(views_sql(files), encoding="utf-8")
        mark_sent(session)
        write_summary(folder.path, session.params["as_of"],
                      session.night.report() if session.night is not None else None, session.con, files)


def render_local(session: Session) -> None:
    """Step (LOCAL): the PDF letters, over `workers` processes of this machine."""
    if not session.options.pdf:
        return
    with session.log.timed("render_pdfs"):
        render_letters(session.folder.path, sender=session.config.sender, workers=session.options.workers,
                       on_progress=session.options.on_progress, helpers=session.helpers)
    session.pdf_environment = pdf_environment()   # the helpers are this machine's processes


def deliver(session: Session) -> None:
    """Step: SPEC §10.2, §10.3: the emails and the printer's batch, made from the PDFs just written."""
    if not session.options.pdf:
        return
    with session.log.timed("delivery_files"):
        write_outbox(session.folder.path, session.config.sender)
        write_print_batch(session.folder.path)


def record(session: Session) -> None:
    """Step: run.json, then the folder becomes `out`; with a ledger, recorded `pending` just
    before and `finished` just after (a kill in between is adopted or dropped next time)."""
    options, folder = session.options, session.folder
    session.manifest = build_manifest(session, folder.path, options.pdf)
    write_json(folder.path / "run.json", session.manifest)
    # again, now that the run is done: `out` may have appeared or been sent from meanwhile
    check_out(options.out, options.replaces, force_sent(session), protected_paths(session))
    record_pending(session, folder.path, options.out)
    folder.commit()
    record_finished(session)


LOCAL = Driver("this machine", start=start_local, decide=decide_local, render=render_local)
