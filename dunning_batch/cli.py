"""The `dunning-batch` command line: parses options, calls one library function, prints."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
from pathlib import Path

import click

from .checks.reconcile import reconcile as reconcile_folder
from .checks.reconcile import report as reconcile_report
from .checks.diff import diff_runs
from .checks.explain import explain as explain_outcome
from .checks.query import FORMATS as QUERY_FORMATS
from .checks.query import query as query_folder
from .checks.void import void_letters
from .delivery.send import Pacing, send_outbox
from .delivery.smtp_session import SmtpServer, check_login, parse_server
from .config.model import STALE_EXPORT
from .errors import UserError
from .rerender import render_folder
from .distributed import on_cluster
from .ledger.history import FORMATS as HISTORY_FORMATS, history as ledger_history
from .run import LOCAL, run_night
from .session import FIRST_RUN_DATE, LAST_RUN_DATE, RunOptions
from .printout import echo, print_delivery, print_summary
from .terminal import printable
from .synth import write_synthetic
from .run import validate as validate_inputs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = PROJECT_ROOT / "config" / "example.toml"
DEMO_ITEMS = PROJECT_ROOT / "fixtures" / "demo" / "open_items.csv"
DEMO_CUSTOMERS = PROJECT_ROOT / "fixtures" / "demo" / "customers.csv"
DEMO_PAYMENTS = PROJECT_ROOT / "fixtures" / "demo" / "payments.csv"
DEMO_AS_OF = dt.date(2026, 11, 24)



class RunDate(click.DateTime):
    """A run date YYYY-MM-DD within FIRST_RUN_DATE..LAST_RUN_DATE: far enough from the ends of
    the calendar that every date a run computes from it (pay-by dates, the plausibility window
    of [run] plausible_years) is a date; a usage error (exit 2) otherwise."""

    def convert(self, value, param, ctx):
        parsed = super().convert(value, param, ctx)
        if not FIRST_RUN_DATE <= parsed.date() <= LAST_RUN_DATE:
            self.fail(f"{parsed.date()} is not a run date this tool takes; give a date from "
                      f"{FIRST_RUN_DATE} to {LAST_RUN_DATE}", param, ctx)
        return parsed


# Options shared by several commands, defined once.
config_option = click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
                             help="The TOML config (SPEC §3).")
items_option = click.option("--open-items", "open_items", required=True, type=click.Path(dir_okay=False),
                            help="Open AR items export, .csv or .parquet.")
customers_option = click.option("--customers", required=True, type=click.Path(dir_okay=False),
                                help="Customers export, .csv or .parquet.")
payments_option = click.option("--payments", default=None, type=click.Path(dir_okay=False),
                               help="Optional payments export, .csv or .parquet: interest on late payments "
                                    "(SPEC §9.5).")
as_of_option = click.option("--as-of", "as_of", type=RunDate(formats=["%Y-%m-%d"]),
                            help="Run date D (YYYY-MM-DD).")
FORCE_HELP = ("Replace an existing output folder, only when it is an earlier run's finished folder holding "
              "nothing but a run's files (never one holding this run's inputs or config).")
FORCE_SENT_HELP = ("Like --force, and also replace a folder whose letters were sent or voided: its send journal "
                   "(delivery/sent.jsonl) and voids are lost, so the next send mails every letter again.")
folder_argument = click.argument("out", metavar="OUT", type=click.Path(file_okay=False))


def exits_cleanly(command):
    """Turns the errors a user can act on into one line each and exit 2; never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            for line in exc.lines():  # a line may quote data: shown with its control characters escaped
                echo(printable(line), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException:  # usage errors: click prints them with the usage line, exit 2
            raise
        except Exception as exc:  # a bug of ours: still one line, and a distinct exit code
            echo(printable(f"dunning-batch: internal error: {type(exc).__name__}: {exc}"), err=True)
            sys.exit(3)

    return wrapper


@contextlib.contextmanager
def _letter_progress(label: str = "rendering letters"):
    """A progress bar over letters on a terminal; nothing in CI and pipes."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=0, label=label, file=sys.stderr) as bar:
        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(done)
        yield advance


def _stage_printer():
    """Stage progress on a terminal; quiet in CI and pipes."""
    if not sys.stderr.isatty():
        return None
    return lambda stage, rows, seconds: echo(f"  {stage:<24} {rows:>12,} rows  {seconds:7.2f} s", err=True)


@click.group()
@click.version_option(package_name="dunning-batch")
def main():
    """Turns an ERP's accounts-receivable exports into dunning letters."""


@main.command()
@config_option
@items_option
@customers_option
@payments_option
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
def run(config_path, open_items, customers, payments, as_of, out, force, force_sent, no_pdf, workers, strict,
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
    with _letter_progress() as on_progress:
        options = RunOptions(config_path, open_items, customers, as_of.date(), out=Path(out), payments=payments,
                             force=force, force_sent=force_sent, strict=strict, pdf=not no_pdf, workers=workers,
                             memory_limit=memory_limit, on_stage=_stage_printer(), on_progress=on_progress,
                             ledger=ledger, no_ledger=no_ledger, stale_export=stale_export)
        result = run_night(options, driver)
    print_summary(result.manifest, result.out)


@main.command()
@config_option
@items_option
@customers_option
@payments_option
@as_of_option
@exits_cleanly
def validate(config_path, open_items, customers, payments, as_of):
    """Lists every problem in the config and the inputs; writes nothing.

    Example: dunning-batch validate --config config/example.toml --open-items items.csv --customers customers.csv
    """
    problems = validate_inputs(config_path, open_items, customers, as_of.date() if as_of else None, payments)
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
    with _letter_progress() as on_progress:
        options = RunOptions(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, as_of.date(), out=Path(out),
                             payments=DEMO_PAYMENTS if DEMO_PAYMENTS.is_file() else None, force=force,
                             force_sent=force_sent, on_stage=_stage_printer(), on_progress=on_progress)
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
def render(out, letter_id, workers, target):
    """Re-renders the PDF letters of an output folder from its files alone; when a PDF comes out
    different, rebuilds the outbox and print batch from the new PDFs and says which changed.

    Example: dunning-batch render out/2026-11-24 --letter DL-20261124-0123456789abcdef
    (or: dunning-batch render out/2026-11-24 --out out/2026-11-24-rerendered)
    """
    with _letter_progress() as on_progress:
        result = render_folder(Path(out), letter_id, workers, on_progress, Path(target) if target else None)
    echo(result.report())


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--open-items", "open_items", type=click.Path(exists=True, dir_okay=False),
              help="The original export: also check that nothing was lost between it and decisions.")
@exits_cleanly
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
@exits_cleanly
def synth(customer_count, out, seed, fmt, as_of, force):
    """Writes a realistic synthetic export (open items and customers) of any size.

    Example: dunning-batch synth --customers 200000 --out /tmp/export --seed 7
    """
    counts = write_synthetic(Path(out), customer_count, seed, as_of.date(), fmt, force=force)
    echo(f"wrote {counts['open_items']:,} open items and {counts['customers']:,} customers to {out} "
               f"(run it with config/example.toml, --as-of {as_of.date()})")


# send and void: the ledger of the folder's night (README "Running every night")
FOLDER_LEDGER_HELP = ("The ledger (relative to the working directory); default: the one the run recorded in "
                      "OUT/run.json, if any.")


def _say_waiting(message: str) -> None:
    """What send and void say, once, while a run holds the ledger."""
    echo(printable(message), err=True)


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.argument("letter_ids", nargs=-1, required=True)
@click.option("--out", "target", type=click.Path(file_okay=False), default=None,
              help="Folder for the void's files (default OUT/voids/VOID_ID).")
@click.option("--as-of", "as_of", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day of the void (YYYY-MM-DD): the date of every reversal document.")
@click.option("--ledger", "ledger", type=click.Path(dir_okay=False), default=None, help=FOLDER_LEDGER_HELP)
@exits_cleanly
def void(out, letter_ids, target, as_of, ledger):
    """Undoes letters sent by mistake: restoring levels file, fee reversals and customer actions to undo.

    Example: dunning-batch void out/2026-11-24 DL-20261124-0123456789abcdef --as-of 2026-11-26
    """
    record = void_letters(Path(out), list(letter_ids), Path(target) if target else None, as_of=as_of.date(),
                          ledger=ledger, on_wait=_say_waiting)
    echo(f"{record['void_id']}: {len(record['letters'])} letter(s) voided on {record['void_date']}, "
               f"{record['levels_restored']} level(s) restored, {record['fee_reversals']} fee reversal(s), "
               f"{len(record['customer_actions_restored'])} customer action(s) to undo -> {record['folder']}")


@main.command()
@folder_argument
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(QUERY_FORMATS), default="table", show_default=True,
              help="An aligned table, or csv / json / parquet for scripts.")
@click.option("--to", "to", type=click.Path(dir_okay=False), default=None,
              help="Write the result to this file instead of stdout (required for parquet).")
@exits_cleanly
def query(out, sql, fmt, to):
    """Runs SQL over an output folder's views (letters, decisions, aging_buckets, ...).

    Example: dunning-batch query out/2026-11-24 "SELECT * FROM letters_by_level" --format csv
    """
    result = query_folder(Path(out), sql, fmt, to)
    if result.path is not None:
        echo(f"wrote {result.rows} row(s) to {result.path}", err=True)
    else:
        echo(result.text, nl=False)


@main.command()
@folder_argument
@click.argument("doc_id", required=False)
@click.option("--customer", "customer_id", default=None, help="Explain every item of this customer instead.")
@exits_cleanly
def explain(out, doc_id, customer_id):
    """Says in plain sentences why an item, or each item of a customer, got its outcome.

    Example: dunning-batch explain out/2026-11-24 INV-10006
    (or: dunning-batch explain out/2026-11-24 --customer C002)
    """
    echo(explain_outcome(Path(out), doc_id, customer_id), nl=False)


@main.command()
@click.argument("doc_id", required=False)
@click.option("--customer", "customer_id", default=None, help="Tell this customer's letters instead.")
@click.option("--ledger", required=True, type=click.Path(dir_okay=False), help="The ledger the runs recorded.")
@click.option("--format", "fmt", type=click.Choice(HISTORY_FORMATS), default="text", show_default=True)
@click.option("--to", default=None, type=click.Path(dir_okay=False), help="Write here instead (needed for parquet).")
@exits_cleanly
def history(doc_id, customer_id, ledger, fmt, to):
    """Tells an item's or a customer's dunning history across nights, from the ledger alone.

    Example: dunning-batch history INV-10006 --ledger ledger.duckdb (or --customer C002 --format csv)
    """
    result = ledger_history(ledger, doc_id, customer_id, fmt, to, on_wait=lambda line: echo(printable(line), err=True))
    if result.path is not None:
        echo(printable(f"wrote {result.rows} row(s) to {result.path}"), err=True)
    else:
        echo(result.text, nl=False)  # its values escaped (terminal.printable) by ledger/history.py


@main.command()
@click.argument("out_a", metavar="OUT_A", type=click.Path(file_okay=False))
@click.argument("out_b", metavar="OUT_B", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@exits_cleanly
def diff(out_a, out_b, fmt):
    """Letters, level changes and decisions per reason that differ between two runs; exit 1 when any.

    Example: dunning-batch diff out/2026-11-24 out/2026-11-24-new-thresholds --format json
    """
    result = diff_runs(Path(out_a), Path(out_b))
    echo(result.to_json() if fmt == "json" else result.to_text(), nl=False)
    sys.exit(1 if result.differ else 0)


@main.command()
@click.argument("out", metavar="OUT", type=click.Path(exists=True, file_okay=False))
@click.option("--smtp", "smtp", metavar="HOST[:PORT]", default=None,
              help="The SMTP server (port default 25, 587 with --starttls, 465 with --ssl).")
@click.option("--starttls", is_flag=True, help="Upgrade the connection with STARTTLS.")
@click.option("--ssl", "use_ssl", is_flag=True, help="Connect over TLS from the start (SMTPS).")
@click.option("--user", default=None, help="Log in as this user (needs --password-env).")
@click.option("--password-env", "password_env", metavar="VAR", default=None,
              help="The environment variable holding the password (never given on the command line).")
@click.option("--max-per-minute", "max_per_minute", type=click.IntRange(min=1), default=None,
              help="Send at most this many messages a minute.")
@click.option("--dry-run", is_flag=True, help="List what would be sent; connect to nothing.")
@click.option("--ledger", "ledger", type=click.Path(dir_okay=False), default=None, help=FOLDER_LEDGER_HELP)
@click.option("--resend-in-doubt", "resend_in_doubt", is_flag=True,
              help="Send again the letters in doubt: an earlier send stopped while the server may have taken "
                   "them (check the mail server's log first).")
@exits_cleanly
def send(out, smtp, starttls, use_ssl, user, password_env, max_per_minute, dry_run, ledger, resend_in_doubt):
    """Delivers the outbox of an output folder by SMTP, never a letter twice (journal: OUT/delivery/sent.jsonl).

    With a ledger, never a letter any folder's send got accepted either, nor one in doubt unless
    --resend-in-doubt. Exit 0 when every letter is accepted, 1 when some were not or are in doubt
    (each named), 2 for bad usage.

    Example: SMTP_PASSWORD=... dunning-batch send out/2026-11-24 --smtp mail.example.com --starttls
    --user dunning@example.com --password-env SMTP_PASSWORD --max-per-minute 60
    """
    if starttls and use_ssl:
        raise click.UsageError("--starttls and --ssl exclude each other: STARTTLS upgrades a plain connection, "
                               "--ssl starts with TLS.")
    security = "starttls" if starttls else "ssl" if use_ssl else "plain"
    server = _smtp_server(smtp, security, user, password_env, dry_run)
    with _letter_progress("sending letters") as on_progress:
        result = send_outbox(Path(out), server, Pacing(max_per_minute=max_per_minute), dry_run=dry_run,
                             on_progress=on_progress, ledger=ledger, resend_in_doubt=resend_in_doubt,
                             on_wait=_say_waiting)
    print_delivery(result)
    sys.exit(0 if result.ok else 1)


def _smtp_server(smtp, security, user, password_env, dry_run) -> SmtpServer | None:
    """The server options checked together; the password is read from the environment only."""
    if smtp is None:
        if dry_run:
            return None
        raise click.UsageError("Missing option '--smtp'.")
    if bool(user) != bool(password_env):
        raise click.UsageError("--user and --password-env go together: the password is read from that variable.")
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:  # never echo the name: it may be the password itself, given by mistake
            raise UserError("--password-env: the environment variable named by --password-env is not set or empty; "
                            "export the SMTP password in a variable and give --password-env that variable's name")
    check_login(user, password)
    host, port = parse_server(smtp, security)
    return SmtpServer(host, port, security, user, password)
