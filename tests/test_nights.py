"""Night after night (SPEC §4.10, §9): three runs, the ERP re-importing each night's files
before the next, and every charge made exactly once.

What the ERP does between two nights (the `Ledger` below, tests/erp_model.py), as an AR system would:
- levels_update: each row sets the item's dunning_level, last_dunned_on and the §9 state
  compensation_charged and interest_paid_to (the row holds the item's whole state);
- fee_documents, compensation_documents and interest_documents: each row is posted as a new
  open receivable of type `fee` (no interest on it, §4.6; never compensated, §9.2), due on
  its due_date, at level 0;
- payments_charged: each payment listed is marked interest_charged = true.

The policy is `de_b2b`-like: levels at > 7 / > 21 / > 45 days (sequential), fees 0.00 /
5.00 / 10.00, interest at a fixed 10 % on levels 2 and 3 (act/365, to the letter date) and
posted there, EU compensation (40.00) on levels 2 and 3, interest on late payments on
level 2. Nights: D1 = 2026-11-24, D2 = D1 + 24 = 2026-12-18, D3 = D2 + 24 = 2027-01-11
(24 days is the spacing 45 - 21 that level 3 needs after level 2).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from conftest import Outcome, customer
from erp_model import ErpModel

from dunning_batch.checks.reconcile import reconcile
from dunning_batch.run import run

D = Decimal
D1, D2, D3 = dt.date(2026, 11, 24), dt.date(2026, 12, 18), dt.date(2027, 1, 11)

CONFIG = """
[run]
grouping = "customer"

[sender]
name = "Example GmbH"
email = "ar@example.com"

[interest]
basis = "act/365"
fixed_rate = 10.0
min_amount = { EUR = 1.00 }

[[policy]]
name = "de_b2b"
default = true
min_amount = { EUR = 5.00 }

  [[policy.level]]
  days_past_due = 7
  days_to_settle = 7
  fee = { EUR = 0.00 }
  template = "reminder"

  [[policy.level]]
  days_past_due = 21
  days_to_settle = 7
  fee = { EUR = 5.00 }
  interest = true
  post_interest = true
  compensation = "eu"
  late_payment_interest = true
  template = "second_reminder"

  [[policy.level]]
  days_past_due = 45
  days_to_settle = 7
  fee = { EUR = 10.00 }
  interest = true
  post_interest = true
  compensation = "eu"
  template = "final_notice"
  credit_hold = true
"""


class Ledger(ErpModel):
    """The ERP (tests/erp_model.py), exporting each night and re-importing the night's files."""

    def night(self, tmp_path, as_of: dt.date) -> Outcome:
        folder = tmp_path / f"in-{as_of}"
        folder.mkdir()
        config = folder / "config.toml"
        config.write_text(CONFIG, encoding="utf-8")
        items, custs, pays = self.export(folder)
        out = tmp_path / f"out-{as_of}"
        run(config, items, custs, as_of, out, pdf=False, payments=pays)
        failed = [c.line() for c in reconcile(out, items) if not c.ok]
        assert not failed, failed
        return Outcome(out)

    def reimport(self, outcome: Outcome) -> None:
        super().reimport(outcome.out)


def by_customer(outcome: Outcome) -> dict[str, dict]:
    return {letter["customer_id"]: letter for letter in outcome.letters}


def lines_of(outcome: Outcome, letter: dict, line_type: str) -> list[tuple]:
    return [(x["doc_id"], x["interest_from"], x["interest_to"], x["interest_days"],
             x["interest_amount"] if line_type != "compensation" else x["compensation_amount"])
            for x in outcome.lines if x["letter_id"] == letter["letter_id"] and x["line_type"] == line_type]


def documents(outcome: Outcome, relation: str) -> list[tuple]:
    return [(d["fee_doc_id"].split("-DL-")[0], d["customer_id"], d["amount"])
            for d in outcome._rows(f"SELECT * FROM {relation} ORDER BY fee_doc_id")]


def test_three_nights_charge_everything_once(tmp_path):
    ledger = Ledger(
        items=[
            {"doc_id": "INV-1", "customer_id": "C1", "doc_type": "invoice", "currency": "EUR",
             "due_date": "2026-10-25", "amount": "8000.00", "open_amount": "8000.00", "dunning_level": 1,
             "last_dunned_on": "2026-11-04"},
            {"doc_id": "INV-2", "customer_id": "C2", "doc_type": "invoice", "currency": "EUR",
             "due_date": "2026-11-14", "amount": "3000.00", "open_amount": "3000.00", "dunning_level": 0},
        ],
        payments=[
            # INV-0 (closed) was due 2026-09-01 and paid 10 days late; INV-9 5 days late
            {"payment_id": "P-1", "customer_id": "C1", "doc_id": "INV-0", "currency": "EUR",
             "due_date": "2026-09-01", "paid_on": "2026-09-11", "amount": "2000.00"},
            {"payment_id": "P-2", "customer_id": "C2", "doc_id": "INV-9", "currency": "EUR",
             "due_date": "2026-10-01", "paid_on": "2026-10-06", "amount": "1000.00"},
        ],
        customers=[customer("C1"), customer("C2")])

    # ---- night 1, D1 = 2026-11-24 ----------------------------------------------------------
    night1 = ledger.night(tmp_path, D1)
    s1 = {doc: (d["reason"], d["level_after"]) for doc, d in night1.decisions.items()}
    assert s1 == {"INV-1": ("advanced", 2),    # 30 days past due > 21; 20 days since 2026-11-04 >= 21 - 7
                  "INV-2": ("advanced", 1)}    # 10 days past due > 7
    c1, c2 = by_customer(night1)["C1"], by_customer(night1)["C2"]
    assert lines_of(night1, c1, "interest") == [
        # 2026-10-26 .. 2026-11-24: 30 days; 8000 * 30 * 10 / 36500 = 65.753.. -> 65.75
        ("INV-1", dt.date(2026, 10, 26), D1, 30, D("65.75"))]
    assert lines_of(night1, c1, "late_interest") == [
        # P-1: 2000.00 from 2026-09-02 to 2026-09-11, 10 days: 2000 * 10 * 10 / 36500 = 5.479.. -> 5.48
        ("INV-0", dt.date(2026, 9, 2), dt.date(2026, 9, 11), 10, D("5.48"))]
    assert lines_of(night1, c1, "compensation") == [("INV-1", None, None, None, D("40.00"))]
    assert (c1["interest_total"], c1["fee"], c1["compensation_total"], c1["total_due"]) == (
        D("71.23"), D("5.00"), D("40.00"), D("8116.23"))       # 8000.00 + 5.00 + 40.00 + 65.75 + 5.48
    assert (c2["level"], c2["fee"], c2["interest_total"], c2["total_due"]) == (1, D("0.00"), D("0.00"), D("3000.00"))
    assert documents(night1, "fee_documents") == [("FEE", "C1", D("5.00"))]        # level 1's fee is 0.00
    assert documents(night1, "compensation_documents") == [("CMP", "C1", D("40.00"))]
    assert documents(night1, "interest_documents") == [("INT", "C1", D("71.23"))]
    assert [(p["payment_id"], p["interest_amount"]) for p in night1._rows("SELECT * FROM payments_charged")] == [
        ("P-1", D("5.48"))]                                   # P-2: C2's letter is level 1, no interest
    assert {u["doc_id"]: (u["level_after"], u["last_dunned_on"], u["compensation_charged"], u["interest_paid_to"])
            for u in night1.levels_update} == {"INV-1": (2, D1, True, D1), "INV-2": (1, D1, False, None)}
    ledger.reimport(night1)

    # ---- night 2, D2 = 2026-12-18 ----------------------------------------------------------
    night2 = ledger.night(tmp_path, D2)
    s2 = {doc: (d["reason"], d["level_after"]) for doc, d in night2.decisions.items()}
    fee_docs_1 = [doc for doc in s2 if doc.split("-DL-")[0] in ("FEE", "CMP", "INT")]
    assert s2 == {"INV-1": ("advanced", 3),   # 54 days > 45; 24 days since D1 >= 45 - 21
                  "INV-2": ("advanced", 2),   # 34 days > 21; 24 days since D1 >= 21 - 7
                  # last night's three documents, due 2026-12-01: 17 days > 7, level 0 -> 1
                  **{doc: ("advanced", 1) for doc in fee_docs_1}}
    assert len(fee_docs_1) == 3
    c1, c2 = by_customer(night2)["C1"], by_customer(night2)["C2"]
    assert lines_of(night2, c1, "interest") == [
        # from the day after interest_paid_to D1: 2026-11-25 .. 2026-12-18, 24 days (no day twice);
        # 8000 * 24 * 10 / 36500 = 52.602.. -> 52.60; none on the fee documents (§4.6)
        ("INV-1", dt.date(2026, 11, 25), D2, 24, D("52.60"))]
    assert lines_of(night2, c1, "compensation") == []        # INV-1 was compensated on night 1
    assert lines_of(night2, c1, "late_interest") == []       # level 3 charges none, and P-1 is charged
    assert (c1["level"], c1["is_final"], c1["overdue_total"], c1["fee"], c1["total_due"]) == (
        3, True, D("8116.23"), D("10.00"), D("8178.83"))     # 8000 + 5 + 40 + 71.23; + 10.00 + 52.60
    assert lines_of(night2, c2, "interest") == [
        # 2026-11-15 .. 2026-12-18: 34 days; 3000 * 34 * 10 / 36500 = 27.945.. -> 27.95
        ("INV-2", dt.date(2026, 11, 15), D2, 34, D("27.95"))]
    assert lines_of(night2, c2, "late_interest") == [
        # P-2: 1000.00 for 2026-10-02 .. 2026-10-06, 5 days: 1000 * 5 * 10 / 36500 = 1.369.. -> 1.37
        ("INV-9", dt.date(2026, 10, 2), dt.date(2026, 10, 6), 5, D("1.37"))]
    assert lines_of(night2, c2, "compensation") == [("INV-2", None, None, None, D("40.00"))]
    assert (c2["interest_total"], c2["total_due"]) == (D("29.32"), D("3074.32"))   # 3000 + 5 + 40 + 27.95 + 1.37
    assert documents(night2, "compensation_documents") == [("CMP", "C2", D("40.00"))]
    assert sorted(documents(night2, "interest_documents")) == [("INT", "C1", D("52.60")), ("INT", "C2", D("29.32"))]
    assert [p["payment_id"] for p in night2._rows("SELECT * FROM payments_charged")] == ["P-2"]
    updates2 = {u["doc_id"]: (u["level_after"], u["compensation_charged"], u["interest_paid_to"])
                for u in night2.levels_update}
    assert updates2["INV-1"] == (3, True, D2) and updates2["INV-2"] == (2, True, D2)
    assert all(updates2[doc] == (1, False, None) for doc in fee_docs_1)
    ledger.reimport(night2)

    # ---- night 3, D3 = 2027-01-11 ----------------------------------------------------------
    night3 = ledger.night(tmp_path, D3)
    s3 = {doc: (d["reason"], d["level_after"]) for doc, d in night3.decisions.items()}
    c1_items = [doc for doc, d in night3.decisions.items() if d["customer_id"] == "C1"]
    # C1 had its final reminder (INV-1 at level 3, the last): collection took over (§4.2)
    assert all(s3[doc] == ("customer_final", ledger.items[doc]["dunning_level"]) for doc in c1_items)
    assert s3["INV-2"] == ("advanced", 3)     # 58 days > 45; 24 days since D2 >= 24
    [c2] = night3.letters
    assert c2["customer_id"] == "C2"
    assert lines_of(night3, c2, "interest") == [
        # 2026-12-19 .. 2027-01-11: 24 days; 3000 * 24 * 10 / 36500 = 19.726.. -> 19.73
        ("INV-2", dt.date(2026, 12, 19), D3, 24, D("19.73"))]
    assert lines_of(night3, c2, "compensation") == [] and lines_of(night3, c2, "late_interest") == []
    assert (c2["overdue_total"], c2["fee"], c2["total_due"]) == (D("3074.32"), D("10.00"), D("3104.05"))
    assert documents(night3, "compensation_documents") == []
    assert documents(night3, "interest_documents") == [("INT", "C2", D("19.73"))]
    assert night3._rows("SELECT * FROM payments_charged") == []

    # ---- across the three nights: every charge once ----------------------------------------
    nights = (night1, night2, night3)
    compensated = [d["fee_doc_id"].removeprefix(f"CMP-{d['letter_id']}-")
                   for n in nights for d in n._rows("SELECT * FROM compensation_documents")]
    assert compensated == ["INV-1", "INV-2"]       # one each, on the night each first reached level 2
    charged_days: dict[str, list[tuple]] = {}
    for n in nights:
        for x in n.lines:
            if x["line_type"] == "interest":
                charged_days.setdefault(x["doc_id"], []).append((x["interest_from"], x["interest_to"]))
    for doc, periods in charged_days.items():
        periods.sort()
        assert all(a[1] < b[0] for a, b in zip(periods, periods[1:])), (doc, periods)   # no day twice
        assert all(b[0] == a[1] + dt.timedelta(days=1) for a, b in zip(periods, periods[1:])), (doc, periods)
    assert charged_days == {"INV-1": [(dt.date(2026, 10, 26), D1), (dt.date(2026, 11, 25), D2)],
                            "INV-2": [(dt.date(2026, 11, 15), D2), (dt.date(2026, 12, 19), D3)]}
    assert [p["payment_id"] for n in nights for p in n._rows("SELECT * FROM payments_charged")] == ["P-1", "P-2"]
    # the levels of §4: INV-1 1 -> 2 -> 3 (then final), INV-2 0 -> 1 -> 2 -> 3, one level a night
    assert [[n.decisions[doc]["level_after"] for n in nights] for doc in ("INV-1", "INV-2")] == [[2, 3, 3], [1, 2, 3]]
