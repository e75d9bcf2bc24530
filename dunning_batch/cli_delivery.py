"""The commands that deliver letters and keep their record across nights: `send` (SPEC §10.4),
`void`, and `history` over the ledger (README "Running every night"). cli.py adds them to
the `dunning-batch` group."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .checks.void import void_letters
from .cli_common import blames_changed_files, exits_cleanly, letter_progress
from .delivery.send import Pacing, send_outbox
from .delivery.smtp_session import SmtpServer, check_login, parse_server
from .errors import UserError
from .ledger.history import FORMATS as HISTORY_FORMATS, history as ledger_history
from .outputs.guard import WRITE_ERRORS
from .printout import echo, print_delivery
from .terminal import printable


FOLDER_LEDGER_HELP = ("The ledger (relative to the working directory); default: the one the run recorded in "
                      "OUT/run.json, if any.")


def _say_waiting(message: str) -> None:
    """What send and void say, once, while a run holds the ledger."""
    echo(printable(message), err=True)


@click.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.argument("letter_ids", nargs=-1, required=True)
@click.option("--out", "target", type=click.Path(file_okay=False), default=None,
              help="Folder for the void's files (default OUT/voids/VOID_ID).")
@click.option("--as-of", "as_of", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day of the void (YYYY-MM-DD): the date of every reversal document.")
@click.option("--ledger", "ledger", type=click.Path(dir_okay=False), default=None, help=FOLDER_LEDGER_HELP)
@exits_cleanly
@blames_changed_files("out")
def void(out, letter_ids, target, as_of, ledger):
    """Undoes letters sent by mistake: restoring levels file, fee reversals and customer actions to undo.

    Example: dunning-batch void out/2026-11-24 DL-20261124-0123456789abcdef --as-of 2026-11-26
    """
    try:
        record = void_letters(Path(out), list(letter_ids), Path(target) if target else None, as_of=as_of.date(),
                              ledger=ledger, on_wait=_say_waiting)
    except OSError as exc:  # a folder the user may read but not write, a full disk: void_letters left nothing
        if exc.errno not in WRITE_ERRORS:
            raise
        raise UserError(f"{exc.filename or out}: cannot write ({exc.strerror}); nothing was voided: a void writes "
                        f"its files and {Path(out) / 'voids.jsonl'}, so give write access there and void "
                        f"again") from None
    echo(printable(f"{record['void_id']}: {len(record['letters'])} letter(s) voided on {record['void_date']}, "
                   f"{record['levels_restored']} level(s) restored, {record['fee_reversals']} fee reversal(s), "
                   f"{len(record['customer_actions_restored'])} customer action(s) to undo -> {record['folder']}"))


@click.command()
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


@click.command()
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
              help="Send again the letters in doubt: an earlier send stopped, or heard no answer, after the "
                   "server may have taken them (check the mail server's log first).")
@exits_cleanly
@blames_changed_files("out")
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
    with letter_progress("sending letters") as on_progress:
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
