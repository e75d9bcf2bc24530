"""What the commands of the command line share (cli.py, cli_delivery.py): the run-date type,
the options several commands take, the wrapper that turns errors into one line and an exit
code, and the progress shown on a terminal."""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path

import click

from .errors import UserError
from .manifest import changed_file
from .printout import echo
from .session import FIRST_RUN_DATE, LAST_RUN_DATE
from .terminal import printable, shortened


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
                             help="The TOML config; its keys: docs/config.md.")
items_option = click.option("--open-items", "open_items", required=True, type=click.Path(dir_okay=False),
                            help="Open AR items export, .csv or .parquet.")
customers_option = click.option("--customers", default=None, type=click.Path(dir_okay=False),
                                help="Customers export, .csv or .parquet; may be left out with [input.customers] "
                                     "missing = \"create\".")
payments_option = click.option("--payments", default=None, type=click.Path(dir_okay=False),
                               help="Optional payments export, .csv or .parquet: interest on late payments "
                                    "(SPEC §9.5).")
rates_option = click.option("--rates", default=None, type=click.Path(dir_okay=False),
                            help="Optional exchange rates, .csv or .parquet (rate_date, from_currency, to_currency, "
                                 "rate): letters in a policy's letter_currency (SPEC §11.1).")
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
            for line in exc.lines():  # a line may quote data: its control characters escaped, a long value cut
                echo(shortened(printable(line)), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException:  # usage errors: click prints them with the usage line, exit 2
            raise
        except Exception as exc:  # a bug of ours: still one line, and a distinct exit code
            echo(shortened(printable(f"dunning-batch: internal error: {type(exc).__name__}: {exc}")), err=True)
            sys.exit(3)

    return wrapper


def blames_changed_files(*folder_args: str):
    """For a command that reads run folders (its arguments `folder_args`): an error that is
    not the user's (a DuckDB error reading a data file, a file where a folder was) is named
    as the user's when a file of such a folder is not as run.json records it (edited,
    missing, a link, a folder in its place): exit 2 naming that file, not exit 3. When every
    file is as the run wrote it, the error stays ours (exit 3)."""
    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except (UserError, click.ClickException):
                raise
            except Exception as exc:
                for folder in (Path(kwargs[name]) for name in folder_args if kwargs.get(name)):
                    if difference := changed_file(folder):
                        raise UserError(f"{folder}: {difference} (run.json records the files as the run wrote "
                                        f"them), and it cannot be read ({type(exc).__name__}); restore the file "
                                        f"from a backup, or run the night again into a new folder") from None
                raise
        return wrapper
    return decorate


def on_terminal(stream) -> bool:
    """Whether `stream` is a terminal; a stream the command was started without (`2>&-`:
    Python's sys.stderr is None then) is none."""
    return stream is not None and stream.isatty()


@contextlib.contextmanager
def letter_progress(label: str = "rendering letters"):
    """A progress bar over letters on a terminal; nothing in CI and pipes."""
    if not on_terminal(sys.stderr):
        yield None
        return
    with click.progressbar(length=0, label=label, file=sys.stderr) as bar:
        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(done)
        yield advance


def stage_printer():
    """Stage progress on a terminal; quiet in CI and pipes."""
    if not on_terminal(sys.stderr):
        return None
    return lambda stage, rows, seconds: echo(f"  {stage:<24} {rows:>12,} rows  {seconds:7.2f} s", err=True)
