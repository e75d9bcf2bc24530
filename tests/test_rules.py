"""The rules of SPEC §3.3, §4 and §5 as short stories at boundary dates.

Every figure is computed by hand in a comment beside it, so a reader can check the
arithmetic without running the job. The run date is AS_OF = 2026-11-24 unless a test
says otherwise; `item(doc_id, n, amount)` is due n days before it (n days past due).

The policy of SPEC_CONFIG: level 1 after 7 days (settle 10, fee 0.00, no interest),
level 2 after 21 days (settle 7, fee 5.00, interest), level 3 after 45 days (settle 7,
fee 10.00, interest, final, credit hold, payment term IMMEDIATE); letter min 5.00 EUR,
interest min 1.00 EUR, 8 % act/365 to the letter date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import AS_OF, ROOT, SPEC_CONFIG, Outcome, customer, days_before, item, with_config

from dunning_batch.checks.explain import explain
from dunning_batch.errors import LetterIdCollision
from dunning_batch.pipeline import stage_sql
from dunning_batch.guards import check_letter_ids
from dunning_batch.run import run

D = Decimal

TEN_PERCENT = with_config({"fixed_rate = 8.0": "fixed_rate = 10.0"})

# Every EUR table also names USD (SPEC §3.2: a table that is present names every currency).
EUR_AND_USD = with_config({
    "fee = { EUR = 0.00 }": "fee = { EUR = 0.00, USD = 0.00 }",
    "fee = { EUR = 5.00 }": "fee = { EUR = 5.00, USD = 5.00 }",
    "fee = { EUR = 10.00 }": "fee = { EUR = 10.00, USD = 10.00 }",
    "min_amount = { EUR = 1.00 }": "min_amount = { EUR = 1.00, USD = 1.00 }",
    "min_amount = { EUR = 5.00 }": "min_amount = { EUR = 5.00, USD = 5.00 }",
})

# Reference rates + margin instead of a fixed rate (SPEC §3, §4.6).
REFERENCE_CONFIG = with_config({"fixed_rate = 8.0": 'reference_rates = "rates.csv"\nmargin = 5.0'})
RATES_CSV = (
    "effective_from,rate_percent\n"
    "2026-01-01,2.00\n"
    "2026-07-01,2.00\n"   # the same rate again: must not split a period
    "2026-11-01,3.00\n"
)


def letter_id(key: str, as_of: dt.date = AS_OF) -> str:
    """SPEC §5: DL-<yyyymmdd>-<first 16 hex of sha256 of 'customer_id|currency|branch|extra'>."""
    return f"DL-{as_of:%Y%m%d}-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def story(outcome: Outcome) -> dict[str, tuple[str, str, int]]:
    """doc_id -> (outcome, reason, level_after)."""
    return {doc: (d["outcome"], d["reason"], d["level_after"]) for doc, d in outcome.decisions.items()}


def interest_lines(outcome: Outcome) -> list[dict]:
    return [line for line in outcome.lines if line["line_type"] == "interest"]


def run_with_rates(scenario, items, customers=None, config=REFERENCE_CONFIG, rates=RATES_CSV,
                   as_of=AS_OF) -> Outcome:
    """Like scenario.run, with a rates CSV written next to the config (its path is relative to it)."""
    config_path, items_path, customers_path = scenario.files(items, customers, config)
    (config_path.parent / "rates.csv").write_text(rates, encoding="utf-8")
    out = scenario.tmp_path / f"out{scenario.runs}"
    run(config_path, items_path, customers_path, as_of, out, pdf=False)
    return Outcome(out)


# ---------------------------------------------------------------- §4.1 / §4.3 days past due

def test_day_seven_no_letter_day_eight_level_one(scenario):
    outcome = scenario.run([item("DAY-7", 7, "100.00"), item("DAY-8", 8, "100.00", customer_id="C2")],
                           [customer("C1"), customer("C2")])
    # 7 days past due does not EXCEED the threshold 7; 8 does
    assert story(outcome)["DAY-7"] == ("excluded", "below_level_threshold", 0)
    assert story(outcome)["DAY-8"] == ("dunned", "advanced", 1)
    [letter] = outcome.letters
    assert letter["customer_id"] == "C2" and letter["level"] == 1


def test_not_yet_due_and_due_today_are_not_due(scenario):
    outcome = scenario.run([item("FUTURE", -5, "100.00"), item("TODAY", 0, "100.00")])
    assert outcome.decisions["FUTURE"]["days_past_due"] == -5   # D - due_date is negative before the due date
    assert outcome.decisions["TODAY"]["days_past_due"] == 0
    assert story(outcome)["FUTURE"] == ("excluded", "not_due", 0)
    assert story(outcome)["TODAY"] == ("excluded", "not_due", 0)  # overdue only when days_past_due > 0
    assert outcome.letters == []


# ---------------------------------------------------------------- §4.6 interest

def test_interest_check_figures_of_the_spec(scenario):
    # A level-1 invoice 32 days past due advances to level 2 (32 > 21); a level-1 invoice
    # 10 days past due is listed in the same level-2 letter and is charged interest too.
    outcome = scenario.run([item("INV-A", 32, "8000.00", dunning_level=1),
                            item("INV-B", 10, "2000.00", dunning_level=1)], config=TEN_PERCENT)
    assert story(outcome)["INV-A"] == ("dunned", "advanced", 2)
    assert story(outcome)["INV-B"] == ("listed", "listed", 1)
    [letter] = outcome.letters
    assert letter["level"] == 2
    a, b = interest_lines(outcome)   # in the order of their items: INV-A due earlier than INV-B
    assert (a["doc_id"], a["interest_days"], a["rate_percent"]) == ("INV-A", 32, D("10"))
    assert (a["interest_from"], a["interest_to"]) == (dt.date(2026, 10, 24), AS_OF)  # due 10-23 + 1 .. D
    assert a["interest_amount"] == D("70.14")            # 8000.00 * 32 * 10 / 100 / 365 = 70.1369.. -> 70.14
    assert (b["doc_id"], b["interest_days"], b["rate_percent"]) == ("INV-B", 10, D("10"))
    assert b["interest_amount"] == D("5.48")             # 2000.00 * 10 * 10 / 100 / 365 = 5.4794.. -> 5.48
    assert letter["interest_total"] == D("75.62")        # 70.14 + 5.48
    assert letter["overdue_total"] == D("10000.00")      # 8000.00 + 2000.00
    assert letter["fee"] == D("5.00")                    # level 2 fee
    assert letter["total_due"] == D("10080.62")          # 10000.00 + 5.00 + 75.62


def test_interest_line_rounds_half_up_in_exact_decimals(scenario):
    config = with_config({'basis = "act/365"': 'basis = "act/360"', "fixed_rate = 8.0": "fixed_rate = 9.0"})
    outcome = scenario.run([item("INV-1", 40, "100.50", dunning_level=1)], config=config)
    [line] = interest_lines(outcome)
    # 100.50 * 40 * 9 / 100 / 360 = 1.005 exactly -> half-up 1.01 (half-even or a float would give 1.00)
    assert line["interest_amount"] == D("1.01")
    assert outcome.letters[0]["interest_total"] == D("1.01")


def test_rate_change_splits_the_period_repeated_rate_does_not(scenario):
    # Reference rates 2.00 from 2026-01-01, 2.00 again from 2026-07-01, 3.00 from 2026-11-01;
    # margin 5.0 -> 7 % until 2026-10-31, 8 % from 2026-11-01.
    items = [
        item("INV-A", 0, "1005.55", due_date="2026-10-01", dunning_level=1),  # 54 days past due
        item("INV-B", 0, "1000.00", due_date="2026-06-20", dunning_level=1),  # 157 days past due
        item("INV-C", 0, "1.00", due_date="2026-10-25", dunning_level=1),     # 30 days past due
    ]
    outcome = run_with_rates(scenario, items)
    assert {doc: s[2] for doc, s in story(outcome).items()} == {"INV-A": 2, "INV-B": 2, "INV-C": 2}
    [letter] = outcome.letters
    got = [(x["doc_id"], x["interest_from"], x["interest_to"], x["interest_days"], x["rate_percent"],
            x["interest_amount"]) for x in interest_lines(outcome)]
    assert got == [
        # items by due date: B (06-20), A (10-01), C (10-25); each split at 2026-11-01 only
        # B: 06-21..10-31 = 10+31+31+30+31 = 133 days; the repeated 2.00 on 07-01 does not split.
        ("INV-B", dt.date(2026, 6, 21), dt.date(2026, 10, 31), 133, D("7"), D("25.51")),  # 1000*133*7/36500 = 25.5068..
        ("INV-B", dt.date(2026, 11, 1), AS_OF, 24, D("8"), D("5.26")),                    # 1000*24*8/36500 = 5.2602..
        ("INV-A", dt.date(2026, 10, 2), dt.date(2026, 10, 31), 30, D("7"), D("5.79")),   # 1005.55*30*7/36500 = 5.7853..
        ("INV-A", dt.date(2026, 11, 1), AS_OF, 24, D("8"), D("5.29")),                   # 1005.55*24*8/36500 = 5.2894..
        ("INV-C", dt.date(2026, 10, 26), dt.date(2026, 10, 31), 6, D("7"), D("0.00")),   # 1*6*7/36500 = 0.0011..: kept
        ("INV-C", dt.date(2026, 11, 1), AS_OF, 24, D("8"), D("0.01")),                   # 1*24*8/36500 = 0.0052..
    ]
    # total = sum of rounded lines: 25.51 + 5.26 + 5.79 + 5.29 + 0.00 + 0.01 = 41.86
    # (INV-A alone: 5.79 + 5.29 = 11.08, while rounding its unsplit sum 11.0748.. would give 11.07)
    assert letter["interest_total"] == D("41.86")
    assert letter["overdue_total"] == D("2006.55")   # 1005.55 + 1000.00 + 1.00
    assert letter["total_due"] == D("2053.41")       # 2006.55 + fee 5.00 + 41.86


def test_customer_interest_rate_overrides_policy_rate_without_margin(scenario):
    outcome = run_with_rates(scenario, [item("INV-A", 0, "8000.00", due_date="2026-10-01", dunning_level=1)],
                             [customer("C1", interest_rate="4.0")])
    [line] = interest_lines(outcome)   # one rate for the whole period: no split at 2026-11-01
    assert (line["interest_from"], line["interest_to"]) == (dt.date(2026, 10, 2), AS_OF)
    assert line["interest_days"] == 54                   # 30 (Oct 2..31) + 24 (Nov 1..24)
    assert line["rate_percent"] == D("4")                # 4.0, not 4.0 + margin 5.0
    assert line["interest_amount"] == D("47.34")         # 8000 * 54 * 4 / 36500 = 47.3424.. -> 47.34


def _basis_run(scenario, basis: str) -> dict:
    # D = 2026-03-01, due 2026-01-31: act days 29 (Feb 1..Mar 1), 30E days 31
    # (30*(3-1) + (1 - min(31, 30)) = 60 - 29 = 31). 29 > 21: level 1 -> 2.
    config = with_config({'basis = "act/365"': f'basis = "{basis}"', "fixed_rate = 8.0": "fixed_rate = 10.0"})
    outcome = scenario.run([item("INV-1", 0, "10000.00", due_date="2026-01-31", dunning_level=1)],
                           config=config, as_of=dt.date(2026, 3, 1))
    [line] = interest_lines(outcome)
    assert outcome.letters[0]["interest_total"] == line["interest_amount"]
    return line


def test_basis_act_365(scenario):
    line = _basis_run(scenario, "act/365")
    assert line["interest_days"] == 29
    assert line["interest_amount"] == D("79.45")   # 10000 * 29 * 10 / 36500 = 79.4520.. -> 79.45


def test_basis_act_360(scenario):
    line = _basis_run(scenario, "act/360")
    assert line["interest_days"] == 29
    assert line["interest_amount"] == D("80.56")   # 10000 * 29 * 10 / 36000 = 80.5555.. -> 80.56


def test_basis_30e_360(scenario):
    line = _basis_run(scenario, "30e/360")
    assert line["interest_days"] == 31
    assert line["interest_amount"] == D("86.11")   # 10000 * 31 * 10 / 36000 = 86.1111.. -> 86.11


def test_interest_to_pay_by_date(scenario):
    config = with_config({'calculate_to = "letter_date"': 'calculate_to = "pay_by_date"',
                          "fixed_rate = 8.0": "fixed_rate = 10.0"})
    outcome = scenario.run([item("INV-A", 25, "8000.00", dunning_level=1)], config=config)
    [letter] = outcome.letters
    assert letter["pay_by"] == dt.date(2026, 12, 1)              # D + 7 (level 2)
    [line] = interest_lines(outcome)
    assert line["interest_to"] == dt.date(2026, 12, 1)
    assert line["interest_days"] == 32                           # 25 days past due + 7 days to settle
    assert line["interest_amount"] == D("70.14")                 # 8000 * 32 * 10 / 36500 = 70.1369.. -> 70.14


def test_interest_below_minimum_is_dropped_equal_is_kept(scenario):
    items = [item("KEPT", 25, "146.00", dunning_level=1),
             item("DROPPED", 25, "145.00", dunning_level=1, customer_id="C2")]
    outcome = scenario.run(items, [customer("C1"), customer("C2")], config=TEN_PERCENT)
    kept, dropped = (next(x for x in outcome.letters if x["customer_id"] == c) for c in ("C1", "C2"))
    assert kept["interest_total"] == D("1.00")      # 146 * 25 * 10 / 36500 = 1.00 exactly: not below 1.00
    assert kept["total_due"] == D("152.00")         # 146.00 + 5.00 + 1.00
    # 145 * 25 * 10 / 36500 = 0.9931.. -> 0.99 < 1.00: the letter carries no interest
    assert dropped["level"] == 2 and dropped["interest_total"] == D("0.00")
    assert dropped["total_due"] == D("150.00")      # 145.00 + 5.00
    assert [x["doc_id"] for x in interest_lines(outcome)] == ["KEPT"]


def test_interest_only_on_invoices_debit_memos_and_refunds(scenario):
    config = with_config({'include_credits = false': 'include_credits = true', "fixed_rate = 8.0": "fixed_rate = 10.0"})
    items = [
        item("INV", 30, "1000.00", dunning_level=1),
        item("DM", 30, "1000.00", doc_type="debit_memo", dunning_level=1),
        item("RF", 30, "1000.00", doc_type="refund", dunning_level=1),
        item("FEE", 30, "1000.00", doc_type="fee", dunning_level=1),
        item("CM", 30, "-1000.00", doc_type="credit_memo"),
    ]
    outcome = scenario.run(items, config=config)
    [letter] = outcome.letters
    assert letter["level"] == 2
    assert sorted(x["doc_id"] for x in interest_lines(outcome)) == ["DM", "INV", "RF"]
    for line in interest_lines(outcome):
        assert line["interest_amount"] == D("8.22")   # 1000 * 30 * 10 / 36500 = 8.2191.. -> 8.22
    assert letter["interest_total"] == D("24.66")     # 3 * 8.22
    assert letter["overdue_total"] == D("4000.00")    # INV + DM + RF + FEE
    assert letter["credit_total"] == D("-1000.00")
    assert letter["total_due"] == D("3029.66")        # 4000.00 - 1000.00 + 5.00 + 24.66


# ---------------------------------------------------------------- §4.3 advance

def test_sequential_advances_one_level_non_sequential_jumps(scenario):
    seq = scenario.run([item("INV-1", 50, "100.00")])
    assert story(seq)["INV-1"] == ("dunned", "advanced", 1)          # level 0 -> 1 only
    non_seq = scenario.run([item("INV-1", 50, "100.00")],
                           config=with_config({"sequential = true": "sequential = false"}))
    assert story(non_seq)["INV-1"] == ("dunned", "advanced", 3)      # 50 > 45: highest level reached
    assert non_seq.letters[0]["level"] == 3


def test_spacing_after_a_late_run(scenario):
    # level 1 -> 2 needs 30 > 21 and D - last_dunned_on >= 21 - 7 = 14
    early = scenario.run([item("INV-1", 30, "100.00", dunning_level=1, last_dunned_on=days_before(10))])
    assert story(early)["INV-1"] == ("excluded", "too_soon", 1)        # 10 < 14
    assert early.letters == [] and early.levels_update == []
    on_time = scenario.run([item("INV-1", 30, "100.00", dunning_level=1, last_dunned_on=days_before(14))])
    assert story(on_time)["INV-1"] == ("dunned", "advanced", 2)        # 14 >= 14


def test_min_days_between_letters_wins_when_larger(scenario):
    config = with_config({"min_days_between_letters = 0": "min_days_between_letters = 20"})
    # max(21 - 7, 20) = 20 days
    soon = scenario.run([item("INV-1", 30, "100.00", dunning_level=1, last_dunned_on=days_before(19))],
                        config=config)
    assert story(soon)["INV-1"] == ("excluded", "too_soon", 1)         # 19 < 20
    ok = scenario.run([item("INV-1", 30, "100.00", dunning_level=1, last_dunned_on=days_before(20))],
                      config=config)
    assert story(ok)["INV-1"] == ("dunned", "advanced", 2)             # 20 >= 20


# ---------------------------------------------------------------- §4.4 grouping

def test_piggyback_and_listed_items_join_the_trigger(scenario):
    items = [
        item("TRIGGER", 10, "100.00"),                    # 10 > 7: level 0 -> 1
        item("PIGGY", 3, "50.00"),                        # below the threshold, rides along to level 1
        item("LISTED", 15, "70.00", dunning_level=1),     # 15 <= 21: stays at level 1
        item("DOLLAR", 3, "80.00", currency="USD"),       # other currency: not in that letter
    ]
    outcome = scenario.run(items, config=EUR_AND_USD)
    [letter] = outcome.letters
    assert letter["letter_id"] == letter_id("C1|EUR||")
    assert story(outcome) == {
        "TRIGGER": ("dunned", "advanced", 1),
        "PIGGY": ("dunned", "piggyback", 1),
        "LISTED": ("listed", "listed", 1),
        "DOLLAR": ("excluded", "below_level_threshold", 0),
    }
    assert outcome.decisions["DOLLAR"]["letter_id"] is None
    assert letter["overdue_total"] == D("220.00")     # 100 + 50 + 70
    assert letter["line_count"] == 3


def _two_level_items():
    return [
        item("A", 10, "100.00"),                    # level 0 -> 1
        item("B", 30, "200.00", dunning_level=1),   # level 1 -> 2
        item("P", 3, "50.00"),                      # a would-be piggyback
    ]


def test_grouping_customer_one_letter_per_customer_and_currency(scenario):
    outcome = scenario.run(_two_level_items())
    [letter] = outcome.letters
    assert letter["letter_id"] == letter_id("C1|EUR||")
    assert letter["level"] == 2 and letter["line_count"] == 3
    assert letter["branch"] is None
    assert story(outcome)["P"] == ("dunned", "piggyback", 1)


def test_grouping_customer_level_one_letter_per_target_level(scenario):
    config = with_config({'grouping = "customer"': 'grouping = "customer_level"'})
    outcome = scenario.run(_two_level_items(), config=config)
    by_id = {x["letter_id"]: x for x in outcome.letters}
    assert set(by_id) == {letter_id("C1|EUR||1"), letter_id("C1|EUR||2")}
    assert by_id[letter_id("C1|EUR||1")]["level"] == 1
    assert by_id[letter_id("C1|EUR||1")]["overdue_total"] == D("100.00")
    assert by_id[letter_id("C1|EUR||2")]["level"] == 2
    assert by_id[letter_id("C1|EUR||2")]["overdue_total"] == D("200.00")
    assert outcome.decisions["A"]["letter_id"] == letter_id("C1|EUR||1")
    assert outcome.decisions["B"]["letter_id"] == letter_id("C1|EUR||2")
    assert story(outcome)["P"] == ("excluded", "below_level_threshold", 0)   # only triggers


def test_grouping_document_one_letter_per_trigger(scenario):
    config = with_config({'grouping = "customer"': 'grouping = "document"'})
    outcome = scenario.run(_two_level_items(), config=config)
    assert [x["letter_id"] for x in outcome.letters] == sorted([letter_id("C1|EUR||A"), letter_id("C1|EUR||B")])
    assert outcome.decisions["A"]["letter_id"] == letter_id("C1|EUR||A")
    assert outcome.decisions["B"]["letter_id"] == letter_id("C1|EUR||B")
    assert all(x["line_count"] == 1 for x in outcome.letters)
    assert story(outcome)["P"] == ("excluded", "below_level_threshold", 0)


def test_branches_not_consolidated_one_letter_per_branch(scenario):
    config = with_config({"consolidate_branches = true": "consolidate_branches = false"})
    items = [item("N1", 10, "100.00", branch="NORTH"), item("S1", 10, "300.00", branch="SOUTH"),
             item("S2", 3, "20.00", branch="SOUTH")]
    outcome = scenario.run(items, config=config)
    got = {(x["letter_id"], x["branch"], x["overdue_total"]) for x in outcome.letters}
    assert got == {(letter_id("C1|EUR|NORTH|"), "NORTH", D("100.00")),
                   (letter_id("C1|EUR|SOUTH|"), "SOUTH", D("320.00"))}   # 300 + 20 (piggyback)
    assert outcome.decisions["S2"]["letter_id"] == letter_id("C1|EUR|SOUTH|")
    # consolidated (the default): one letter, branch null, branch not in the key
    merged = scenario.run(items)
    [letter] = merged.letters
    assert (letter["letter_id"], letter["branch"], letter["overdue_total"]) == (letter_id("C1|EUR||"), None, D("420.00"))


# ---------------------------------------------------------------- current and credit lines

def test_include_not_due_lists_current_lines_outside_the_totals(scenario):
    config = with_config({"include_not_due = false": "include_not_due = true"})
    outcome = scenario.run([item("OLD", 10, "100.00"), item("TODAY", 0, "40.00"), item("SOON", -5, "60.00")],
                           config=config)
    assert story(outcome)["TODAY"] == ("listed", "current", 0)
    assert story(outcome)["SOON"] == ("listed", "current", 0)
    [letter] = outcome.letters
    assert letter["overdue_total"] == D("100.00")
    assert letter["current_total"] == D("100.00")   # 40 + 60
    assert letter["total_due"] == D("100.00")       # overdue 100.00 + fee 0.00; current not due
    assert letter["line_count"] == 3


def test_include_credits_lowers_total_due_and_unlisted_credit_is_excluded(scenario):
    config = with_config({"include_credits = false": "include_credits = true"})
    items = [item("INV", 10, "100.00"), item("CM", 5, "-30.00", doc_type="credit_memo"),
             item("C2-CM", 5, "-20.00", doc_type="credit_memo", customer_id="C2"),
             item("C2-INV", 3, "50.00", customer_id="C2")]
    outcome = scenario.run(items, [customer("C1"), customer("C2")], config=config)
    assert story(outcome)["CM"] == ("listed", "credit", 0)
    [letter] = outcome.letters
    assert letter["credit_total"] == D("-30.00")
    assert letter["total_due"] == D("70.00")        # 100.00 - 30.00 + fee 0.00
    # C2 gets no letter: its credit is not listed
    assert story(outcome)["C2-CM"] == ("excluded", "credit", 0)
    assert story(outcome)["C2-INV"] == ("excluded", "below_level_threshold", 0)


def test_credit_not_listed_without_include_credits(scenario):
    outcome = scenario.run([item("INV", 10, "100.00"), item("CM", 5, "-30.00", doc_type="credit_memo")])
    assert story(outcome)["CM"] == ("excluded", "credit", 0)
    [letter] = outcome.letters
    assert letter["credit_total"] == D("0.00") and letter["total_due"] == D("100.00")


# ---------------------------------------------------------------- §4.5 thresholds

def test_letter_below_min_amount_is_suppressed_equal_goes_out(scenario):
    below = scenario.run([item("INV-1", 10, "2.00"), item("INV-2", 3, "1.99"),
                          item("INV-3", 10, "1.00", dunning_level=1)])
    # 2.00 + 1.99 + 1.00 = 4.99 < 5.00
    assert below.letters == [] and below.levels_update == []
    assert story(below) == {"INV-1": ("excluded", "below_min_amount", 0),
                            "INV-2": ("excluded", "below_min_amount", 0),
                            "INV-3": ("excluded", "below_min_amount", 1)}
    equal = scenario.run([item("INV-1", 10, "3.00"), item("INV-2", 3, "2.00")])
    [letter] = equal.letters                    # 3.00 + 2.00 = 5.00: not below
    assert letter["overdue_total"] == D("5.00")
    assert story(equal)["INV-1"] == ("dunned", "advanced", 1)


def test_customer_in_credit_suppresses_the_letter(scenario):
    config = with_config({"include_credits = false": "include_credits = true"})
    items = [item("INV", 10, "50.00"), item("CM", 5, "-50.00", doc_type="credit_memo"),
             item("NEW", -3, "10.00")]
    outcome = scenario.run(items, config=config)
    # overdue 50.00 + credit -50.00 = 0.00 <= 0
    assert outcome.letters == [] and outcome.levels_update == []
    assert story(outcome)["INV"] == ("excluded", "customer_in_credit", 0)
    assert story(outcome)["CM"] == ("excluded", "customer_in_credit", 0)
    assert story(outcome)["NEW"] == ("excluded", "not_due", 0)   # not a line without include_not_due
    # one cent more overdue: 50.01 - 50.00 = 0.01 > 0 -> letter
    more = scenario.run([item("INV", 10, "50.01"), item("CM", 5, "-50.00", doc_type="credit_memo")],
                        config=config)
    assert [x["total_due"] for x in more.letters] == [D("0.01")]


# ---------------------------------------------------------------- §4.2 exclusions

def test_settled_comes_first_then_customer_blocked(scenario):
    outcome = scenario.run([item("INV-1", 30, "100.00", blocked="true", disputed="true"),
                            item("PAID", 30, "0.00", blocked="true", disputed="true")],
                           [customer("C1", dunning_blocked="true")])
    assert story(outcome)["PAID"] == ("excluded", "settled", 0)          # open_amount 0: tested first
    assert story(outcome)["INV-1"] == ("excluded", "customer_blocked", 0)


# No letter minimum, and current and credit lines listed: what a settled item would have been.
LIST_EVERYTHING = with_config({"min_amount = { EUR = 5.00 }\n": "", "include_not_due = false": "include_not_due = true",
                               "include_credits = false": "include_credits = true"})


def test_settled_items_are_never_listed_and_never_make_a_letter(scenario):
    items = [item("INV-1", 30, "100.00"),                                                 # 0 -> 1: the trigger
             item("PAID-OVERDUE", 30, "0.00"),                                           # would piggyback
             item("PAID-LISTED", 30, "0.00", dunning_level=1, last_dunned_on=days_before(5)),  # would be listed
             item("PAID-CURRENT", -5, "0.00"),                                           # would be current
             item("PAID-CREDIT", 5, "0.00", doc_type="credit_memo"),                     # would be a credit
             item("C2-PAID", 30, "0.00", customer_id="C2"),          # would trigger a letter of 0.00 alone ...
             item("C2-PAYMENT", 5, "0.00", doc_type="payment", customer_id="C2")]   # ... or an "in credit" one
    outcome = scenario.run(items, [customer("C1"), customer("C2")], config=LIST_EVERYTHING)
    s = story(outcome)
    assert s["INV-1"] == ("dunned", "advanced", 1)
    for doc in ("PAID-OVERDUE", "PAID-CURRENT", "PAID-CREDIT", "C2-PAID", "C2-PAYMENT"):
        assert s[doc] == ("excluded", "settled", 0), doc
    assert s["PAID-LISTED"] == ("excluded", "settled", 1)
    [letter] = outcome.letters                                       # C1's; C2 has nothing left to collect
    assert (letter["customer_id"], letter["line_count"], letter["overdue_total"], letter["current_total"],
            letter["credit_total"], letter["total_due"]) == ("C1", 1, D("100.00"), D("0.00"), D("0.00"), D("100.00"))
    assert [(x["line_type"], x["doc_id"]) for x in outcome.lines] == [("overdue", "INV-1")]
    assert [u["doc_id"] for u in outcome.levels_update] == ["INV-1"]
    assert all(d["letter_id"] is None for doc, d in outcome.decisions.items() if doc != "INV-1")


def test_a_settled_item_at_the_last_level_does_not_make_its_customer_final(scenario):
    items = [item("A-PAID", 60, "0.00", dunning_level=3),      # the final reminder went out; since paid
             item("OPEN", 30, "100.00", dunning_level=1)]
    outcome = scenario.run(items)
    assert story(outcome) == {"A-PAID": ("excluded", "settled", 3),      # not customer_final, not max_level
                              "OPEN": ("dunned", "advanced", 2)}
    [letter] = outcome.letters
    assert (letter["level"], letter["is_final"], letter["overdue_total"]) == (2, False, D("100.00"))
    text = explain(outcome.out, "A-PAID")
    assert "Outcome: excluded (settled), level stays at 3." in text and "0.00 EUR: it is settled" in text
    # an open item at the last level still makes the customer final, and explain names it, not the settled one
    final = scenario.run(items + [item("B-FINAL", 60, "100.00", dunning_level=3)])
    assert story(final)["OPEN"] == ("excluded", "customer_final", 1)
    assert story(final)["A-PAID"] == ("excluded", "settled", 3)
    assert "B-FINAL is at level 3" in explain(final.out, "OPEN")
    doc = scenario.run(items, config=with_config({'grouping = "customer"': 'grouping = "document"'}))
    assert story(doc)["A-PAID"] == ("excluded", "settled", 3)            # before max_level


def test_no_policy_when_class_matches_none_and_no_default(scenario):
    config = with_config({"default = true\n": ""})
    items = [item("B2C-1", 30, "100.00", customer_id="K"), item("B2B-1", 30, "100.00", customer_id="B")]
    outcome = scenario.run(items, [customer("K", customer_class="B2C"), customer("B", customer_class="B2B")],
                           config=config)
    assert story(outcome)["B2C-1"] == ("excluded", "no_policy", 0)
    assert story(outcome)["B2B-1"] == ("dunned", "advanced", 1)


def test_customer_final_in_customer_grouping_max_level_in_document_grouping(scenario):
    items = [item("FINAL", 60, "100.00", dunning_level=3),
             item("OPEN", 30, "100.00", dunning_level=1),
             item("BLK", 30, "100.00", blocked="true")]
    outcome = scenario.run(items)
    assert story(outcome) == {"FINAL": ("excluded", "customer_final", 3),
                              "OPEN": ("excluded", "customer_final", 1),
                              "BLK": ("excluded", "customer_final", 0)}   # before `blocked`
    assert outcome.letters == []
    doc = scenario.run(items, config=with_config({'grouping = "customer"': 'grouping = "document"'}))
    assert story(doc) == {"FINAL": ("excluded", "max_level", 3),
                          "OPEN": ("dunned", "advanced", 2),
                          "BLK": ("excluded", "blocked", 0)}


def test_blocked_before_disputed_and_include_disputed(scenario):
    items = [item("BLK", 30, "100.00", blocked="true", disputed="true"),
             item("DSP", 30, "100.00", disputed="true", grace_until=AS_OF.isoformat())]
    outcome = scenario.run(items)
    assert story(outcome)["BLK"] == ("excluded", "blocked", 0)
    assert story(outcome)["DSP"] == ("excluded", "disputed", 0)   # before in_grace
    lenient = scenario.run([item("DSP", 30, "100.00", disputed="true")],
                           config=with_config({"include_disputed = false": "include_disputed = true"}))
    assert story(lenient)["DSP"] == ("dunned", "advanced", 1)


def test_grace_until_the_run_date_inclusive(scenario):
    items = [item("GRACE-D", 30, "100.00", grace_until=AS_OF.isoformat()),
             item("GRACE-D-1", 30, "100.00", grace_until=days_before(1))]
    outcome = scenario.run(items)
    assert story(outcome)["GRACE-D"] == ("excluded", "in_grace", 0)       # D <= grace_until
    assert story(outcome)["GRACE-D-1"] == ("dunned", "advanced", 1)       # D > grace_until


def test_customer_grace_until(scenario):
    outcome = scenario.run([item("INV-1", 30, "100.00")], [customer("C1", grace_until=AS_OF.isoformat())])
    assert story(outcome)["INV-1"] == ("excluded", "in_grace", 0)
    later = scenario.run([item("INV-1", 30, "100.00")], [customer("C1", grace_until=days_before(1))])
    assert story(later)["INV-1"] == ("dunned", "advanced", 1)


def test_max_level_after_in_grace(scenario):
    config = with_config({'grouping = "customer"': 'grouping = "customer_level"'})
    outcome = scenario.run([item("TOP", 90, "100.00", dunning_level=3),
                            item("TOP-GRACE", 90, "100.00", dunning_level=3, grace_until=AS_OF.isoformat())],
                           config=config)
    assert story(outcome)["TOP"] == ("excluded", "max_level", 3)
    assert story(outcome)["TOP-GRACE"] == ("excluded", "in_grace", 3)


# ---------------------------------------------------------------- §4.7–§4.10 fee, pay-by, final, levels

def test_level_two_fee_document(scenario):
    outcome = scenario.run([item("INV-1", 30, "100.00", dunning_level=1)], config=TEN_PERCENT)
    [letter] = outcome.letters
    lid = letter_id("C1|EUR||")
    assert letter["letter_id"] == lid and letter["fee"] == D("5.00")
    assert letter["pay_by"] == dt.date(2026, 12, 1)     # D + 7
    [fee] = outcome.fees
    assert fee["fee_doc_id"] == "FEE-" + lid
    assert fee["description"] == "Dunning fee level 2"
    assert fee["amount"] == D("5.00") and fee["currency"] == "EUR" and fee["customer_id"] == "C1"
    assert (fee["doc_date"], fee["due_date"]) == (AS_OF, dt.date(2026, 12, 1))
    assert fee["letter_id"] == lid
    assert outcome.actions == []                        # level 2 sets no customer action
    assert letter["is_final"] is False


def test_level_one_zero_fee_no_fee_document(scenario):
    outcome = scenario.run([item("INV-1", 10, "100.00")])
    [letter] = outcome.letters
    assert letter["fee"] == D("0.00") and outcome.fees == []
    assert letter["pay_by"] == dt.date(2026, 12, 4)     # D + 10
    assert letter["is_final"] is False and outcome.actions == []
    assert letter["template"] == "reminder"


def test_final_letter_and_customer_actions(scenario):
    outcome = scenario.run([item("INV-1", 50, "100.00", dunning_level=2)])
    [letter] = outcome.letters
    lid = letter_id("C1|EUR||")
    assert letter["level"] == 3 and letter["is_final"] is True and letter["template"] == "final_notice"
    assert letter["pay_by"] == dt.date(2026, 12, 1)     # D + 7
    assert letter["fee"] == D("10.00")
    assert [(a["customer_id"], a["action"], a["value"], a["letter_id"], a["run_date"]) for a in outcome.actions] == [
        ("C1", "credit_hold", "true", lid, AS_OF),
        ("C1", "payment_term", "IMMEDIATE", lid, AS_OF),
    ]
    # interest: 100.00 * 50 * 8 / 36500 = 1.0958.. -> 1.10 (>= 1.00 min)
    assert letter["interest_total"] == D("1.10")
    assert letter["total_due"] == D("111.10")           # 100.00 + 10.00 + 1.10


def test_levels_update_holds_exactly_the_changed_items(scenario):
    items = [item("ADV", 30, "100.00", dunning_level=1, last_dunned_on="2026-10-01"),
             item("PIG", 3, "50.00"),
             item("LST", 10, "70.00", dunning_level=1, last_dunned_on="2026-11-10"),
             item("NEW", 10, "10.00")]
    outcome = scenario.run(items)
    lid = letter_id("C1|EUR||")
    got = [(u["doc_id"], u["level_before"], u["level_after"], u["last_dunned_before"], u["last_dunned_on"],
            u["letter_id"]) for u in outcome.levels_update]
    assert got == [
        ("ADV", 1, 2, dt.date(2026, 10, 1), AS_OF, lid),   # 54 days since 10-01 >= 14
        ("NEW", 0, 1, None, AS_OF, lid),
        ("PIG", 0, 1, None, AS_OF, lid),
    ]   # LST stays at level 1: not in the file
    assert story(outcome)["LST"] == ("listed", "listed", 1)


# ---------------------------------------------------------------- §5 line order

def test_line_order_and_line_count(scenario):
    config = with_config({"include_not_due = false": "include_not_due = true",
                          "include_credits = false": "include_credits = true"})
    items = [
        item("CR-B", 0, "-10.00", doc_type="credit_memo", due_date=days_before(40)),
        item("CR-A", 0, "-5.00", doc_type="credit_memo", due_date=days_before(40)),
        item("CUR-2", -3, "20.00"),
        item("CUR-1", -9, "30.00"),
        item("OV-Z", 30, "300.00", dunning_level=1),   # trigger: level 1 -> 2
        item("OV-Y", 30, "200.00", dunning_level=1),   # trigger, same due date: doc_id decides
        item("OV-X", 40, "100.00", dunning_level=1),   # trigger, earlier due date
    ]
    outcome = scenario.run(items, config=config)
    [letter] = outcome.letters
    got = [(x["line_no"], x["line_type"], x["doc_id"]) for x in outcome.lines]
    assert got == [
        (1, "overdue", "OV-X"), (2, "overdue", "OV-Y"), (3, "overdue", "OV-Z"),
        (4, "current", "CUR-2"), (5, "current", "CUR-1"),   # due D+3 before D+9
        (6, "credit", "CR-A"), (7, "credit", "CR-B"),
        (8, "interest", "OV-X"), (9, "interest", "OV-Y"), (10, "interest", "OV-Z"),
    ]
    assert letter["line_count"] == 7
    for line in outcome.lines:
        if line["line_type"] == "interest":
            assert line["level_before"] is None and line["level_after"] is None
            assert line["interest_days"] is not None
        else:
            assert line["interest_amount"] is None and line["interest_days"] is None
            assert line["level_before"] is not None
    # interest 8 %: OV-X 100*40*8/36500 = 0.8767.. -> 0.88; OV-Y 200*30*8/36500 = 1.3150.. -> 1.32;
    # OV-Z 300*30*8/36500 = 1.9726.. -> 1.97; total 4.17
    assert [x["interest_amount"] for x in interest_lines(outcome)] == [D("0.88"), D("1.32"), D("1.97")]
    assert letter["interest_total"] == D("4.17")
    assert letter["overdue_total"] == D("600.00")    # 100 + 200 + 300
    assert letter["current_total"] == D("50.00")     # 20 + 30
    assert letter["credit_total"] == D("-15.00")     # -10 - 5
    assert letter["total_due"] == D("594.17")        # 600.00 - 15.00 + 5.00 + 4.17


# ---------------------------------------------------------------- §5 letter ids never collide

# An id keeps 16 hex digits of the key's sha256 (64 bits): no two keys sharing one can be
# found to test with. These tests cut the id to 1 hex digit (16 ids for every key there is),
# so that two keys surely share one, and show that the run refuses to go on.
ONE_HEX_DIGIT = "CREATE OR REPLACE MACRO letter_id_hex_digits() AS 1"


def colliding_customer(first: str = "C1", extra: str = "") -> str:
    """A customer id whose letter key 'ID|EUR||extra' hashes to the same first hex digit as the
    key 'first|EUR||' of `first`."""
    def digit(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[0]
    return next(c for c in (f"C{n}" for n in range(2, 500)) if digit(f"{c}|EUR||{extra}") == digit(f"{first}|EUR||"))


def test_letter_id_has_16_hex_digits_of_the_key(scenario):
    outcome = scenario.run([item("INV-1", 10, "100.00")])
    [letter] = outcome.letters
    # sha256("C1|EUR||") starts 20a533b485; the id keeps 16 hex digits
    assert letter["letter_id"] == "DL-20261124-" + hashlib.sha256(b"C1|EUR||").hexdigest()[:16]
    assert len(letter["letter_id"]) == len("DL-20261124-") + 16


def test_the_collision_check_names_two_keys_that_share_an_id():
    """sql/letter_id_collisions.sql over hand-made letter keys, and the error it raises."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE letter_keys AS SELECT * FROM (VALUES
                       ('DL-20261124-aa', 'C7|EUR||'), ('DL-20261124-aa', 'C1|EUR||'),
                       ('DL-20261124-bb', 'C2|EUR||'), ('DL-20261124-cc', 'C2|EUR||pre_due'))
                   AS t(letter_id, letter_key)""")
    assert con.execute(stage_sql("guards/letter_id_collisions")).fetchall() == [("DL-20261124-aa", ["C1|EUR||", "C7|EUR||"])]
    with pytest.raises(LetterIdCollision, match=r"letter id DL-20261124-aa would be shared by the letter keys "
                                                r"'C1\|EUR\|\|' and 'C7\|EUR\|\|'"):
        check_letter_ids(con)
    con.execute("DELETE FROM letter_keys WHERE letter_key = 'C7|EUR||'")
    check_letter_ids(con)   # one key per id: the run goes on


@pytest.mark.parametrize("extra", ["", "pre_due"])
def test_a_run_whose_letter_ids_collide_stops_with_exit_3_and_writes_nothing(scenario, extra):
    """`dunning-batch run` as a user runs it (relative paths from the working folder), with the
    id cut to 1 hex digit: two customers' letters would share an id. With `pre_due`, the second
    key is a courtesy notice's (SPEC §9.6), which takes its id from the same rule."""
    other = colliding_customer("C1", extra)
    config = with_config({"min_amount = { EUR = 5.00 }": "min_amount = { EUR = 5.00 }\npre_due_days = 5"})
    second = item("INV-2", -3 if extra else 10, "100.00", customer_id=other)
    config_path, items_path, customers_path = scenario.files([item("INV-1", 10, "100.00"), second],
                                                             [customer("C1"), customer(other)], config)
    args = ["run", "--config", config_path, "--open-items", items_path, "--customers", customers_path,
            "--as-of", AS_OF.isoformat(), "--out", "out", "--no-pdf"]
    args = [str(Path(a).relative_to(scenario.tmp_path)) if isinstance(a, Path) else a for a in args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    patched = ("import dunning_batch.session as r; real = r.define_macros; "
               f"r.define_macros = lambda con: (real(con), con.execute({ONE_HEX_DIGIT!r}))[0]; "
               "from dunning_batch.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", patched, *args], cwd=scenario.tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    [line] = done.stderr.splitlines()
    keys = " and ".join(repr(k) for k in sorted(["C1|EUR||", f"{other}|EUR||{extra}"]))
    assert re.fullmatch(r"dunning-batch: internal error: LetterIdCollision: letter id DL-20261124-[0-9a-f] would be "
                        rf"shared by the letter keys {re.escape(keys)} \(SPEC §5: two keys never share a letter\); "
                        r"the run stops and writes nothing", line), line
    assert sorted(p.name for p in scenario.tmp_path.iterdir()) == ["in1"]   # no out, no hidden partial folder
    # the same night with ids of 16 hex digits: two letters
    done = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=scenario.tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(Outcome(scenario.tmp_path / "out").letters) == 2


# ---------------------------------------------------------------- §3.3 policy choice

TWO_POLICIES = SPEC_CONFIG + """
[[policy]]
name = "gentle"
customer_classes = ["B2C"]
sequential = true
min_amount = { EUR = 5.00 }

  [[policy.level]]
  days_past_due = 30
  days_to_settle = 14
  fee = { EUR = 0.00 }
  interest = false
  template = "reminder"

  [[policy.level]]
  days_past_due = 60
  days_to_settle = 14
  fee = { EUR = 0.00 }
  interest = false
  template = "final_notice"
"""


def test_policy_choice_named_then_class_then_default(scenario):
    customers = [customer("P", customer_class="B2B", policy="gentle"),   # explicit policy wins over class
                 customer("K", customer_class="B2C"),                    # class match
                 customer("N")]                                          # default
    items = [item("P-31", 31, "100.00", customer_id="P"), item("P-20", 20, "100.00", customer_id="P"),
             item("K-20", 20, "100.00", customer_id="K"), item("N-20", 20, "100.00", customer_id="N")]
    outcome = scenario.run(items, customers, config=TWO_POLICIES)
    assert story(outcome)["P-31"] == ("dunned", "advanced", 1)             # 31 > 30 (gentle)
    assert story(outcome)["P-20"] == ("dunned", "piggyback", 1)
    assert story(outcome)["K-20"] == ("excluded", "below_level_threshold", 0)   # 20 <= 30 (gentle)
    assert story(outcome)["N-20"] == ("dunned", "advanced", 1)             # 20 > 7 (standard)
    by_customer = {x["customer_id"]: x for x in outcome.letters}
    assert set(by_customer) == {"P", "N"}
    assert by_customer["P"]["policy"] == "gentle" and by_customer["P"]["pay_by"] == dt.date(2026, 12, 8)  # D + 14
    assert by_customer["N"]["policy"] == "standard" and by_customer["N"]["pay_by"] == dt.date(2026, 12, 4)  # D + 10


# ---------------------------------------------------------------- a few more boundaries of §4.4

def test_letter_level_is_the_highest_line_level_after_the_update(scenario):
    # a level-0 trigger (10 > 7 -> level 1) and a level-2 item not ready for level 3 (30 <= 45)
    outcome = scenario.run([item("NEW", 10, "100.00"), item("OLD", 30, "200.00", dunning_level=2)])
    assert story(outcome) == {"NEW": ("dunned", "advanced", 1), "OLD": ("listed", "listed", 2)}
    [letter] = outcome.letters
    assert (letter["level"], letter["template"], letter["fee"]) == (2, "second_reminder", D("5.00"))
    assert letter["pay_by"] == dt.date(2026, 12, 1)    # D + 7, from level 2
    # level 2 charges interest at 8 %: NEW 100*10*8/36500 = 0.2191.. -> 0.22; OLD 200*30*8/36500 = 1.3150.. -> 1.32
    assert [x["interest_amount"] for x in interest_lines(outcome)] == [D("1.32"), D("0.22")]
    assert letter["interest_total"] == D("1.54")       # 1.32 + 0.22 >= 1.00
    assert letter["total_due"] == D("306.54")          # 300.00 + 5.00 + 1.54


def test_current_and_credit_lines_exist_in_customer_grouping_only(scenario):
    config = with_config({'grouping = "customer"': 'grouping = "document"',
                          "include_not_due = false": "include_not_due = true",
                          "include_credits = false": "include_credits = true"})
    outcome = scenario.run([item("INV", 10, "100.00"), item("SOON", -5, "60.00"),
                            item("CM", 5, "-30.00", doc_type="credit_memo")], config=config)
    [letter] = outcome.letters
    assert letter["letter_id"] == letter_id("C1|EUR||INV")
    assert (letter["line_count"], letter["current_total"], letter["credit_total"]) == (1, D("0.00"), D("0.00"))
    assert story(outcome)["SOON"] == ("excluded", "not_due", 0)
    assert story(outcome)["CM"] == ("excluded", "credit", 0)


def test_one_letter_per_currency(scenario):
    outcome = scenario.run([item("EUR-1", 10, "100.00"), item("USD-1", 10, "80.00", currency="USD"),
                            item("USD-2", 3, "20.00", currency="USD")], config=EUR_AND_USD)
    by_currency = {x["currency"]: x for x in outcome.letters}
    assert by_currency["EUR"]["letter_id"] == letter_id("C1|EUR||")
    assert by_currency["USD"]["letter_id"] == letter_id("C1|USD||")
    assert by_currency["USD"]["overdue_total"] == D("100.00")   # 80 + 20 (piggyback in the USD letter)
    assert story(outcome)["USD-2"] == ("dunned", "piggyback", 1)


def test_payments_and_prepayments_are_credit_lines(scenario):
    config = with_config({"include_credits = false": "include_credits = true"})
    outcome = scenario.run([item("INV", 10, "100.00"), item("PAY", 2, "-25.00", doc_type="payment"),
                            item("PRE", 1, "-5.00", doc_type="prepayment")], config=config)
    assert story(outcome)["PAY"] == ("listed", "credit", 0)
    assert story(outcome)["PRE"] == ("listed", "credit", 0)
    [letter] = outcome.letters
    assert letter["credit_total"] == D("-30.00")    # -25.00 - 5.00
    assert letter["total_due"] == D("70.00")        # 100.00 - 30.00 + fee 0.00


def test_branch_without_trigger_gets_no_letter(scenario):
    config = with_config({"consolidate_branches = true": "consolidate_branches = false"})
    outcome = scenario.run([item("S1", 10, "100.00", branch="SOUTH"), item("E1", 3, "50.00", branch="EAST")],
                           config=config)
    [letter] = outcome.letters
    assert letter["letter_id"] == letter_id("C1|EUR|SOUTH|")
    assert story(outcome)["E1"] == ("excluded", "below_level_threshold", 0)   # no piggyback across branches


def test_non_sequential_spacing_uses_the_target_level(scenario):
    config = with_config({"sequential = true": "sequential = false"})
    # level 1, 50 days past due -> target 3 (50 > 45); spacing max(45 - 7, 0) = 38 days
    soon = scenario.run([item("INV-1", 50, "100.00", dunning_level=1, last_dunned_on=days_before(37))],
                        config=config)
    assert story(soon)["INV-1"] == ("excluded", "too_soon", 1)    # 37 < 38
    ok = scenario.run([item("INV-1", 50, "100.00", dunning_level=1, last_dunned_on=days_before(38))],
                      config=config)
    assert story(ok)["INV-1"] == ("dunned", "advanced", 3)        # 38 >= 38
