"""A run's part of the ledger (README "Running every night"), in three places of run.py:

- `hold_ledger`: before anything else, the ledger's lock for the whole run (a second run on
  the ledger stops), and the ledger opened, made when new;
- `compare_export`: once the export's rejected rows are known, each item's state compared
  with the ledger's latest state of the nights before (sql/ledger/export_lag.sql); lagging
  items stop the run, or their later state is taken, or the export's is, by [run] stale_export;
- `record_pending` / `record_finished` (in the step `record`): the finished folder recorded
  `pending`, renamed into place, then marked `finished`: a run killed in between is adopted
  or dropped by the next command (store.py).

With --dask only the coordinator runs these steps; the shards get the taken state as tables.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import load_config
from ..digest import sha256_of
from ..errors import UserError
from ..sql_runner import execute, rows, records, registered, relation, relation_arrow, table_from_arrow, table_from_file
from .sends import fold_folder
from .store import Ledger, first, hold, ledger_path, now_utc, opened
from .voids import fold_voids

# the customers_sha256 of a run without a customers export ([input.customers] missing = "create")
NO_BYTES_SHA256 = hashlib.sha256(b"").hexdigest()

# How many lagging items the stop message and run.json name.
NAMED_ITEMS = 5
# The session relations the decision stages read the taken state from (22_items, 23_payments).
OVERRIDES = {"ledger_item_overrides": ("ledger/item_overrides", "ledger/no_item_overrides"),
             "ledger_payment_overrides": ("ledger/payment_overrides", "ledger/no_payment_overrides")}
# The run's relations the ledger records, as the record files name them.
RECORDED = {"run_letters": "letters", "run_letter_lines": "letter_lines", "run_levels_update": "levels_update",
            "run_payments_charged": "payments_charged", "run_export_states": "ledger_export_states"}


@dataclass
class NightLedger:
    """The ledger as one run holds it, and what the run learnt from it for run.json."""

    ledger: Ledger
    mode: str
    lagging: int = 0
    lagging_payments: int = 0
    ahead: int = 0
    named: list[dict[str, Any]] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    run_id: int | None = None
    keeps_sends: bool = False  # the journal and voids of the folder --force replaces are in the ledger

    def report(self) -> dict[str, Any]:
        """run.json's `ledger`: where it is and what the run took from it."""
        return {"path": str(self.ledger.path), "stale_export": self.mode, "lagging_items": self.lagging,
                "lagging_payments": self.lagging_payments, "ahead_items": self.ahead,
                "first_lagging": [_described(row) for row in self.named] if self.mode != "stop" else [],
                "already_sent": self.already_sent, "notes": self.ledger.notes}


def empty_overrides(con) -> None:
    """The relations 22_items and 23_payments join, empty: a run that takes nothing from a ledger."""
    for name, (_, empty) in OVERRIDES.items():
        table_from_file(con, name, empty)


def ledger_setting(options, config) -> Path | None:
    """The run's ledger: --ledger, else [run] ledger of the config; none with --no-ledger."""
    if options.no_ledger:
        return None
    path = options.ledger if options.ledger is not None else config.ledger_path()
    return None if path is None else ledger_path(path)


def hold_ledger(session) -> None:
    """Step: the run's ledger held for the whole run and opened (made when new), or none."""
    options = session.options
    config = load_config(options.config_path)  # load reads it again: [run] ledger is needed first
    path = ledger_setting(options, config)
    if path is None:
        return
    mode = options.stale_export or config.run.stale_export
    try:  # like --out, the ledger's folder is made when missing
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot make the ledger's folder ({exc.strerror}); give a --ledger in a folder "
                        f"you may write to") from None
    session.exits.enter_context(hold(path, "run", f"night {options.as_of} into {Path(options.out).absolute()}"))
    ledger = session.exits.enter_context(opened(path, create=True))
    session.night = night = NightLedger(ledger, mode)
    for (folder,) in rows(ledger.con, "ledger/run_folders"):
        if Path(folder).is_dir():
            fold_voids(ledger, Path(folder))
    out = Path(options.out)
    if options.replaces and (out / "run.json").is_file() and not out.is_symlink():
        # what was sent or voided from the folder --force replaces stays in the ledger
        fold_folder(ledger, out)
        night.keeps_sends = True


def compare_export(session) -> None:
    """Step: the export's state against the ledger's; stop, or take the later or the export's state."""
    night = session.night
    if night is None:
        return
    con, lcon = session.con, night.ledger.con
    as_of = session.params["as_of"]
    with session.log.timed("ledger_compare"):
        table_from_file(lcon, "counted_letters", "ledger/counted_letters", {"run_date": as_of}, temp=True)
        # the ledger's relations, copied into the run's connection (relation: it sees counted_letters)
        for name, query in (("ledger_state", "item_state"), ("ledger_payments", "payment_state"),
                            ("ledger_sent", "sent_letters")):
            table_from_arrow(con, name, relation(lcon, f"ledger/{query}", {"run_date": as_of}).to_arrow_table())
        lag = table_from_file(con, "export_lag", "ledger/export_lag")
        night.lagging_payments = table_from_file(con, "payment_lag", "ledger/payment_lag")
        night.named = records(con, "ledger/lagging_items", {"limit": NAMED_ITEMS})
        night.lagging = first(con, "ledger/lag_count", {"status": "lags"}) or 0
        night.ahead = lag - night.lagging
        if night.mode == "stop" and (night.lagging or night.lagging_payments):
            raise UserError(stop_message(session))
        flags = {"use_ledger": night.mode == "use_ledger", "use_export": night.mode == "use_export"}
        for name, (taken, _) in OVERRIDES.items():
            table_from_file(con, name, taken, flags)
        table_from_file(con, "ledger_export_states", "ledger/export_states", flags)


def stop_message(session) -> str:
    """One sentence: how many items lag, the first few, and the levels file to re-import first."""
    night = session.night
    con = session.con
    runs = records(con, "ledger/lagging_runs")
    first_run = runs[0] if runs else None
    items = ", ".join(_described(row) for row in night.named)
    payments = f" and {night.lagging_payments} charged late payment(s)" if night.lagging_payments else ""
    what = f"{night.lagging} item(s){payments} of {session.options.open_items} lag the ledger {night.ledger.path}"
    if items:
        what += f" ({items}{', ...' if night.lagging > len(night.named) else ''})"
    where = (f"the files of the run of {first_run['run_date']} ({Path(first_run['folder']) / 'levels_update.csv'}"
             f"{' and payments_charged.csv' if night.lagging_payments else ''}) were not re-imported"
             + (f", nor those of {len(runs) - 1} later run(s)" if len(runs) > 1 else "")) if first_run else \
        "a levels file was not re-imported"
    return (f"{what}: {where}; re-import them into the ERP, export again and run again, or set [run] "
            f"stale_export = \"use_ledger\" (or --stale-export use_ledger) to take the ledger's state; nothing "
            f"was written")


def _described(row: dict[str, Any]) -> str:
    return (f"{row['doc_id']}: level {row['export_level']} in the export, {row['ledger_level']} after "
            f"{row['letter_id'] or 'the run'} of {row['run_date']}")


def mark_sent(session) -> None:
    """Tonight's letters that a server already accepted, from any folder of this night."""
    night = session.night
    if night is not None:
        night.already_sent = [row["letter_id"] for row in records(session.con, "ledger/already_sent")]


def record_pending(session, folder: Path, target: Path) -> None:
    """The finished folder (still at its temporary place `folder`) recorded `pending`, with
    everything it issued, in one transaction; `target` is where it is about to be renamed."""
    night = session.night
    if night is None:
        return
    con, lcon = session.con, night.ledger.con
    inputs = session.inputs
    rules = session.config.money_rules
    with night.ledger.transaction():
        night.run_id = first(lcon, "ledger/next_run_id")
        params = {
            "run_id": night.run_id, "run_date": session.params["as_of"], "folder": os.path.abspath(target),
            "run_json_sha256": sha256_of(folder / "run.json"), "config_sha256": session.config.sha256,
            "open_items_sha256": inputs["open_items"].sha256, "customers_sha256": inputs["customers"].sha256 if "customers" in inputs else NO_BYTES_SHA256,
            "payments_sha256": inputs["payments"].sha256 if "payments" in inputs else None,
            "stale_export": night.mode, "lagging_items": night.lagging, "ahead_items": night.ahead,
            "recorded_at": now_utc(), "track_compensation": "compensation" in rules,
            "track_interest": "post_interest" in rules,
        }
        tables = {name: relation_arrow(con, relation) for name, relation in RECORDED.items()}
        with registered(lcon, tables):
            for name in ("record_run", "record_letters", "record_letter_items", "record_item_states",
                         "record_payments_charged"):
                execute(lcon, f"ledger/{name}", params)


def record_finished(session) -> None:
    """The folder is in place: the run's letters count from now on."""
    night = session.night
    if night is not None and night.run_id is not None:
        execute(night.ledger.con, "ledger/finish_run", {"run_id": night.run_id})
