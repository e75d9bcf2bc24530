"""What the commands print: a printer that survives a closed pipe (`echo`), the night's summary
after `run`/`demo`, and `send`'s report. Data in a line is escaped (terminal.printable)."""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path

import click

from .delivery.send import SendResult
from .errors import UserError
from .letters.environment import describe as describe_pdf_environment
from .terminal import printable

NO_LEDGER = ("no ledger: nothing stops a letter from being issued or sent twice across nights and folders; "
             "give --ledger PATH or [run] ledger (README \"Running every night\")")


def echo(message: str = "", *, nl: bool = True, err: bool = False) -> None:
    """click.echo, but a reader that has gone (`dunning-batch run ... | head -1`) stops the
    printing, not the command: its work is done and its exit code stays its own."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # started without it (`2>&-`): what it would say goes nowhere, the work goes on
        return
    try:
        click.echo(message, nl=nl, err=err)
    except BrokenPipeError:
        _discard(stream)
    except OSError as exc:  # a full disk or a device that takes nothing (`> /dev/full`)
        _discard(stream)
        if not err:  # the answer itself is lost: say so (on stderr), exit 2; a lost warning is not worth a failure
            raise UserError(output_lost(exc)) from None


def output_lost(exc: OSError) -> str:
    """The sentence for an answer stdout could not take."""
    return (f"stdout: cannot write the output ({exc.strerror or exc}); what the command wrote to files or sent "
            f"is done, only this output is lost: write it where there is room")


class Commands(click.Group):
    """The command group. click writes --help, --version and usage errors itself: a stdout
    that cannot take them is the same one sentence and exit 2 as for a command's own output,
    not a traceback."""

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except BrokenPipeError:
            _discard(sys.stdout)
            sys.exit(0)
        except OSError as exc:
            _discard(sys.stdout)
            echo(output_lost(exc), err=True)
            sys.exit(2)


def _discard(stream) -> None:
    """Points the stream's file descriptor at /dev/null, so the rest of the output, and the
    interpreter's last flush of what is still buffered, go nowhere instead of failing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def print_delivery(result: SendResult) -> None:
    """What was sent, what was not (each named), and one summary line; addresses, subjects and
    server replies are printed with their control characters escaped. With a ledger, also what
    it held back: each letter in doubt (one line each), and the letters accepted from other folders."""
    for note in result.notes:
        echo(printable(f"ledger: {note}"), err=True)
    for folder, count in sorted(result.sent_elsewhere.items()):
        echo(printable(f"{count} letter(s) not sent again: the ledger {result.ledger} records them accepted "
                       f"from {folder}"))
    for letter in result.in_doubt:
        why = (f"the whole message went out and no answer came ({letter['reply']})" if letter.get("reply")
               else "a send handed it to the server and recorded no answer (it stopped, or is still sending)")
        at = f"{letter['at']:%Y-%m-%d %H:%M:%S} UTC " if letter.get("at") else ""
        echo(printable(f"{letter['letter_id']} to {letter['to']}: in doubt: {why} (attempted {at}from "
                       f"{letter['folder']}); check the mail server's log for {letter['message_id']}, then run "
                       f"send --resend-in-doubt to send it again"), err=True)
    for letter in result.voided:
        echo(printable(f"not sent: {letter['letter_id']} to {letter['to']}: voided by {letter['void_id']}"))
    doubt = f", {len(result.in_doubt)} in doubt" if result.in_doubt else ""
    doubt += f", {len(result.voided)} voided (not sent)" if result.voided else ""
    elsewhere = sum(result.sent_elsewhere.values())
    earlier = "accepted earlier" + (f", {elsewhere} of them from other folders" if elsewhere else "")
    if result.dry_run:
        for letter in result.pending:
            echo(printable(f"would send {letter['letter_id']} to {letter['to']}: {letter['subject']}"))
        echo(f"dry run: {len(result.pending)} of {result.outbox} letter(s) to send, "
             f"{result.already_sent} already {earlier}{doubt}")
        return
    for outcome in result.not_accepted:
        echo(printable(f"not accepted: {outcome.letter_id} to {outcome.to}: {outcome.status} after "
                             f"{outcome.attempts} attempt(s): {outcome.reply}"), err=True)
    for outcome in result.partly_refused:
        echo(printable(f"partly refused (not sent again): {outcome.letter_id} to {outcome.to}: "
                             f"{outcome.reply}"), err=True)
    for letter in result.not_attempted:
        echo(printable(f"not sent: {letter['letter_id']} to {letter['to']}"), err=True)
    if result.stopped:
        echo(printable(f"stopped: {result.stopped}; run send again to deliver the rest"), err=True)
    accepted = result.accepted
    echo(f"sent {accepted} of {len(result.pending)} letter(s) to send ({result.outbox} in the outbox, "
         f"{result.already_sent} {earlier}); {len(result.not_accepted) + len(result.not_attempted)} "
         f"not accepted" + (f", {len(result.partly_refused)} partly refused" if result.partly_refused else "")
         + doubt)


# The run's totals as printed: every part of total due (SPEC §4.8, §9.2, §9.6), then the total.
TOTAL_DUE_EQUATION = "total due = overdue + credits + fees + interest + compensation + notices"
TOTALS_COLUMNS = (  # (title, key of run.json's totals_per_currency, width)
    ("currency", None, 8), ("letters", "letters", 9), ("overdue", "overdue_total", 14),
    ("credits", "credit_total", 12), ("fees", "fee_total", 10), ("interest", "interest_in_total", 11),
    ("compensation", "compensation_total", 14), ("notices", "notice_total", 11), ("total due", "total_due", 14),
)


def customers_read(manifest: dict) -> str:
    """The customers a run had: those it read, and those it created ([input.customers] missing = "create")."""
    read = manifest["inputs"]["customers"]["rows"] if "customers" in manifest["inputs"] else 0
    created = manifest.get("customers_created") or 0
    return f"{read + created} customers ({created} created from the items)" if created else f"{read} customers"


def print_summary(manifest: dict, out: Path) -> None:
    inputs = manifest["inputs"]
    letters = sum(t["letters"] for t in manifest["totals_per_currency"].values())
    echo(f"dunning run {manifest['as_of']}: {inputs['open_items']['rows']} items, "
               f"{customers_read(manifest)} -> {letters} letters"
               + (f", {manifest['rejected_rows']} rows rejected" if manifest["rejected_rows"] else ""))
    echo("letters per level: " + (", ".join(f"level {k}: {v}" for k, v in
                                                 manifest["letters_per_level"].items()) or "none"))
    echo(f"totals per currency ({TOTAL_DUE_EQUATION}):")
    echo("  " + "".join(f"{title:>{width}}" if i else f"{title:<{width}}"
                              for i, (title, _, width) in enumerate(TOTALS_COLUMNS)))
    for currency, t in manifest["totals_per_currency"].items():
        values = [currency] + [t[key] for _, key, _ in TOTALS_COLUMNS[1:]]
        echo("  " + "".join(f"{v:>{width}}" if i else f"{v:<{width}}"
                                  for i, (v, (_, _, width)) in enumerate(zip(values, TOTALS_COLUMNS))))
    for currency, t in manifest["totals_per_currency"].items():
        # SPEC §4.8, §9.4: shown on the letters, not demanded (include_in_total = false)
        if Decimal(t["interest_not_in_total"]):
            echo(f"  {currency}: also {t['interest_not_in_total']} interest shown on the letters, "
                       f"not in total due (include_in_total = false)")
    echo("decisions per reason:")
    for reason, n in manifest["decisions_per_reason"].items():
        echo(f"  {reason:<32} {n:>8}")
    if manifest.get("pdf_environment"):
        echo(describe_pdf_environment(manifest["pdf_environment"]))
    echo(printable(f"written to {out}"))
    print_ledger(manifest.get("ledger"))


def print_ledger(ledger: dict | None) -> None:
    """What the ledger said about the night, or, without one, that nothing guards against duplicates."""
    if ledger is None:
        echo(NO_LEDGER, err=True)
        return
    echo(f"ledger {printable(ledger['path'])}: recorded")
    for note in ledger["notes"]:
        echo(f"  {printable(note)}")
    if ledger["lagging_items"] or ledger["lagging_payments"]:
        taken = "the ledger's later state" if ledger["stale_export"] == "use_ledger" else "the export's state"
        echo(f"  {ledger['lagging_items']} item(s) and {ledger['lagging_payments']} payment(s) lagged the ledger "
             f"(a levels file not re-imported): {taken} was taken (stale_export = {ledger['stale_export']})")
    if ledger["ahead_items"]:
        echo(f"  {ledger['ahead_items']} item(s) ahead of the ledger (changed in the ERP since): the export's "
             f"state was taken")
    if ledger["already_sent"]:
        echo(f"  {len(ledger['already_sent'])} letter(s) of this night were already sent from another folder; "
             f"send skips them")
