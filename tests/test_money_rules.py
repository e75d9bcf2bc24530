"""The money rules of SPEC §9 as short stories, each figure computed by hand beside it.

Run date AS_OF = 2026-11-24; `item(doc_id, n, amount)` is due n days before it. The base is
SPEC_CONFIG at 10 % (TEN): level 1 after 7 days (no fee, no interest), level 2 after 21
days (settle 7, fee 5.00, interest), level 3 after 45 days (settle 7, fee 10.00, interest,
final); letter minimum 5.00 EUR, interest minimum 1.00 EUR, act/365 to the letter date.
A level-1 item 30 days past due with no last letter date advances to level 2.
Interest = amount x days x 10 / 36500, rounded half-up per line.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import AS_OF, Outcome, customer, days_before, item, with_config, write_csv

from dunning_batch.checks.explain import explain
from dunning_batch.checks.reconcile import reconcile
from dunning_batch.cli import main
from dunning_batch.config import PAYMENT_COLUMNS
from dunning_batch.run import run

D = Decimal
TEN = with_config({"fixed_rate = 8.0": "fixed_rate = 10.0"})
LEVEL_3 = '''  fee = { EUR = 10.00 }
  interest = true
  template = "final_notice"'''
POLICY_MIN = "min_amount = { EUR = 5.00 }"


def level_2(*keys: str, fee: str = "fee = { EUR = 5.00 }", base: str = TEN) -> str:
    """`base` with level 2's fee line replaced by `fee` and `keys` added to the level."""
    [old] = re.findall(r'  fee = \{[^}]*\}\n  interest = true\n  template = "second_reminder"', base)
    lines = [fee] if fee else []
    body = "\n".join(f"  {line}" for line in lines + ["interest = true", *keys, 'template = "second_reminder"'])
    return with_config({old: body}, base)


def policy(*keys: str, base: str = TEN) -> str:
    """`base` with policy keys added to the standard policy."""
    return with_config({POLICY_MIN: "\n".join([POLICY_MIN, *keys])}, base)


def letter_id(key: str) -> str:
    return f"DL-{AS_OF:%Y%m%d}-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def story(outcome: Outcome) -> dict[str, tuple[str, str, int]]:
    return {doc: (d["outcome"], d["reason"], d["level_after"]) for doc, d in outcome.decisions.items()}


def letter_of(outcome: Outcome, customer_id: str) -> dict:
    [letter] = [x for x in outcome.letters if x["customer_id"] == customer_id]
    return letter


def rows(outcome: Outcome, relation: str) -> list[dict]:
    return outcome._rows(f"SELECT * FROM {relation} ORDER BY ALL")


def reconciles(outcome: Outcome) -> None:
    failed = [c.line() for c in reconcile(outcome.out) if not c.ok]
    assert not failed, failed


def customers(*ids: str) -> list[dict]:
    return [customer(c) for c in ids]


def run_with_payments(scenario, items, payments, config, custs=None, as_of=AS_OF, **options) -> Outcome:
    config_path, items_path, customers_path = scenario.files(items, custs, config)
    payments_path = write_csv(config_path.parent / "payments.csv", payments, PAYMENT_COLUMNS)
    out = scenario.tmp_path / f"out{scenario.runs}"
    run(config_path, items_path, customers_path, as_of, out, pdf=options.pop("pdf", False),
        payments=payments_path, **options)
    return Outcome(out)


def payment(payment_id: str, doc_id: str, due_days: int, paid_days: int, amount: str = "100.00", **fields) -> dict:
    """A payment of C1 in EUR: its document was due `due_days` and paid `paid_days` before AS_OF."""
    row = {"payment_id": payment_id, "customer_id": "C1", "doc_id": doc_id, "currency": "EUR",
           "due_date": days_before(due_days), "paid_on": days_before(paid_days), "amount": amount}
    row.update(fields)
    return row


# ---------------------------------------------------------------- §9.1 percentage and tiered fees

def test_fee_percent_of_the_overdue_total(scenario):
    outcome = scenario.run([item("INV-1", 30, "1234.56", dunning_level=1)], config=level_2(fee="fee_percent = 1.5"))
    [letter] = outcome.letters
    assert letter["fee"] == D("18.52")           # 1234.56 * 1.5 / 100 = 18.5184 -> 18.52
    assert letter["interest_total"] == D("10.15")  # 1234.56 * 30 * 10 / 36500 = 10.1470.. -> 10.15
    assert letter["total_due"] == D("1263.23")   # 1234.56 + 18.52 + 10.15
    [fee] = outcome.fees
    assert (fee["fee_doc_id"], fee["amount"]) == ("FEE-" + letter["letter_id"], D("18.52"))
    reconciles(outcome)


@pytest.mark.parametrize("mode, fee", [("accumulated", "25.00"), ("single", "15.00")])
def test_tier_check_figures_of_the_spec(scenario, mode, fee):
    config = level_2(f'fee_tier_mode = "{mode}"',
                     fee="fee_tiers = { EUR = [ {over = 0.00, percent = 2.0}, {over = 1000.00, percent = 1.0} ] }")
    outcome = scenario.run([item("INV-1", 30, "1500.00", dunning_level=1)], config=config)
    # accumulated: 2 % of the first 1000.00 (20.00) + 1 % of the 500.00 above 1000.00 (5.00) = 25.00
    # single: the tier with the greatest over below 1500.00 is 1000.00: 1 % of 1500.00 = 15.00
    assert outcome.letters[0]["fee"] == D(fee)
    reconciles(outcome)


@pytest.mark.parametrize("mode", ["single", "accumulated"])
def test_tier_boundary_exactly_at_over(scenario, mode):
    tiers = "fee_tiers = { EUR = [ {over = 0.00, fixed = 5.00}, {over = 1000.00, fixed = 10.00, percent = 0.5} ] }"
    outcome = scenario.run([item("AT", 30, "1000.00", dunning_level=1),
                            item("ABOVE", 30, "1000.01", dunning_level=1, customer_id="C2")],
                           customers("C1", "C2"), config=level_2(f'fee_tier_mode = "{mode}"', fee=tiers))
    # 1000.00 is not above the second tier's over 1000.00: only the first tier applies, 5.00 (both modes)
    assert letter_of(outcome, "C1")["fee"] == D("5.00")
    # 1000.01, single: 10.00 + 1000.01 * 0.5 / 100 = 15.00005 -> 15.00
    # 1000.01, accumulated: 5.00 + 10.00 + (1000.01 - 1000.00) * 0.5 / 100 = 15.00005 -> 15.00
    assert letter_of(outcome, "C2")["fee"] == D("15.00")


def test_fee_min_and_fee_max_each_binding(scenario):
    config = level_2("fee_min = { EUR = 10.00 }", "fee_max = { EUR = 20.00 }", fee="fee_percent = 1.0")
    items = [item("SMALL", 30, "500.00", dunning_level=1),                    # 1 % = 5.00 -> min 10.00
             item("LARGE", 30, "5000.00", dunning_level=1, customer_id="C2"),  # 1 % = 50.00 -> max 20.00
             item("MIDDLE", 30, "1500.00", dunning_level=1, customer_id="C3")]  # 1 % = 15.00, neither binds
    outcome = scenario.run(items, customers("C1", "C2", "C3"), config=config)
    assert [letter_of(outcome, c)["fee"] for c in ("C1", "C2", "C3")] == [D("10.00"), D("20.00"), D("15.00")]
    reconciles(outcome)


def test_fee_min_without_fee_max_still_lifts_the_fee(scenario):
    """SPEC §9.1: each clamp binds on its own."""
    gbp = level_2('fee_tier_mode = "single"', "fee_min = { GBP = 5.00 }", base=TEN.replace("EUR", "GBP"),
                  fee="fee_tiers = { GBP = [ {over = 0.00, fixed = 2.50} ] }")
    outcome = scenario.run([item("INV-1", 30, "2376.23", currency="GBP", dunning_level=1)], config=gbp)
    [letter] = outcome.letters
    assert letter["fee"] == D("5.00")               # the one tier gives 2.50; fee_min lifts it to 5.00
    assert letter["interest_total"] == D("19.53")   # 2376.23 * 30 * 10 / 36500 = 19.530.. -> 19.53
    assert letter["total_due"] == D("2400.76")      # 2376.23 + 5.00 + 19.53
    assert [(f["currency"], f["amount"]) for f in outcome.fees] == [("GBP", D("5.00"))]
    reconciles(outcome)


def test_fee_max_without_fee_min_caps_the_fee(scenario):
    config = level_2("fee_max = { EUR = 20.00 }", fee="fee_percent = 1.0")
    items = [item("SMALL", 30, "500.00", dunning_level=1),                    # 1 % = 5.00: no minimum to lift it
             item("LARGE", 30, "5000.00", dunning_level=1, customer_id="C2")]  # 1 % = 50.00 -> max 20.00
    outcome = scenario.run(items, customers("C1", "C2"), config=config)
    assert [letter_of(outcome, c)["fee"] for c in ("C1", "C2")] == [D("5.00"), D("20.00")]
    reconciles(outcome)


def test_fee_is_rounded_half_up_once_in_exact_decimals(scenario):
    outcome = scenario.run([item("INV-1", 30, "1001.00", dunning_level=1)], config=level_2(fee="fee_percent = 0.5"))
    # 1001.00 * 0.5 / 100 = 5.005 exactly -> half-up 5.01 (a float or half-even would give 5.00)
    assert outcome.letters[0]["fee"] == D("5.01")


# ---------------------------------------------------------------- §9.2 recovery compensation

def test_eu_compensation_once_per_overdue_invoice(scenario):
    items = [
        item("INV-1", 30, "2000.00", dunning_level=1),                                   # 1 -> 2
        item("INV-2", 10, "500.00", dunning_level=1, last_dunned_on=days_before(3)),     # listed at 1
        item("DBM-1", 30, "300.00", doc_type="debit_memo", dunning_level=1),             # 1 -> 2, no compensation
        item("INV-3", 30, "100.00", dunning_level=1, compensation_charged="true"),         # charged before: none
    ]
    outcome = scenario.run(items, config=level_2('compensation = "eu"'))
    [letter] = outcome.letters
    lid = letter["letter_id"]
    assert letter["compensation_total"] == D("80.00")   # INV-1 and INV-2: 2 x 40.00 (the EU default)
    # interest: INV-1 2000 * 30 * 10 / 36500 = 16.438.. -> 16.44; INV-2 500 * 10 * 10 / 36500 = 1.369.. -> 1.37;
    # DBM-1 300 * 30 * 10 / 36500 = 2.465.. -> 2.47; INV-3 100 * 30 * 10 / 36500 = 0.821.. -> 0.82
    assert letter["interest_total"] == D("21.10")       # 16.44 + 1.37 + 2.47 + 0.82
    assert letter["overdue_total"] == D("2900.00")      # 2000 + 500 + 300 + 100
    assert letter["total_due"] == D("3006.10")          # 2900.00 + fee 5.00 + 80.00 + 21.10
    kinds = [(x["line_type"], x["doc_id"]) for x in outcome.lines]
    assert kinds == [("overdue", "DBM-1"), ("overdue", "INV-1"), ("overdue", "INV-3"), ("overdue", "INV-2"),
                     ("interest", "DBM-1"), ("interest", "INV-1"), ("interest", "INV-3"), ("interest", "INV-2"),
                     ("compensation", "INV-1"), ("compensation", "INV-2")]   # after the interest lines
    assert [x["compensation_amount"] for x in outcome.lines if x["line_type"] == "compensation"] == [D("40.00")] * 2
    docs = rows(outcome, "compensation_documents")
    assert [(d["fee_doc_id"], d["amount"], d["due_date"], d["description"]) for d in docs] == [
        (f"CMP-{lid}-INV-1", D("40.00"), dt.date(2026, 12, 1), "Recovery compensation INV-1"),
        (f"CMP-{lid}-INV-2", D("40.00"), dt.date(2026, 12, 1), "Recovery compensation INV-2")]
    # levels_update: the level changes, and INV-2 whose level stays but whose compensation was charged
    updates = {u["doc_id"]: (u["level_before"], u["level_after"], u["last_dunned_on"], u["compensation_charged"])
               for u in outcome.levels_update}
    assert updates == {
        "DBM-1": (1, 2, AS_OF, False),
        "INV-1": (1, 2, AS_OF, True),
        "INV-2": (1, 1, dt.date.fromisoformat(days_before(3)), True),   # last_dunned_on unchanged
        "INV-3": (1, 2, AS_OF, True),                                     # charged before, still true
    }
    reconciles(outcome)


def test_invoice_compensated_last_night_gets_none_tonight(scenario):
    config = level_2('compensation = "eu"')
    config = with_config({LEVEL_3: LEVEL_3.replace("interest = true", 'interest = true\n  compensation = "eu"')}, config)
    # last night's letter (level 2) charged the 40.00 and the levels file said so; tonight it reaches level 3
    outcome = scenario.run([item("INV-1", 50, "2000.00", dunning_level=2, last_dunned_on=days_before(24),
                                 compensation_charged="true")], config=config)
    [letter] = outcome.letters
    assert letter["level"] == 3 and letter["compensation_total"] == D("0.00")
    assert [x["line_type"] for x in outcome.lines] == ["overdue", "interest"]
    assert rows(outcome, "compensation_documents") == []
    [update] = outcome.levels_update
    assert (update["level_after"], update["compensation_charged"]) == (3, True)
    reconciles(outcome)


def test_uk_compensation_by_the_original_amount(scenario):
    gbp = level_2('compensation = "uk"', base=TEN.replace("EUR", "GBP"), fee="fee = { GBP = 5.00 }")
    amounts = {"UK-1": "999.99", "UK-2": "1000.00", "UK-3": "9999.99", "UK-4": "10000.00"}
    items = [item(doc, 30, "100.00", currency="GBP", amount=amount, dunning_level=1) for doc, amount in amounts.items()]
    outcome = scenario.run(items, config=gbp)
    got = {x["doc_id"]: x["compensation_amount"] for x in outcome.lines if x["line_type"] == "compensation"}
    # below 1,000.00 -> 40.00; below 10,000.00 -> 70.00; otherwise 100.00 (by `amount`, not open_amount)
    assert got == {"UK-1": D("40.00"), "UK-2": D("70.00"), "UK-3": D("70.00"), "UK-4": D("100.00")}
    assert outcome.letters[0]["compensation_total"] == D("280.00")
    reconciles(outcome)


# ---------------------------------------------------------------- §9.3 minimum percentage

def test_min_percent_of_the_open_balance(scenario):
    config = policy("min_percent = 10.0", base=with_config({"include_credits = false": "include_credits = true"}, TEN))
    items = [
        # C1: overdue 100.00; balance 100.00 + 1000.00 not due (the blocked 5000.00 is excluded by §4.2)
        item("C1-TRIG", 10, "100.00"), item("C1-LATER", -5, "1000.00"), item("C1-BLOCKED", 20, "5000.00", blocked="true"),
        # C2: overdue 120.00; balance 1120.00
        item("C2-TRIG", 10, "120.00", customer_id="C2"), item("C2-LATER", -5, "1000.00", customer_id="C2"),
        # C3: overdue 4.00 < min_amount 5.00, tested first
        item("C3-TRIG", 10, "4.00", customer_id="C3"), item("C3-LATER", -5, "1000.00", customer_id="C3"),
        # C4: overdue 100.00 of a balance 2100.00, and in credit: min_percent is tested first
        item("C4-TRIG", 10, "100.00", customer_id="C4"), item("C4-LATER", -5, "2000.00", customer_id="C4"),
        item("C4-CRN", 5, "-300.00", doc_type="credit_memo", customer_id="C4"),
        # C5: overdue 110.00 is exactly 10 % of the balance 1100.00: not below
        item("C5-TRIG", 10, "110.00", customer_id="C5"), item("C5-LATER", -5, "990.00", customer_id="C5"),
    ]
    outcome = scenario.run(items, customers("C1", "C2", "C3", "C4", "C5"), config=config)
    s = story(outcome)
    assert s["C1-TRIG"] == ("excluded", "below_min_percent", 0)   # 100.00 < 10 % of 1100.00 = 110.00
    assert s["C1-BLOCKED"] == ("excluded", "blocked", 0)
    assert s["C2-TRIG"] == ("dunned", "advanced", 1)              # 120.00 >= 10 % of 1120.00 = 112.00
    assert s["C3-TRIG"] == ("excluded", "below_min_amount", 0)
    assert s["C4-TRIG"] == ("excluded", "below_min_percent", 0)   # 100.00 < 210.00, before customer_in_credit
    assert s["C4-CRN"] == ("excluded", "below_min_percent", 0)    # the credit line of the suppressed letter
    assert s["C5-TRIG"] == ("dunned", "advanced", 1)              # 110.00 = 110.00
    assert sorted(x["customer_id"] for x in outcome.letters) == ["C2", "C5"]
    details = {r["doc_id"]: r for r in outcome._rows("SELECT * FROM item_details")}
    assert details["C1-TRIG"]["open_balance"] == D("1100.00")
    reconciles(outcome)
    text = explain(outcome.out, "C1-TRIG")
    assert "min_percent of 10 % of the customer's open balance 1,100.00 EUR" in text


# ---------------------------------------------------------------- §9.4 posted interest

def test_interest_paid_to_is_honoured_and_posted(scenario):
    items = [item("INV-1", 32, "8000.00", dunning_level=1, interest_paid_to=days_before(10)),
             item("INV-2", 10, "2000.00", dunning_level=1, last_dunned_on=days_before(5))]
    outcome = scenario.run(items, config=level_2("post_interest = true"))
    [letter] = outcome.letters
    got = [(x["doc_id"], x["interest_from"], x["interest_days"], x["interest_amount"])
           for x in outcome.lines if x["line_type"] == "interest"]
    assert got == [
        # posted to D - 10 before: from D - 9 through D, 10 days: 8000 * 10 * 10 / 36500 = 21.917.. -> 21.92
        ("INV-1", dt.date.fromisoformat(days_before(9)), 10, D("21.92")),
        ("INV-2", dt.date.fromisoformat(days_before(9)), 10, D("5.48")),   # 2000 * 10 * 10 / 36500 = 5.479..
    ]
    assert letter["interest_total"] == D("27.40")
    [doc] = rows(outcome, "interest_documents")
    assert (doc["fee_doc_id"], doc["amount"], doc["due_date"], doc["description"]) == (
        "INT-" + letter["letter_id"], D("27.40"), dt.date(2026, 12, 1), "Dunning interest level 2")
    updates = {u["doc_id"]: (u["level_after"], u["last_dunned_on"], u["interest_paid_to"]) for u in outcome.levels_update}
    assert updates == {"INV-1": (2, AS_OF, AS_OF),                                    # the last day charged
                       "INV-2": (1, dt.date.fromisoformat(days_before(5)), AS_OF)}  # level kept, state changed
    reconciles(outcome)


OUTSIDE_TOTAL = with_config({"include_in_total = true": "include_in_total = false"}, TEN)


def pdf_words(path) -> str:
    """A PDF's text with every run of whitespace (and Babel's no-break spaces) as one space."""
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


def test_posted_interest_outside_the_total_due(scenario, tmp_path):
    """SPEC §9.4 with include_in_total = false: the interest is booked as its own receivable and
    shown on the letter, but not demanded in total_due."""
    items = [item("INV-1", 32, "8000.00", dunning_level=1, interest_paid_to=days_before(10)),
             item("INV-2", 10, "2000.00", dunning_level=1, last_dunned_on=days_before(5))]
    outcome = scenario.run(items, config=level_2("post_interest = true", base=OUTSIDE_TOTAL), pdf=True)
    [letter] = outcome.letters
    lid = letter["letter_id"]
    # INV-1 from D - 9 (posted to D - 10): 8000 * 10 * 10 / 36500 = 21.917.. -> 21.92;
    # INV-2 from its due date D - 10: 2000 * 10 * 10 / 36500 = 5.479.. -> 5.48
    assert letter["interest_total"] == D("27.40")
    assert letter["total_due"] == D("10005.00")     # 8000.00 + 2000.00 + fee 5.00, the interest left out
    [doc] = rows(outcome, "interest_documents")     # ... and booked on its own
    assert (doc["fee_doc_id"], doc["amount"], doc["due_date"]) == (f"INT-{lid}", D("27.40"), dt.date(2026, 12, 1))
    assert {u["doc_id"]: u["interest_paid_to"] for u in outcome.levels_update} == {"INV-1": AS_OF, "INV-2": AS_OF}
    reconciles(outcome)
    text = pdf_words(outcome.out / letter["pdf_path"])
    assert "Please pay the total of €10,005.00 by Dec 1, 2026 at the latest." in text
    assert "the interest on the overdue amounts is shown below and is not part of this total" in text
    assert "Total due €10,005.00 Interest, booked to your account separately (not part of the total due) €27.40" in text
    # void: the interest document is reversed and interest_paid_to restored, as with the interest in the total
    result = CliRunner().invoke(main, ["void", str(outcome.out), lid, "--out", str(tmp_path / "void"),
                                       "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    reversals = {r["fee_doc_id"]: r["amount"] for r in _read_csv(tmp_path / "void" / "fee_reversals.csv")}
    assert reversals == {f"REV-FEE-{lid}": "-5.00", f"REV-INT-{lid}": "-27.40"}
    restored = {r["doc_id"]: r["interest_paid_to"] for r in _read_csv(tmp_path / "void" / "levels_restore.csv")}
    assert restored == {"INV-1": days_before(10), "INV-2": ""}


def test_interest_outside_the_total_without_posting_is_for_information(scenario):
    outcome = scenario.run([item("INV-1", 30, "1500.00", dunning_level=1)], config=OUTSIDE_TOTAL, pdf=True)
    [letter] = outcome.letters
    # 1500 * 30 * 10 / 36500 = 12.328.. -> 12.33, not in the total: 1500.00 + fee 5.00
    assert (letter["interest_total"], letter["total_due"]) == (D("12.33"), D("1505.00"))
    assert not (outcome.out / "interest_documents.csv").exists()
    text = pdf_words(outcome.out / letter["pdf_path"])
    assert "Total due €1,505.00 Interest, for your information (not part of the total due) €12.33" in text
    assert "We have added a dunning fee; the interest" in text
    reconciles(outcome)


def test_interest_paid_to_without_posting_is_honoured_but_not_recorded(scenario):
    outcome = scenario.run([item("INV-1", 32, "8000.00", dunning_level=1, interest_paid_to=days_before(10))],
                           config=TEN)
    assert outcome.letters[0]["interest_total"] == D("21.92")   # still from D - 9: no day charged twice
    assert not (outcome.out / "interest_documents.csv").exists()
    # no rule of §9 configured: the file has the §5 columns, the view shows the §9 one NULL
    assert "interest_paid_to" not in pq.read_schema(outcome.out / "levels_update.parquet").names
    assert outcome.levels_update[0]["interest_paid_to"] is None


# ---------------------------------------------------------------- §9.5 interest on late payments

def test_partial_payment_ten_days_late(scenario):
    items = [item("INV-P", 30, "3000.00", amount="5000.00", dunning_level=1)]
    payments = [
        payment("P-1", "INV-P", 30, 20, "2000.00"),                          # 10 days late: charged
        payment("P-2", "INV-OLD", 40, 40, "700.00"),                         # paid on its due date: nothing
        payment("P-3", "INV-OLD2", 60, 30, "900.00", interest_charged="true"),  # charged before: nothing
        payment("P-4", "INV-C2", 40, 10, "800.00", customer_id="C2"),        # C2 gets no letter tonight
    ]
    outcome = run_with_payments(scenario, items, payments, level_2("late_payment_interest = true"),
                                customers("C1", "C2"))
    [letter] = outcome.letters
    [late] = [x for x in outcome.lines if x["line_type"] == "late_interest"]
    assert (late["doc_id"], late["due_date"], late["days_past_due"], late["open_amount"]) == (
        "INV-P", dt.date.fromisoformat(days_before(30)), 10, D("2000.00"))   # days late, the paid amount
    assert (late["interest_from"], late["interest_to"], late["interest_days"]) == (
        dt.date.fromisoformat(days_before(29)), dt.date.fromisoformat(days_before(20)), 10)
    assert late["interest_amount"] == D("5.48")     # the check figure: 2000 * 10 * 10 / 36500 = 5.479.. -> 5.48
    # the open 3000.00 itself: 3000 * 30 * 10 / 36500 = 24.657.. -> 24.66
    assert letter["interest_total"] == D("30.14")   # 24.66 + 5.48
    assert letter["total_due"] == D("3035.14")      # 3000.00 + fee 5.00 + 30.14
    assert [x["line_type"] for x in outcome.lines] == ["overdue", "interest", "late_interest"]
    assert rows(outcome, "payments_charged") == [
        {"payment_id": "P-1", "letter_id": letter["letter_id"], "interest_amount": D("5.48")}]
    reconciles(outcome)


def test_late_payments_alone_never_cause_a_letter(scenario):
    outcome = run_with_payments(scenario, [item("INV-1", 3, "100.00")],        # below level 1's threshold
                                [payment("P-1", "INV-9", 40, 10, "5000.00")], level_2("late_payment_interest = true"))
    assert outcome.letters == []
    assert rows(outcome, "payments_charged") == []


# Reference rates with margin 5.0: 7 % to 2026-10-31 (a repeated 2.00 on 2026-07-01 does not
# split), 8 % from 2026-11-01.
REFERENCE = with_config({"fixed_rate = 8.0": 'reference_rates = "rates.csv"\nmargin = 5.0'})
RATES_CSV = "effective_from,rate_percent\n2026-01-01,2.00\n2026-07-01,2.00\n2026-11-01,3.00\n"


def test_late_interest_is_split_by_rate_and_shows_the_days_late(scenario):
    """SPEC §9.5: interest on the paid amount from due_date + 1 through paid_on, split by rate as
    §4.6 (a line per run of one rate, even one that rounds to 0.00), days_past_due = paid_on -
    due_date; payments_charged holds each payment once with its interest summed."""
    config = level_2("late_payment_interest = true", base=REFERENCE)
    items = [item("INV-1", 30, "3000.00", dunning_level=1),                  # 1 -> 2, due 2026-10-25
             item("INV-9", 30, "3000.00", dunning_level=1, customer_id="C2")]
    payments = [
        payment("P-1", "INV-A", 40, 10, "2000.00"),                # due 10-15, paid 11-14: across the change
        payment("P-2", "INV-B", 25, 22, "10.00"),                  # due 10-30, paid 11-02: tiny amounts
        {**payment("P-3", "INV-C", 0, 0, "1000.00"), "due_date": "2026-06-20", "paid_on": "2026-07-10"},  # one rate
        payment("P-4", "INV-D", 40, 10, "2000.00", customer_id="C2"),   # C2's own rate, no margin, no split
    ]
    config_path, items_path, customers_path = scenario.files(items, [customer("C1"), customer("C2", interest_rate="6.5")],
                                                             config)
    (config_path.parent / "rates.csv").write_text(RATES_CSV, encoding="utf-8")
    payments_path = write_csv(config_path.parent / "payments.csv", payments, PAYMENT_COLUMNS)
    run(config_path, items_path, customers_path, AS_OF, scenario.tmp_path / "out", pdf=False, payments=payments_path)
    outcome = Outcome(scenario.tmp_path / "out")
    c1, c2 = letter_of(outcome, "C1"), letter_of(outcome, "C2")
    late = [(x["doc_id"], x["days_past_due"], x["open_amount"], str(x["interest_from"]), str(x["interest_to"]),
             x["interest_days"], x["rate_percent"], x["interest_amount"])
            for x in outcome.lines if x["line_type"] == "late_interest" and x["letter_id"] == c1["letter_id"]]
    assert late == [   # by due date; the days late on every line of a payment
        ("INV-C", 20, D("1000.00"), "2026-06-21", "2026-07-10", 20, D("7"), D("3.84")),   # 1000 * 20 * 7 / 36500 = 3.835..
        ("INV-A", 30, D("2000.00"), "2026-10-16", "2026-10-31", 16, D("7"), D("6.14")),   # 2000 * 16 * 7 / 36500 = 6.136..
        ("INV-A", 30, D("2000.00"), "2026-11-01", "2026-11-14", 14, D("8"), D("6.14")),   # 2000 * 14 * 8 / 36500 = 6.136..
        ("INV-B", 3, D("10.00"), "2026-10-31", "2026-10-31", 1, D("7"), D("0.00")),       # 10 * 1 * 7 / 36500 = 0.0019
        ("INV-B", 3, D("10.00"), "2026-11-01", "2026-11-02", 2, D("8"), D("0.00")),       # 10 * 2 * 8 / 36500 = 0.0043
    ]
    # INV-1's own interest: 10-26..10-31 6 days at 7 % = 3.452.. -> 3.45; 11-01..11-24 24 days at 8 % = 15.780.. -> 15.78
    assert c1["interest_total"] == D("35.35")      # 3.45 + 15.78 + 3.84 + 6.14 + 6.14 + 0.00 + 0.00
    assert c1["total_due"] == D("3040.35")         # 3000.00 + fee 5.00 + 35.35
    [c2_late] = [x for x in outcome.lines if x["line_type"] == "late_interest" and x["letter_id"] == c2["letter_id"]]
    # C2's interest_rate 6.5 % replaces the reference rate, no margin: 2000 * 30 * 6.5 / 36500 = 10.684.. -> 10.68
    assert (c2_late["rate_percent"], c2_late["interest_days"], c2_late["interest_amount"]) == (D("6.5"), 30, D("10.68"))
    assert [(r["payment_id"], r["letter_id"], r["interest_amount"]) for r in rows(outcome, "payments_charged")] == [
        ("P-1", c1["letter_id"], D("12.28")), ("P-2", c1["letter_id"], D("0.00")),
        ("P-3", c1["letter_id"], D("3.84")), ("P-4", c2["letter_id"], D("10.68"))]
    reconciles(outcome)


def test_late_payments_ride_only_in_a_dunning_letter_that_goes_out(scenario):
    """SPEC §9.5: late payments alone never cause a letter: not for a customer with nothing to
    dun, not in a letter suppressed by its minimum, not in a courtesy notice (§9.6)."""
    config = level_2("late_payment_interest = true", base=policy("pre_due_days = 5"))
    items = [item("SMALL", 10, "4.00", customer_id="C2"),     # a trigger, but 4.00 < min_amount 5.00
             item("SOON", -3, "500.00", customer_id="C3")]    # a courtesy notice, level 0
    payments = [payment("P-1", "X-1", 40, 10, "5000.00"),     # C1 has no open item at all
                payment("P-2", "X-2", 40, 10, "5000.00", customer_id="C2"),
                payment("P-3", "X-3", 40, 10, "5000.00", customer_id="C3")]
    outcome = run_with_payments(scenario, items, payments, config, customers("C1", "C2", "C3"))
    assert story(outcome) == {"SMALL": ("excluded", "below_min_amount", 0), "SOON": ("listed", "pre_due", 0)}
    [notice] = outcome.letters
    assert (notice["customer_id"], notice["template"], notice["interest_total"], notice["total_due"]) == (
        "C3", "pre_due", D("0.00"), D("500.00"))
    assert [x["line_type"] for x in outcome.lines] == ["current"]
    assert rows(outcome, "payments_charged") == []
    reconciles(outcome)


# ---------------------------------------------------------------- §9.6 notices before the due date

def test_courtesy_notice_at_exactly_minus_n_days(scenario):
    config = policy("pre_due_days = 5")
    items = [
        item("AT-5", -5, "100.00"), item("AT-0", 0, "50.00"), item("AT-6", -6, "70.00"),   # C1: no dunning letter
        item("C2-TRIG", 10, "100.00", customer_id="C2"), item("C2-SOON", -3, "60.00", customer_id="C2"),
        item("C3-SOON", -2, "3.00", customer_id="C3"),                                      # below the minimum
        item("C4-TRIG", 10, "4.00", customer_id="C4"), item("C4-SOON", -1, "200.00", customer_id="C4"),
    ]
    outcome = scenario.run(items, customers("C1", "C2", "C3", "C4"), config=config)
    s = story(outcome)
    assert s["AT-5"] == ("listed", "pre_due", 0)      # days_past_due -5 = -N: in
    assert s["AT-0"] == ("listed", "pre_due", 0)      # due today: in
    assert s["AT-6"] == ("excluded", "not_due", 0)    # -6 < -N: out
    assert s["C2-SOON"] == ("excluded", "not_due", 0)  # C2 gets a dunning letter: §4.4 decides
    assert s["C3-SOON"] == ("excluded", "below_min_amount", 0)   # the notice's 3.00 < 5.00
    assert s["C4-TRIG"] == ("excluded", "below_min_amount", 0)   # C4's dunning letter (4.00) is suppressed ...
    assert s["C4-SOON"] == ("listed", "pre_due", 0)              # ... so its customer gets a notice
    notice = letter_of(outcome, "C1")
    assert notice["letter_id"] == letter_id("C1|EUR||pre_due")
    assert (notice["level"], notice["template"], notice["fee"], notice["interest_total"]) == (
        0, "pre_due", D("0.00"), D("0.00"))
    assert (notice["current_total"], notice["total_due"]) == (D("150.00"), D("150.00"))   # 100.00 + 50.00
    assert notice["pay_by"] == AS_OF                  # the earliest due date of its lines (AT-0, due today)
    assert [(x["line_type"], x["doc_id"]) for x in outcome.lines if x["letter_id"] == notice["letter_id"]] == [
        ("current", "AT-0"), ("current", "AT-5")]
    assert not any(u["customer_id"] in ("C1", "C4") for u in outcome.levels_update)   # no level changes
    reconciles(outcome)
    assert "courtesy notice" in explain(outcome.out, "AT-5")


def test_courtesy_notice_renders_in_the_four_languages(scenario):
    config = policy("pre_due_days = 5")
    custs = [customer(c, language=lang) for c, lang in (("C1", "en"), ("C2", "de"), ("C3", "fr"), ("C4", "pl"))]
    items = [item(f"SOON-{c['customer_id']}", -3, "100.00", customer_id=c["customer_id"]) for c in custs]
    outcome = scenario.run(items, custs, config=config, pdf=True)
    assert len(outcome.letters) == 4
    assert all((outcome.out / x["pdf_path"]).is_file() for x in outcome.letters)


# ---------------------------------------------------------------- all rules in one letter, rendered

def test_a_letter_with_every_money_rule_renders_and_reconciles(scenario):
    config = level_2('compensation = "eu"', "post_interest = true", "late_payment_interest = true",
                     fee="fee_percent = 1.0")
    outcome = run_with_payments(scenario, [item("INV-1", 30, "1500.00", dunning_level=1)],
                                [payment("P-1", "INV-0", 30, 20, "2000.00")], config, pdf=True)
    [letter] = outcome.letters
    # 1500.00 + fee 15.00 + compensation 40.00 + interest (12.33 + 5.48); 1500 * 30 * 10 / 36500 = 12.328..
    assert letter["total_due"] == D("1572.81")
    assert (outcome.out / letter["pdf_path"]).is_file()
    reconciles(outcome)


def test_void_reverses_every_document_and_restores_the_state(scenario, tmp_path):
    config = level_2('compensation = "eu"', "post_interest = true")
    outcome = scenario.run([item("INV-1", 30, "1500.00", dunning_level=1, last_dunned_on=days_before(20))],
                           config=config)
    [letter] = outcome.letters
    lid = letter["letter_id"]
    target = tmp_path / "void"
    result = CliRunner().invoke(main, ["void", str(outcome.out), lid, "--out", str(target),
                                         "--as-of", "2026-11-26"])
    assert result.exit_code == 0, result.output
    reversals = {r["fee_doc_id"]: r["amount"] for r in _read_csv(target / "fee_reversals.csv")}
    # fee 5.00, compensation 40.00, interest 1500 * 30 * 10 / 36500 = 12.328.. -> 12.33
    assert reversals == {f"REV-FEE-{lid}": "-5.00", f"REV-CMP-{lid}-INV-1": "-40.00", f"REV-INT-{lid}": "-12.33"}
    # every reversal is posted on the day of the void, not the run's
    assert {(r["doc_date"], r["due_date"]) for r in _read_csv(target / "fee_reversals.csv")} == {
        ("2026-11-26", "2026-11-26")}
    [restore] = _read_csv(target / "levels_restore.csv")
    assert (restore["level_after"], restore["last_dunned_on"], restore["compensation_charged"],
            restore["interest_paid_to"]) == ("1", days_before(20), "false", "")


def _read_csv(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_demo_exercises_every_money_rule(demo_command):
    """`dunning-batch demo` (with fixtures/demo/payments.csv): the figures of fixtures/demo/README.md."""
    _, out = demo_command  # the command's run, shared (conftest): this test only reads it
    outcome = Outcome(out)
    got = {x["customer_id"]: (x["level"], x["fee"], x["compensation_total"], x["interest_total"], x["total_due"])
           for x in outcome.letters if "C031" <= x["customer_id"] <= "C037"}   # C038: SPEC §11
    assert got == {
        "C031": (2, D("21.00"), D("40.00"), D("37.70"), D("4298.70")),    # fee_percent; late payment 5.63
        "C032": (2, D("5.00"), D("40.00"), D("4.22"), D("649.22")),       # fee_min binding
        "C033": (3, D("40.00"), D("0.00"), D("168.82"), D("25208.82")),   # tiers, fee_max binding
        "C034": (3, D("17.00"), D("40.00"), D("84.41"), D("6141.41")),    # tiers, accumulated
        "C036": (0, D("0.00"), D("0.00"), D("0.00"), D("750.00")),        # courtesy notice
        "C037": (2, D("20.00"), D("140.00"), D("26.19"), D("3486.19")),   # uk, tiers single
    }
    assert [r["payment_id"] for r in rows(outcome, "payments_charged")] == ["PAY-90001"]
    assert len(rows(outcome, "compensation_documents")) == 5 and len(rows(outcome, "interest_documents")) == 4
    assert story(outcome)["INV-10206"] == ("excluded", "below_min_percent", 0)
    assert all(c.ok for c in reconcile(out)), [c.line() for c in reconcile(out) if not c.ok]


# ---------------------------------------------------------------- §3.4 config problems, §2.3 input problems

def run_cli(scenario, config: str, items=None, payments=None, custs=None):
    config_path, items_path, customers_path = scenario.files(items or [item("I-1", 30, "250.00", dunning_level=1)],
                                                             custs, config)
    args = ["run", "--config", str(config_path), "--open-items", str(items_path), "--customers",
            str(customers_path), "--as-of", AS_OF.isoformat(), "--out", str(scenario.tmp_path / "out"), "--no-pdf"]
    if payments is not None:
        args += ["--payments", str(write_csv(config_path.parent / "payments.csv", payments, PAYMENT_COLUMNS))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (scenario.tmp_path / "out").exists()
    return result.stderr, config_path


TIERS = "fee_tiers = { EUR = [ {over = 0.00, fixed = 5.00}, {over = 1000.00, percent = 1.0} ] }"


@pytest.mark.parametrize("config, pattern", [
    (level_2(fee="fee = { EUR = 5.00 }\n  fee_percent = 1.5"), r"'fee_percent'.*at most one of 'fee', 'fee_percent'"),
    (level_2("fee_percent = 1.5", fee=TIERS), r"at most one of .*'fee_percent' and 'fee_tiers'"),
    (level_2('fee_tier_mode = "single"',
             fee="fee_tiers = { EUR = [ {over = 0.00}, {over = 1000.00}, {over = 1000.00} ] }"),
     r"'fee_tiers'.*rise strictly.*0\.00, 1000\.00, 1000\.00"),
    (level_2('fee_tier_mode = "single"', fee="fee_tiers = { EUR = [ {over = 10.00, fixed = 5.00} ] }"),
     r"'fee_tiers'.*must start at 0\.00"),
    (level_2('fee_tier_mode = "single"', fee="fee_tiers = { EUR = [ {over = 0.00, percent = -1.0} ] }"),
     r"tier 1 key 'percent'.*from 0 to 100"),
    (level_2('fee_tier_mode = "single"', fee="fee_tiers = { EUR = [ {over = 0.00, fixed = -5.00} ] }"),
     r"tier 1 key 'fixed'.*must not be negative"),
    (level_2('fee_tier_mode = "single"', fee="fee_tiers = { EUR = [ {over = 0.00, fixd = 5.00} ] }"),
     r"tier 1 key 'fixd'.*not a known key"),
    (level_2(fee=TIERS), r"'fee_tier_mode'.*is required"),
    (level_2('fee_tier_mode = "stacked"', fee=TIERS), r"'fee_tier_mode'.*one of 'single', 'accumulated'"),
    (level_2(fee="fee_percent = 101"), r"'fee_percent'.*from 0 to 100"),
    (level_2("fee_min = { EUR = 30.00 }", "fee_max = { EUR = 20.00 }", fee="fee_percent = 1.0"),
     r"'fee_min'.*EUR 30\.00 is above fee_max EUR 20\.00"),
    (level_2("fee_min = { EUR = 3.00 }"), r"'fee_min'.*neither 'fee_percent' nor 'fee_tiers'"),
    (level_2('compensation = "us"'), r"'compensation'.*one of 'eu', 'uk'"),
    (policy("min_percent = 120.0"), r"'min_percent'.*from 0 to 100"),
    (policy("min_percent = -1.0"), r"'min_percent'.*from 0 to 100"),
    (policy("pre_due_days = 0"), r"'pre_due_days'.*from 1 to 99"),
    (policy("pre_due_days = 100"), r"'pre_due_days'.*from 1 to 99"),
    (policy("compensation_amount = { EUR = 40.00 }"), r"'compensation_amount'.*no level.*compensation = \"eu\""),
    (with_config({'interest = false\n  template = "reminder"':
                  'interest = false\n  late_payment_interest = true\n  template = "reminder"'}, TEN),
     r"level 1 key 'late_payment_interest'.*needs interest = true"),
    (with_config({'interest = false\n  template = "reminder"':
                  'interest = false\n  post_interest = true\n  template = "reminder"'}, TEN),
     r"level 1 key 'post_interest'.*needs interest = true"),
    (level_2("late_payment_interest = true", base=with_config({'grouping = "customer"': 'grouping = "document"'}, TEN)),
     r"'late_payment_interest'.*grouping = \"customer\""),
])
def test_config_problems_of_the_money_rules(scenario, config, pattern):
    stderr, config_path = run_cli(scenario, config)
    assert any(line.startswith(str(config_path)) and re.search(pattern, line) for line in stderr.splitlines()), stderr


@pytest.mark.parametrize("config, items, pattern", [
    (level_2('compensation = "uk"'), [item("I-1", 30, "250.00", amount="250.00", dunning_level=1)],
     r"open_items\.csv:2: currency: is EUR, but policy 'standard' charges the UK compensation"),
    (level_2('compensation = "uk"', base=TEN.replace("EUR", "GBP"), fee="fee = { GBP = 5.00 }"),
     [item("I-1", 30, "250.00", currency="GBP", dunning_level=1)],
     r"open_items\.csv:2: amount: is empty, but policy 'standard' charges the UK compensation"),
    (level_2('compensation = "eu"', base=with_config({"fee = { EUR = 0.00 }": "fee = { EUR = 0.00, USD = 0.00 }",
                                                      "fee = { EUR = 10.00 }": "fee = { EUR = 10.00, USD = 10.00 }",
                                                      "{ EUR = 1.00 }": "{ EUR = 1.00, USD = 1.00 }",
                                                      "{ EUR = 5.00 }": "{ EUR = 5.00, USD = 5.00 }"}, TEN),
             fee="fee = { EUR = 5.00, USD = 5.00 }"),
     [item("I-1", 30, "250.00", currency="USD", dunning_level=1)],
     r"open_items\.csv:2: currency: policy 'standard' has no compensation_amount .* for USD"),
    (level_2('fee_tier_mode = "single"', fee=TIERS), [item("I-1", 30, "250.00", currency="USD", dunning_level=1)],
     r"open_items\.csv:2: currency: policy 'standard' has no fee_tiers of level 2 for USD"),
    (TEN, [item("I-1", 30, "250.00", compensation_charged="maybe")],
     r"open_items\.csv:2: compensation_charged: 'maybe' is not true or false"),
    (TEN, [item("I-1", 30, "250.00", interest_paid_to="31.12.2026")],
     r"open_items\.csv:2: interest_paid_to: '31\.12\.2026' is not a date"),
])
def test_input_problems_of_the_money_rules(scenario, config, items, pattern):
    stderr, _ = run_cli(scenario, config, items)
    assert re.search(pattern, stderr), stderr


@pytest.mark.parametrize("bad, pattern", [
    ({"currency": "USD"}, r"payments\.csv:2: currency: is USD, but document 'INV-1' is in EUR in the open items"),
    ({"amount": "0.00"}, r"payments\.csv:2: amount: must be above zero"),
    ({"amount": "-5.00"}, r"payments\.csv:2: amount: must be above zero"),
    ({"amount": "12.345"}, r"payments\.csv:2: amount: .*(decimals|not a plain decimal)"),
    ({"paid_on": "2026-11-25"}, r"payments\.csv:2: paid_on: is 2026-11-25, after the run date 2026-11-24"),
    ({"paid_on": ""}, r"payments\.csv:2: paid_on: is empty"),
    ({"customer_id": "C9"}, r"payments\.csv:2: customer_id: customer 'C9' is not in the customers file"),
    ({"interest_charged": "perhaps"}, r"payments\.csv:2: interest_charged: 'perhaps' is not true or false"),
])
def test_payment_problems(scenario, bad, pattern):
    stderr, _ = run_cli(scenario, level_2("late_payment_interest = true"), [item("INV-1", 30, "250.00", dunning_level=1)],
                        [payment("P-1", "INV-1", 40, 30, **({"amount": "100.00"} | bad))])
    assert re.search(pattern, stderr), stderr


def test_duplicate_payment_id(scenario):
    stderr, _ = run_cli(scenario, level_2("late_payment_interest = true"), None,
                        [payment("P-1", "X-1", 40, 30, "100.00"), payment("P-1", "X-2", 40, 30, "100.00")])
    # reported once for the rows like it (SPEC §2.3: the first row and a count)
    assert re.search(r"payments\.csv:2: payment_id: 'P-1' appears 2 times \(first at row 2\); payment ids must be "
                     r"unique \(and 1 more row like it: row 3\)", stderr), stderr


def test_bad_payment_rows_are_rejected_in_non_strict_mode(scenario):
    config = level_2("late_payment_interest = true", base=with_config({"strict = true": "strict = false"}, TEN))
    outcome = run_with_payments(scenario, [item("INV-1", 30, "3000.00", dunning_level=1)],
                                [payment("P-1", "INV-1", 40, 30, "2000.00"),
                                 payment("P-2", "INV-1", 40, 30, "100.00", currency="USD")], config)
    [rejected] = outcome.rejected
    assert (rejected["source"], rejected["row_number"]) == ("payments", 3)
    assert "currency: is USD" in rejected["reason"]
    # P-1 alone: 2000 * 10 * 10 / 36500 = 5.479.. -> 5.48
    assert [r["payment_id"] for r in rows(outcome, "payments_charged")] == ["P-1"]
    reconciles(outcome)


def test_a_rejected_customer_takes_its_items_and_payments_with_it(scenario):
    """Non-strict: C2's row has a bad date, so its item and its payment are set aside with it,
    each saying which customers row took it."""
    config = level_2("late_payment_interest = true", base=with_config({"strict = true": "strict = false"}, TEN))
    outcome = run_with_payments(scenario,
                                [item("INV-1", 30, "3000.00", dunning_level=1),
                                 item("INV-2", 30, "500.00", dunning_level=1, customer_id="C2")],
                                [payment("P-1", "INV-1", 40, 30, "2000.00"),
                                 payment("P-2", "INV-2", 40, 30, "100.00", customer_id="C2")],
                                config, custs=[customer("C1"), customer("C2", grace_until="2026-02-30")])
    reasons = {(r["source"], r["row_number"]): r["reason"] for r in outcome.rejected}
    assert set(reasons) == {("customers", 3), ("open_items", 3), ("payments", 3)}
    assert "grace_until" in reasons[("customers", 3)]
    for source in ("open_items", "payments"):
        assert reasons[(source, 3)] == "customer_id: customer 'C2' was rejected (customers row 3)"
    assert [r["payment_id"] for r in rows(outcome, "payments_charged")] == ["P-1"]
    reconciles(outcome)
