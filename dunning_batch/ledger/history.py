"""`history`: an item's or a customer's dunning history across nights, from the ledger alone.

One query (sql/ledger/history_events.sql) makes the rows, one per event in time order: the
states a run took from the export, the letters the item was on, how each `send` ended for
them and the voids. This module only words them, grouped by night (text), or hands the
rows to the writers `query` uses (Parquet, CSV with cells a spreadsheet never runs, JSON).
It computes nothing: whether a letter counts or was superseded is a column of the query.
The ledger is opened read-only and held for as long as the query takes.
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from ..checks.query import NUMERIC_TYPES, QueryResult, Rows, format_csv, format_json
from ..checks.wording import count, money
from ..errors import UserError
from ..outputs import csv_cells, write_text_atomic
from ..outputs.guard import check_result_file
from ..outputs.writer import write_parquet
from ..sql_runner import arrow, connect
from ..terminal import printable
from .store import LOCK_SUFFIX, ledger_path, open_ledger

FORMATS = ("text", "csv", "json", "parquet")
# the final statuses of a send attempt chain that have a sentence of their own
SEND_OUTCOMES = ("accepted", "partial", "permanent", "temporary", "disconnected", "in_doubt", "in_doubt_unanswered")
INDENT = " " * len("2026-11-24  ")  # an item line under its letter's line (a customer's history)

# The sentences; placeholders are str.format fields, text from the ledger escaped by `say`.
SENTENCES = {
    "item_header": "Item {doc_id} of customer {customer_id}: {letters} on {nights}.",
    "customer_header": "Customer {customer_id}: {letters} for {items} on {nights}.",
    "night": "Night {run_date}:",
    "night_rerun": "Night {run_date}, run {runs} times: the latest run, into {latest}, is the one whose "
                   "levels file counts.",
    # a letter: the item's line, the letter's fee and total (for a customer: the letter's line,
    # then one line per item of it)
    "item_letter": "{date}  {letter_id}  {item}, fee {fee} {currency}{charges}, total due {total_due} {currency}, "
                   "pay by {pay_by}{final} ({where})",
    "customer_letter": "{date}  {letter_id}  level {level} letter{final}, fee {fee} {currency}, total due "
                       "{total_due} {currency}, pay by {pay_by} ({where})",
    "customer_item": "{doc_id}: {item}{charges}",
    "item": "{kind}{levels}{open_amount} {currency} open",
    "levels_changed": "level {before} -> {after}, ",
    "levels_kept": "stays at level {before}, ",
    "current": "not yet due, ",
    "credit": "a credit, ",
    "compensation": ", compensation {amount} {currency}",
    "interest": ", interest {days} days {amount} {currency}",
    "final": ", the final reminder",
    "folder": "folder {folder}",
    "superseded": "folder {folder}, superseded by the run into {latest}",
    "kept": "folder {folder}, an earlier run of the night, but a server accepted the letter, so it counts",
    # a state a run took from the export (stale_export = "use_export")
    "state_taken": "{date}  {doc}the run took the export's state: {levels}{last}{compensation}{interest_to} "
                   "({where})",
    "state_doc": "{doc_id}: ",
    "state_level": "level {level}",
    "state_levels": "level {before} -> {after}",
    "last_dunned": ", last dunned on {date}",
    "compensation_charged": ", compensation charged",
    "interest_paid_to": ", interest paid to {date}",
    # how a `send` ended for a letter
    "send": "{date}  sent {letter_id} to the server: {outcome} (from {folder})",
    "send_skipped": "{date}  {letter_id} not sent: `send` stopped before it ({reply}) (from {folder})",
    "accepted": "accepted at {time} UTC",
    "partial": "accepted for some recipients only at {time} UTC: {reply}",
    "permanent": "refused for good after {attempts}: {reply}",
    "temporary": "not accepted, a temporary failure after {attempts}: {reply}",
    "disconnected": "not accepted, the connection was lost after {attempts}: {reply}",
    "in_doubt": "in doubt, the attempt at {time} UTC has no outcome and the server may have taken it",
    "in_doubt_unanswered": "in doubt, the whole message went out at {time} UTC and no answer came: {reply}",
    "other_status": "{status} after {attempts}: {reply}",
    "void": "{date}  {letter_id} voided by {void_id} (from {folder})",
}


def say(key: str, **values: object) -> str:
    """The sentence `key` with its figures filled in; text from the ledger (ids, folders,
    server replies) with its control and invisible characters escaped: one line each."""
    return SENTENCES[key].format_map({k: printable(v) if isinstance(v, str) else v for k, v in values.items()})


def history(ledger: str | Path, doc_id: str | None = None, customer_id: str | None = None, fmt: str = "text",
            to: str | Path | None = None, *, on_wait: Callable[[str], None] | None = None) -> QueryResult:
    """The history of item `doc_id`, or of customer `customer_id`, in the ledger file `ledger`,
    as `fmt`: returned as text, or written to the file `to` (`parquet` needs `to`)."""
    if (doc_id is None) == (customer_id is None):
        raise UserError("history takes a DOC_ID or --customer ID: which item's or customer's history to tell")
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and to is None:
        raise UserError("--format parquet writes a binary file: name it with --to FILE")
    path = ledger_path(ledger)
    if not path.is_file():  # before the lock: a missing ledger leaves no LEDGER.lock behind
        raise UserError(f"{path}: no ledger there; give the ledger the runs recorded (run.json's \"ledger\" "
                        f"names it)")
    target = _check_target(path, Path(to)) if to is not None else None
    what = f"history of {'item ' + doc_id if doc_id is not None else 'customer ' + str(customer_id)}"
    with open_ledger(path, "history", what, read_only=True, on_wait=on_wait) as opened:
        table = arrow(opened.con, "ledger/history_events", {"doc_id": doc_id, "customer_id": customer_id})
    if table.num_rows == 0:
        subject = f"item {doc_id!r}" if doc_id is not None else f"customer {customer_id!r}"
        raise UserError(f"{path}: the ledger holds no letter or state of {subject} from a finished run; check "
                        f"the {'DOC_ID' if doc_id is not None else 'customer ID'}")
    if fmt == "parquet":
        write_parquet(table, target)
        return QueryResult(rows=table.num_rows, path=target)
    if fmt == "text":
        text = history_text(table.to_pylist(), doc_id, customer_id)
    else:
        text = (format_csv if fmt == "csv" else format_json)(_rows(table, guarded=fmt == "csv"))
    if target is None:
        return QueryResult(rows=table.num_rows, text=text)
    try:
        write_text_atomic(target, text)
    except OSError as exc:
        raise UserError(f"{target}: cannot write the history ({exc.strerror})") from None
    return QueryResult(rows=table.num_rows, path=target)


def _check_target(ledger: Path, to: Path) -> Path:
    """The file `--to` names: never the ledger, its lock or its write-ahead log."""
    own = {ledger.resolve(), *(ledger.with_name(ledger.name + suffix).resolve() for suffix in (LOCK_SUFFIX, ".wal"))}
    if to.resolve() in own:
        raise UserError(f"{to}: --to must not write over the ledger {ledger}; choose a file elsewhere")
    check_result_file(to)
    return to


def _rows(table: pa.Table, guarded: bool) -> Rows:
    """The rows as `query`'s formatters take them; for a CSV, each text cell that starts like a
    formula with a ' before it, as every CSV of the project (outputs.csv_cells)."""
    con = connect()
    try:
        con.register("history_rows", table)
        relation = con.table("history_rows")
        if guarded:
            relation = relation.project(csv_cells(con, "*", "history_rows"))
        return Rows(list(relation.columns), [t.id in NUMERIC_TYPES for t in relation.types], relation.fetchall())
    finally:
        con.close()


# ---- text ------------------------------------------------------------------------------------

def history_text(events: list[dict[str, Any]], doc_id: str | None = None, customer_id: str | None = None) -> str:
    """A header sentence, then per night a header and one line per event (for a customer, a
    letter's line then one line per item of it)."""
    letters = count(len({e["letter_id"] for e in events if e["letter_id"] is not None}), "letter")
    nights = count(len({e["run_date"] for e in events}), "night")
    customer = customer_id is not None
    if customer:
        items = count(len({e["doc_id"] for e in events if e["doc_id"] is not None}), "item")
        lines = [say("customer_header", customer_id=customer_id, letters=letters, items=items, nights=nights)]
    else:
        lines = [say("item_header", doc_id=doc_id, customer_id=events[0]["customer_id"], letters=letters,
                     nights=nights)]
    for run_date, night in groupby(events, key=lambda e: e["run_date"]):
        night = list(night)
        runs = night[0]["night_runs"]
        lines += ["", say("night_rerun", run_date=run_date, runs=runs, latest=night[0]["night_latest_folder"])
                  if runs > 1 else say("night", run_date=run_date)]
        # consecutive rows of one letter of one run: a customer's letter line is said once
        for (kind, _, _), group in groupby(night, key=lambda e: (e["kind"], e["run_id"], e["letter_id"])):
            group = list(group)
            if kind == "letter":
                lines += _letter_lines(group, customer)
            else:
                lines += [{"state_taken": _state, "send": _send, "void": _void}[kind](e, customer) for e in group]
    return "\n".join(lines) + "\n"


def _letter_lines(rows: list[dict[str, Any]], customer: bool) -> list[str]:
    head = rows[0]
    letter = dict(date=head["event_date"], letter_id=head["letter_id"], fee=money(head["letter_fee"]),
                  total_due=money(head["total_due"]), pay_by=head["pay_by"], currency=head["currency"],
                  final=say("final") if head["is_final"] else "")
    if not customer:
        return [say("item_letter", item=_item(e), charges=_charges(e), where=_where(e), **letter) for e in rows]
    return [say("customer_letter", level=head["letter_level"], where=_where(head), **letter)] + \
        [INDENT + say("customer_item", doc_id=e["doc_id"], item=_item(e), charges=_charges(e)) for e in rows]


def _item(e: dict[str, Any]) -> str:
    """The item's line of the letter: its kind, levels and open amount."""
    kind = say(e["line_type"]) if e["line_type"] in ("current", "credit") else ""
    return say("item", kind=kind, levels=_levels(e["level_before"], e["level_after"]),
               open_amount=money(e["open_amount"]), currency=e["currency"])


def _charges(e: dict[str, Any]) -> str:
    """What the letter charged on this item: compensation, interest days and amount."""
    text = ""
    if e["compensation_amount"] is not None:
        text += say("compensation", amount=money(e["compensation_amount"]), currency=e["currency"])
    if e["interest_days"] is not None or e["interest_amount"] is not None:
        text += say("interest", days=e["interest_days"] or 0, amount=money(e["interest_amount"]),
                    currency=e["currency"])
    return text


def _levels(before: int | None, after: int | None) -> str:
    if before is None or after is None:
        return ""
    return say("levels_kept", before=before) if before == after else say("levels_changed", before=before, after=after)


def _where(e: dict[str, Any]) -> str:
    """The folder a letter or state came from, and whether an earlier run of the night was superseded."""
    if e["superseded_by"] is not None:
        return say("superseded", folder=e["folder"], latest=e["superseded_by"])
    if not e["latest_run"]:
        return say("kept", folder=e["folder"])
    return say("folder", folder=e["folder"])


def _state(e: dict[str, Any], customer: bool) -> str:
    return say("state_taken", date=e["event_date"], doc=say("state_doc", doc_id=e["doc_id"]) if customer else "",
               levels=say("state_level", level=e["level_after"]) if e["level_before"] == e["level_after"]
               else say("state_levels", before=e["level_before"], after=e["level_after"]),
               last=say("last_dunned", date=e["last_dunned_on"]) if e["last_dunned_on"] else "",
               compensation=say("compensation_charged") if e["compensation_charged"] else "",
               interest_to=say("interest_paid_to", date=e["interest_paid_to"]) if e["interest_paid_to"] else "",
               where=say("superseded", folder=e["folder"], latest=e["superseded_by"])
               if e["superseded_by"] is not None else say("folder", folder=e["folder"]))


def _send(e: dict[str, Any], customer: bool) -> str:
    status, reply = e["send_status"], e["reply"] or ""
    if status == "not_attempted":
        return say("send_skipped", date=e["event_date"], letter_id=e["letter_id"], reply=reply, folder=e["folder"])
    figures = dict(time=e["event_time"].strftime("%H:%M:%S"), attempts=count(e["attempts"] or 0, "attempt"),
                   reply=reply, status=status)
    if status == "in_doubt" and reply:  # an outcome `send` recorded, not an attempt without one
        status = "in_doubt_unanswered"
    outcome = say(status if status in SEND_OUTCOMES else "other_status", **figures)
    return say("send", date=e["event_date"], letter_id=e["letter_id"], outcome=outcome, folder=e["folder"])


def _void(e: dict[str, Any], customer: bool) -> str:
    return say("void", date=e["event_date"], letter_id=e["letter_id"], void_id=e["void_id"], folder=e["folder"])

