"""The `dunning-batch` command line: parses options, calls one library function, prints."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from .checks.reconcile import reconcile as reconcile_folder
from .checks.reconcile import report as reconcile_report
from .checks.diff import diff_runs
from .checks.explain import explain as explain_outcome
from .checks.query import FORMATS as QUERY_FORMATS
from .checks.query import query as query_folder
from .cli_common import (FORCE_HELP, FORCE_SENT_HELP, RunDate, as_of_option, blames_changed_files, config_option,
                         customers_option,
                         exits_cleanly, folder_argument, items_option, letter_progress, payments_option,
                         rates_option, stage_printer)
from .cli_delivery import history, send, void
from .config.model import STALE_EXPORT
from .errors import UserError
from .manifest import edited_note
from .rerender import render_folder
from .distributed import on_cluster
from .run import LOCAL, run_night
from .session import RunOptions
from .printout import Commands, echo, print_summary
from .run import validate as validate_inputs
from .terminal import printable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = PROJECT_ROOT / "config" / "example.toml"
DEMO_ITEMS = PROJECT_ROOT / "fixtures" / "demo" / "open_items.csv"
DEMO_CUSTOMERS = PROJECT_ROOT / "fixtures" / "demo" / "customers.csv"
DEMO_PAYMENTS = PROJECT_ROOT / "fixtures" / "demo" / "payments.csv"
DEMO_RATES = PROJECT_ROOT / "fixtures" / "rates_ecb.csv"   # SPEC §11.1: C038's EUR items in its USD letter
DEMO_AS_OF = dt.date(2026, 11, 24)


@click.group(cls=Commands)
@click.version_option(package_name="dunning-batch")
def main():
    """Turns an ERP's accounts-receivable exports into dunning letters."""


@main.command()
@config_option
@items_option
@customers_option
@payments_option
@rates_option
@as_of_option
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder (must not exist).")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option("--force-sent", "force_sent", is_flag=True, help=FORCE_SENT_HELP)
@click.option("--no-pdf", is_flag=True, help="Skip rendering the PDF letters.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes for rendering.")
@click.option("--strict/--no-strict", default=None, help="Override [run] strict from the config.")
@click.option("--memory-limit", default=None, help="DuckDB memory limit, e.g. 4GB; beyond it work spills to disk.")
@click.option("--dask", "dask_address", default=None,
              help="Run on a Dask cluster: a scheduler address, or local:N for N local workers.")
@click.option("--ledger", "ledger", type=click.Path(dir_okay=False), default=None,
              help="The ledger file (made when new) that remembers every night's letters, voids and sends, so "
                   "that no letter is issued or sent twice; default [run] ledger of the config.")
@click.option("--no-ledger", "no_ledger", is_flag=True, help="Run without the config's ledger (a what-if run).")
@click.option("--stale-export", "stale_export", type=click.Choice(STALE_EXPORT), default=None,
              help="When the export lags the ledger (a levels file was not re-imported): stop, use_ledger or "
                   "use_export; default [run] stale_export of the config (stop).")
@exits_cleanly
def run(config_path, open_items, customers, payments, rates, as_of, out, force, force_sent, no_pdf, workers, strict,
        memory_limit, dask_address, ledger, no_ledger, stale_export):
    """The nightly job: decide every open item and write letters, levels and decisions.

    Example: dunning-batch run --config config/example.toml --open-items items.csv
    --customers customers.csv --as-of 2026-11-24 --out out/2026-11-24
    """
    if as_of is None:
        raise click.UsageError("Missing option '--as-of'.")
    if ledger is not None and no_ledger:
        raise click.UsageError("--ledger and --no-ledger exclude each other.")
    # the driver that decides the night and renders the letters: this machine, or a Dask cluster
    driver = LOCAL if dask_address is None else on_cluster(dask_address)
    with letter_progress() as on_progress:
        options = RunOptions(config_path, open_items, customers, as_of.date(), out=Path(out), payments=payments,
                             force=force, force_sent=force_sent, strict=strict, pdf=not no_pdf, workers=workers,
                             memory_limit=memory_limit, on_stage=stage_printer(), on_progress=on_progress,
                             ledger=ledger, no_ledger=no_ledger, stale_export=stale_export, rates=rates)
        result = run_night(options, driver)
    print_summary(result.manifest, result.out)


@main.command()
@config_option
@items_option
@customers_option
@payments_option
@rates_option
@as_of_option
@exits_cleanly
def validate(config_path, open_items, customers, payments, rates, as_of):
    """Lists every problem in the config and the inputs; writes nothing.

    Example: dunning-batch validate --config config/example.toml --open-items items.csv --customers customers.csv
    """
    problems = validate_inputs(config_path, open_items, customers, as_of.date() if as_of else None, payments, rates)
    if problems:
        raise UserError(problems)
    echo("valid: no problems found")


@main.command()
@click.option("--out", default="demo-out", show_default=True, type=click.Path(file_okay=False))
@click.option("--as-of", "as_of", type=RunDate(formats=["%Y-%m-%d"]), default=str(DEMO_AS_OF),
              show_default=True)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option("--force-sent", "force_sent", is_flag=True, help=FORCE_SENT_HELP)
@exits_cleanly
def demo(out, as_of, force, force_sent):
    """Runs the bundled example (config/example.toml, fixtures/demo/) end to end.

    Example: dunning-batch demo --out demo-out --force
    """
    with letter_progress() as on_progress:
        options = RunOptions(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, as_of.date(), out=Path(out),
                             payments=DEMO_PAYMENTS if DEMO_PAYMENTS.is_file() else None, rates=DEMO_RATES, force=force,
                             force_sent=force_sent, on_stage=stage_printer(), on_progress=on_progress)
        result = run_night(options, LOCAL)
    print_summary(result.manifest, result.out)


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--letter", "letter_id", default=None, help="Re-render only this letter.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@click.option("--out", "target", type=click.Path(file_okay=False), default=None,
              help="Write a new complete folder (must not exist) instead of changing OUT; needed once letters "
                   "of OUT were sent.")
@exits_cleanly
@blames_changed_files("out")
def render(out, letter_id, workers, target):
    """Re-renders the PDF letters of an output folder from its files alone; when a PDF comes out
    different, rebuilds the outbox and print batch from the new PDFs and says which changed.

    Example: dunning-batch render out/2026-11-24 --letter DL-20261124-0123456789abcdef
    (or: dunning-batch render out/2026-11-24 --out out/2026-11-24-rerendered)
    """
    with letter_progress() as on_progress:
        result = render_folder(Path(out), letter_id, workers, on_progress, Path(target) if target else None)
    echo(result.report())


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--open-items", "open_items", type=click.Path(exists=True, dir_okay=False),
              help="The original export: also check that nothing was lost between it and decisions.")
@exits_cleanly
@blames_changed_files("out")
def reconcile(out, open_items):
    """Proves the invariants of SPEC §8 on an output folder; exit 1 on any failed check.

    Example: dunning-batch reconcile out/2026-11-24 --open-items export/open_items.csv
    """
    checks = reconcile_folder(Path(out), Path(open_items) if open_items else None)
    echo(reconcile_report(checks))
    sys.exit(0 if all(c.ok for c in checks) else 1)


@main.command()
@click.option("--customers", "customer_count", required=True, type=click.IntRange(min=1),
              help="Number of customers; items follow a long-tailed count per customer.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the export files.")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same export.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--as-of", "as_of", type=RunDate(formats=["%Y-%m-%d"]), default=str(DEMO_AS_OF),
              show_default=True, help="The run date the export is made for.")
@click.option("--force", is_flag=True,
              help="Write into a folder that is not empty, replacing only the two files synth writes.")
@click.option("--letters-share", "letters_share", type=click.FloatRange(0, 1), default=0.15, show_default=True,
              help="The share of customers the export aims to give a letter tonight under config/example.toml.")
@exits_cleanly
def synth(customer_count, out, seed, fmt, as_of, force, letters_share):
    """Writes a realistic synthetic export (open items and customers) of any size.

    Example: dunning-batch synth --customers 200000 --out /tmp/export --seed 7
    """
    from .synth import synth_aim, write_synthetic  # here: polars, which only synth needs, takes 0.2 s to import

    counts = write_synthetic(Path(out), customer_count, seed, as_of.date(), fmt, force=force,
                             letters_share=letters_share)
    echo(printable(f"wrote {counts['open_items']:,} open items and {counts['customers']:,} customers to {out} "
                   f"(run it with config/example.toml, --as-of {as_of.date()})"))
    echo(synth_aim(counts))


# send and void: the ledger of the folder's night (README "Running every night")
@main.command()
@folder_argument
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(QUERY_FORMATS), default="table", show_default=True,
              help="An aligned table, or csv / json / parquet for scripts.")
@click.option("--to", "to", type=click.Path(dir_okay=False), default=None,
              help="Write the result to this file instead of stdout (required for parquet).")
@exits_cleanly
@blames_changed_files("out")
def query(out, sql, fmt, to):
    """Runs SQL over an output folder's views (letters, decisions, aging_buckets, ...).

    Example: dunning-batch query out/2026-11-24 "SELECT * FROM letters_by_level" --format csv
    """
    result = query_folder(Path(out), sql, fmt, to)
    if result.path is not None:
        echo(printable(f"wrote {result.rows} row(s) to {result.path}"), err=True)
    else:
        echo(result.text, nl=False)


@main.command()
@folder_argument
@click.argument("doc_id", required=False)
@click.option("--customer", "customer_id", default=None, help="Explain every item of this customer instead.")
@exits_cleanly
@blames_changed_files("out")
def explain(out, doc_id, customer_id):
    """Says in plain sentences why an item, or each item of a customer, got its outcome.

    Example: dunning-batch explain out/2026-11-24 INV-10006
    (or: dunning-batch explain out/2026-11-24 --customer C002)
    """
    echo(explain_outcome(Path(out), doc_id, customer_id), nl=False)
    if note := edited_note(Path(out)):
        echo(printable(note), err=True)


@main.command()
@click.argument("out_a", metavar="OUT_A", type=click.Path(file_okay=False))
@click.argument("out_b", metavar="OUT_B", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@exits_cleanly
@blames_changed_files("out_a", "out_b")
def diff(out_a, out_b, fmt):
    """Letters, level changes and decisions per reason that differ between two runs; exit 1 when any.

    Example: dunning-batch diff out/2026-11-24 out/2026-11-24-new-thresholds --format json
    """
    result = diff_runs(Path(out_a), Path(out_b))
    echo(result.to_json() if fmt == "json" else result.to_text(), nl=False)
    for note in filter(None, (edited_note(Path(out_a)), edited_note(Path(out_b)))):
        echo(printable(note), err=True)
    sys.exit(1 if result.differ else 0)


# the commands that deliver letters and keep their record (cli_delivery.py)
for command in (send, void, history):
    main.add_command(command)
