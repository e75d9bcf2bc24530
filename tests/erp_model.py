"""A model of the ERP's accounts receivable for tests that run the job night after night: what
it exports each night, and how it re-imports a run's files and a void's, as an AR system would.

What the ERP does with a run's folder (`reimport`):
- levels_update.csv: each row sets the item's dunning_level, last_dunned_on and, where the
  file has them, the SPEC §9 state compensation_charged and interest_paid_to (a row holds the
  item's whole state, so importing a file again changes nothing);
- fee_documents.csv, compensation_documents.csv, interest_documents.csv: each row is posted as
  a new open receivable of type `fee` (no interest on it, §4.6; never compensated, §9.2), due
  on its due_date, at level 0 — once: a document id the ERP has posted before is skipped (and
  counted in `duplicates`), as an ERP refuses a document number it already holds;
- payments_charged.csv: each payment listed is marked interest_charged = true.

And with a void's folder (`restore`): levels_restore.csv like a levels file, and each row of
fee_reversals.csv (`REV-<document id>`, once) settles the document it reverses: the document
leaves the open items (or, when it was paid already, the credit stays open as a credit memo).

Rows for items that are no longer open (paid meanwhile) are skipped and counted in `gone`.
"""

from __future__ import annotations

import copy
import csv
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import write_csv

from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS, PAYMENT_COLUMNS

DOCUMENT_FILES = ("fee_documents.csv", "compensation_documents.csv", "interest_documents.csv")


def read_rows(path: Path) -> list[dict[str, str]]:
    """A CSV the job wrote, as the ERP reads it: one dict of texts per row ([] when absent)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class ErpModel:
    """The ERP's open items, payments and customers, exported each night and updated from the
    files of runs and voids."""

    def __init__(self, items: list[dict], payments: list[dict] = (), customers: list[dict] = ()):
        self.items: dict[str, dict[str, Any]] = {row["doc_id"]: dict(row) for row in items}
        self.payments: dict[str, dict[str, Any]] = {row["payment_id"]: dict(row) for row in payments}
        self.customers: list[dict[str, Any]] = [dict(row) for row in customers]
        self.posted: dict[str, dict[str, Any]] = {}   # every document posted from a run, by id
        self.reversed: set[str] = set()               # every reversal applied (REV- ids)
        self.duplicates: Counter = Counter()          # document ids offered again, by file name
        self.gone: Counter = Counter()                # rows for items no longer open, by file name

    def clone(self) -> "ErpModel":
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ the nightly export
    def export(self, folder: Path) -> tuple[Path, Path, Path]:
        """open_items.csv, customers.csv and payments.csv of the ERP's state, into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        items = write_csv(folder / "open_items.csv", sorted(self.items.values(), key=lambda r: r["doc_id"]),
                          OPEN_ITEM_COLUMNS)
        customers = write_csv(folder / "customers.csv", self.customers, CUSTOMER_COLUMNS)
        payments = write_csv(folder / "payments.csv",
                             sorted(self.payments.values(), key=lambda r: r["payment_id"]), PAYMENT_COLUMNS)
        return items, customers, payments

    # ------------------------------------------------------------------ re-importing files
    def reimport(self, out: Path) -> None:
        """A run's folder: its levels file, its documents and its payments charged."""
        self._levels(out / "levels_update.csv")
        for name in DOCUMENT_FILES:
            for doc in read_rows(out / name):
                self._post(doc, name)
        for charged in read_rows(out / "payments_charged.csv"):
            if charged["payment_id"] in self.payments:
                self.payments[charged["payment_id"]]["interest_charged"] = "true"
            else:
                self.gone["payments_charged.csv"] += 1

    def restore(self, void_folder: Path) -> None:
        """A void's folder: the levels from before the voided letters, and the reversals."""
        self._levels(void_folder / "levels_restore.csv")
        if (void_folder / "payments_restore.csv").is_file():  # SPEC §9.5: the reversed interest is owed again
            for restored in read_rows(void_folder / "payments_restore.csv"):
                if restored["payment_id"] in self.payments:
                    self.payments[restored["payment_id"]]["interest_charged"] = restored["interest_charged"]
        for reversal in read_rows(void_folder / "fee_reversals.csv"):
            rev_id = reversal["fee_doc_id"]
            if rev_id in self.reversed:
                self.duplicates["fee_reversals.csv"] += 1
                continue
            self.reversed.add(rev_id)
            original = rev_id.removeprefix("REV-")
            if original in self.items:
                del self.items[original]    # the credit settles the document it reverses
            else:                           # paid already: the credit stays open for the customer
                self.items[rev_id] = {
                    "doc_id": rev_id, "customer_id": reversal["customer_id"], "doc_type": "credit_memo",
                    "doc_date": reversal["doc_date"], "due_date": reversal["due_date"],
                    "currency": reversal["currency"], "amount": reversal["amount"],
                    "open_amount": reversal["amount"], "dunning_level": 0}

    def _levels(self, path: Path) -> None:
        for u in read_rows(path):
            row = self.items.get(u["doc_id"])
            if row is None:
                self.gone[path.name] += 1
                continue
            row["dunning_level"] = int(u["level_after"])
            row["last_dunned_on"] = u["last_dunned_on"] or None
            if "compensation_charged" in u:
                row["compensation_charged"] = u["compensation_charged"].lower() or None
            if "interest_paid_to" in u:
                row["interest_paid_to"] = u["interest_paid_to"] or None

    def _post(self, doc: dict[str, str], name: str) -> None:
        doc_id = doc["fee_doc_id"]
        if doc_id in self.posted:
            self.duplicates[name] += 1
            return
        self.posted[doc_id] = dict(doc, source=name)
        self.items[doc_id] = {
            "doc_id": doc_id, "customer_id": doc["customer_id"], "doc_type": "fee",
            "doc_date": doc["doc_date"], "due_date": doc["due_date"], "currency": doc["currency"],
            "amount": doc["amount"], "open_amount": doc["amount"], "dunning_level": 0}
