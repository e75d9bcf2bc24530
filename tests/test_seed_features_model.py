"""An independent model of SPEC §11.1 (letters across currencies) and §11.3 (a day range per
level), and hypothesis properties that run the engine and compare it with the model.

The model (`expect`) is written from the SPEC text alone, in plain Python with decimal.Decimal:
no DuckDB and no engine code (only `run` as a user calls it, and conftest's helpers). It covers
grouping "customer" with consolidated branches, invoices and credits (credit memos, payments
without a due date; `include_credits` on or off), a fixed interest rate:
- the letter currency of an item (§11.1): its policy's `letter_currency`; for "customer" the
  customers file's `letter_currency`, else the item's own currency; a policy without the key
  writes in the item's currency;
- the rate (§11.1): 1 for a line already in the letter currency (no lookup); else the direct
  pair's row with the latest rate_date <= the rate day, the rate day being the run date or the
  item's due date (`rate_date`) minus `rate_days_before`;
- letter_amount = open_amount x rate, half away from zero to the letter currency's minor unit
  (EUR, USD 2 decimals; JPY 0), per line; overdue_total their sum; min_amount and the fixed fee
  of the letter's level in the letter currency;
- interest (§4.6, act/365 to the letter date) on a level with `interest = true`: per overdue
  line in the document currency, rounded half-up to its minor unit, then converted at the
  line's rate like the line; the interest minimum compared with the converted total;
  credits converted like any line (away from zero) into credit_total, `customer_in_credit`
  tested after the minimum (§4.5); total_due = overdue_total + credit_total + fee +
  interest_total (§4.8);
- the letter key `customer_id|letter_currency||` and letter_id (SPEC §5);
- advance (§4.3 with §11.3's days_to) in sequential and non-sequential policies with spacing
  (`too_soon`), the §4.2 exclusions the generator can produce (settled, customer_final), and
  §4.4 in grouping customer: a key with a trigger lists every other non-excluded overdue item;
  a level-0 one rides at level 1 (piggyback) only within level 1's range, else it is listed at 0
  (README, Semantics: "`days_to` (§11.3) and piggyback").

The generator draws 1-4 customers under three policies (a fixed letter currency, "customer",
none; each sequential or not, with random thresholds, ranges, fees, interest flags, minimums,
rate_date and rate_days_before), up to 14 items in two or three of EUR, USD, JPY (one in five a
credit), levels 0-3, due dates from 20 days ahead to 150 days past due, and a rates table of
random days (some on, just before or just after an item's rate day, some after the run date)
and rates with up to six decimals (some that make exact halves), always with a row for every
pair before any rate day, so that every input has the rates it needs. A second test leaves a
needed pair only a row after the run date: the run is an input error (exit 2) naming the pair.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AS_OF, ROOT, SPEC_CONFIG, Outcome, with_config, write_csv
from dunning_batch.run import run

D = Decimal
MINOR = {"EUR": 2, "USD": 2, "JPY": 0}   # decimals of each currency's minor unit (ISO 4217)
ITEM_COLUMNS = ("doc_id", "customer_id", "doc_type", "due_date", "currency", "open_amount", "dunning_level",
                "last_dunned_on")
CUSTOMER_COLUMNS = ("customer_id", "name", "address", "customer_class", "letter_currency")
RATE_COLUMNS = ("rate_date", "from_currency", "to_currency", "rate")
LOWERING = ("credit_memo", "payment")
CLASS_POLICY = {"FIX": "fixed", "CUS": "by_customer", "OWN": "own"}
TEMPLATES = ("reminder", "second_reminder", "final_notice")
CLI = [sys.executable, "-c", "from dunning_batch.cli import main; main()"]
# every pair gets a row this many days before the run date: before any rate day the generator
# can make (150 days past due + 10 days before), so every needed rate exists
BASE_DAYS = 200


def day(offset: int) -> dt.date:
    return AS_OF + dt.timedelta(days=offset)


def money(value: Decimal, currency: str) -> Decimal:
    """Half away from zero to the currency's minor unit (ROUND_HALF_UP on the absolute value)."""
    return value.quantize(D(1).scaleb(-MINOR[currency]), rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    return format(value, "f")


# ------------------------------------------------------------------------- the generated case

@dataclass
class Level:
    days: int                 # days_past_due threshold
    days_to: int | None       # §11.3 range end (None: no range)
    fee: dict[str, Decimal]   # per currency
    interest: bool


@dataclass
class Policy:
    name: str
    letter_currency: str | None   # "EUR"/"USD"/"JPY", "customer", or None (key not set)
    rate_date: str                # "run" | "due_date"
    days_before: int
    sequential: bool
    min_between: int
    min_amount: dict[str, Decimal]
    levels: list[Level]

    def toml(self, cls: str) -> str:
        lines = [
            "[[policy]]", f'name = "{self.name}"', f'customer_classes = ["{cls}"]',
            f"sequential = {'true' if self.sequential else 'false'}",
            f"min_days_between_letters = {self.min_between}",
            "min_amount = " + table(self.min_amount),
        ]
        if self.letter_currency is not None:
            lines += [f'letter_currency = "{self.letter_currency}"', f'rate_date = "{self.rate_date}"',
                      f"rate_days_before = {self.days_before}"]
        for n, level in enumerate(self.levels):
            lines += ["", "  [[policy.level]]", f"  days_past_due = {level.days}"]
            if level.days_to is not None:
                lines.append(f"  days_to = {level.days_to}")
            lines += [f"  days_to_settle = {10 if n == 0 else 7}", "  fee = " + table(level.fee),
                      f"  interest = {'true' if level.interest else 'false'}", f'  template = "{TEMPLATES[n]}"']
        return "\n".join(lines) + "\n"


def table(values: dict[str, Decimal]) -> str:
    return "{ " + ", ".join(f"{c} = {plain(v)}" for c, v in sorted(values.items())) + " }"


@dataclass
class Case:
    policies: dict[str, Policy]                  # by class
    customers: list[dict[str, Any]]
    items: list[dict[str, Any]]
    rates: list[tuple[dt.date, str, str, Decimal]]
    interest_rate: Decimal                       # [interest] fixed_rate, percent a year
    interest_min: dict[str, Decimal]             # [interest] min_amount per currency
    include_credits: bool

    @property
    def config(self) -> str:
        # conftest's [run], [sender] and [interest] head (SPEC §3), with this case's include_credits
        head = with_config({"include_credits = false": f"include_credits = {str(self.include_credits).lower()}"},
                           SPEC_CONFIG[:SPEC_CONFIG.index("fixed_rate = ")])
        head += f"fixed_rate = {plain(self.interest_rate)}\nmin_amount = {table(self.interest_min)}\n\n"
        return head + "\n".join(p.toml(cls) for cls, p in sorted(self.policies.items()))

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.toml").write_text(self.config, encoding="utf-8")
        write_csv(folder / "open_items.csv", self.items, ITEM_COLUMNS)
        write_csv(folder / "customers.csv", self.customers, CUSTOMER_COLUMNS)
        write_csv(folder / "rates.csv", [dict(zip(RATE_COLUMNS, (d.isoformat(), f, t, plain(r))))
                                         for d, f, t, r in self.rates], RATE_COLUMNS)


# ------------------------------------------------------------------------- the model

@dataclass
class Expected:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)     # doc_id -> outcome, reason, level_after, letter_id
    letters: dict[str, dict[str, Any]] = field(default_factory=dict)   # letter_id -> currency, totals
    # (letter_id, doc_id, line_type) -> rate, rate_date, letter_amount (and interest_amount)
    lines: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)


def letter_id(key: str) -> str:
    """SPEC §5: DL-yyyymmdd- and the first 16 hex digits of the key's SHA-256."""
    return f"DL-{AS_OF:%Y%m%d}-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def letter_currency(case: Case, row: dict[str, Any]) -> str:
    """§11.1: the policy's letter currency; "customer": the customer's column, else the item's own."""
    customer = next(c for c in case.customers if c["customer_id"] == row["customer_id"])
    wanted = case.policies[customer["customer_class"]].letter_currency
    if wanted == "customer":
        return customer["letter_currency"] or row["currency"]
    return wanted or row["currency"]


def rate_day(policy: Policy, row: dict[str, Any]) -> dt.date:
    # "due_date": the item's due date, the run date for one without (README, §11.1 semantics)
    due = row["due_date"] and dt.date.fromisoformat(row["due_date"])
    base = due if policy.rate_date == "due_date" and due else AS_OF
    return base - dt.timedelta(days=policy.days_before)


def find_rate(case: Case, policy: Policy, row: dict[str, Any], to: str) -> tuple[Decimal, dt.date | None] | None:
    """§11.1: 1 in the letter's own currency; else the direct pair's latest row on or before the
    rate day; None when there is none (a missing rate)."""
    if row["currency"] == to:
        return D(1), None
    limit = rate_day(policy, row)
    found = [(d, r) for d, f, t, r in case.rates if (f, t) == (row["currency"], to) and d <= limit]
    if not found:
        return None
    d, r = max(found)
    return r, d


def interest_amount(open_amount: Decimal, days: int, percent: Decimal, currency: str) -> Decimal:
    """§4.6 act/365: open_amount x days x rate / 100 / 365, half-up to the document currency."""
    with localcontext() as exact:
        exact.prec = 60
        return money(open_amount * days * percent / 100 / 365, currency)


def advance(policy: Policy, level: int, dpd: int, last_dunned: str | None) -> tuple[int | None, str]:
    """§4.3 with §11.3: (target level, "advanced") or (None, the reason it does not advance)."""
    levels = policy.levels

    def holds(k: int) -> bool:   # level k (1-based) holds the item: its range, when it has one
        return levels[k - 1].days_to is None or dpd <= levels[k - 1].days_to

    above = range(level + 1, len(levels) + 1)
    exceeded = [k for k in above if dpd > levels[k - 1].days]
    if policy.sequential:
        exceeded = [k for k in exceeded if k == level + 1]
    if not exceeded:
        return None, "not_due" if dpd <= 0 else "below_level_threshold"
    held = [k for k in exceeded if holds(k)]
    if not held:
        return None, "beyond_level_range"
    target = max(held)
    if level >= 1 and last_dunned is not None:
        waited = (AS_OF - dt.date.fromisoformat(last_dunned)).days
        if waited < max(levels[target - 1].days - levels[level - 1].days, policy.min_between):
            return None, "too_soon"
    return target, "advanced"


def expect(case: Case) -> Expected:
    """What SPEC §4, §5 and §11 say the run must decide and write for `case`."""
    out = Expected()
    policy_of = {c["customer_id"]: case.policies[c["customer_class"]] for c in case.customers}
    last = {cid: len(p.levels) for cid, p in policy_of.items()}
    final = {r["customer_id"] for r in case.items
             if D(r["open_amount"]) != 0 and r["dunning_level"] >= last[r["customer_id"]]}
    keys: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)   # non-excluded items per key
    for row in case.items:
        doc, level = row["doc_id"], row["dunning_level"]
        if D(row["open_amount"]) == 0:
            out.items[doc] = {"outcome": "excluded", "reason": "settled", "level_after": level, "letter_id": None}
            continue
        if row["customer_id"] in final:
            out.items[doc] = {"outcome": "excluded", "reason": "customer_final", "level_after": level,
                              "letter_id": None}
            continue
        policy = policy_of[row["customer_id"]]
        keys[(row["customer_id"], letter_currency(case, row))].append(row)
        if row["doc_type"] in LOWERING:   # never advances; listed as a credit or excluded as one
            out.items[doc] = {"outcome": "excluded", "reason": "credit", "level_after": level, "letter_id": None,
                              "target": None, "dpd": None}
            continue
        dpd = (AS_OF - dt.date.fromisoformat(row["due_date"])).days
        target, reason = advance(policy, level, dpd, row["last_dunned_on"])
        out.items[doc] = {"outcome": "excluded", "reason": reason, "level_after": level, "letter_id": None,
                          "target": target, "dpd": dpd}

    for (customer_id, currency), rows in sorted(keys.items()):
        if not any(out.items[r["doc_id"]]["target"] is not None for r in rows):
            continue
        policy, key = policy_of[customer_id], letter_id(f"{customer_id}|{currency}||")
        members, lines = [], {}
        for r in rows:
            decided = out.items[r["doc_id"]]
            if r["doc_type"] in LOWERING:
                if case.include_credits:
                    members.append((r, "listed", "credit", r["dunning_level"]))
            elif decided["target"] is not None:
                members.append((r, "dunned", "advanced", decided["target"]))
            elif decided["dpd"] > 0:   # §4.4: every other non-excluded overdue item of the key
                range_1 = policy.levels[0].days_to
                if r["dunning_level"] == 0 and (range_1 is None or decided["dpd"] <= range_1):
                    members.append((r, "dunned", "piggyback", 1))
                else:
                    members.append((r, "listed", "listed", r["dunning_level"]))
        for r, *_ in members:
            rate, rate_date = find_rate(case, policy, r, currency)
            kind = "credit" if r["doc_type"] in LOWERING else "overdue"
            lines[(key, r["doc_id"], kind)] = {"rate": rate, "rate_date": rate_date,
                                               "letter_amount": money(D(r["open_amount"]) * rate, currency)}
        overdue, credit = (sum((v["letter_amount"] for k, v in lines.items() if k[2] == kind), D(0))
                           for kind in ("overdue", "credit"))
        suppressed = None   # §4.5 in the letter currency: the minimum, then (tested second) the credit
        if overdue < policy.min_amount[currency]:
            suppressed = "below_min_amount"
        elif any(k[2] == "credit" for k in lines) and overdue + credit <= 0:
            suppressed = "customer_in_credit"
        if suppressed:
            for r, *_ in members:
                out.items[r["doc_id"]].update(outcome="excluded", reason=suppressed)
            continue
        for r, outcome, reason, level_after in members:
            out.items[r["doc_id"]].update(outcome=outcome, reason=reason, level_after=level_after, letter_id=key)
        level = max(level_after for *_, level_after in members)
        fee = policy.levels[level - 1].fee[currency]
        interest = {}
        if policy.levels[level - 1].interest:   # §4.6 on every overdue line, whatever its own level
            for r, *_ in members:
                if r["doc_type"] in LOWERING:
                    continue   # never on credits (§4.6)
                days = out.items[r["doc_id"]]["dpd"]   # due_date + 1 through the run date
                line = lines[(key, r["doc_id"], "overdue")]
                amount = interest_amount(D(r["open_amount"]), days, case.interest_rate, r["currency"])
                interest[(key, r["doc_id"], "interest")] = {
                    "rate": line["rate"], "rate_date": line["rate_date"], "interest_amount": amount,
                    "letter_amount": money(amount * line["rate"], currency)}
        interest_total = sum((line["letter_amount"] for line in interest.values()), D(0))
        if interest_total < case.interest_min[currency]:   # §4.6: the letter carries none
            interest, interest_total = {}, D(0)
        out.letters[key] = {"currency": currency, "level": level, "overdue_total": overdue, "credit_total": credit,
                            "fee": fee, "interest_total": interest_total,
                            "total_due": overdue + credit + fee + interest_total}
        out.lines.update(lines)
        out.lines.update(interest)
    for decided in out.items.values():
        decided.pop("target", None)
        decided.pop("dpd", None)
    return out


# ------------------------------------------------------------------------- the strategies

# rates of at least 0.005: an amount of 100 or more never converts into nothing, which is an input
# error (README, "Letters across currencies"); smaller amounts still may
RATE_HALVES = [D("0.5"), D("1.5"), D("0.25"), D("0.125"), D("2.5"), D("0.005"), D("150.5"), D("0.015")]
FEES = {"EUR": ["0.00", "5.00", "12.50"], "USD": ["0.00", "7.25", "15.00"], "JPY": ["0", "500", "1250"]}
INTEREST_RATES = [D("8"), D("9.12"), D("12.5"), D("0.000365")]
INTEREST_MINIMUMS = {"EUR": ["0.00", "1.00", "50.00"], "USD": ["0.00", "1.00", "50.00"], "JPY": ["0", "100", "5000"]}
MINIMUMS = {"EUR": ["0.00", "5.00", "60.00", "900.00"], "USD": ["0.00", "5.00", "75.00", "1000.00"],
            "JPY": ["0", "700", "9000", "150000"]}


@st.composite
def policies(draw, name: str, letter_currency: str | None) -> Policy:
    days, levels = draw(st.integers(0, 10)), []
    for n in range(3):
        if n:
            days += draw(st.integers(1, 30))
        days_to = days + draw(st.integers(1, 60)) if draw(st.booleans()) else None
        levels.append(Level(days, days_to, {c: D(draw(st.sampled_from(v))) for c, v in FEES.items()},
                            interest=n > 0 and draw(st.booleans())))
    return Policy(name, letter_currency, draw(st.sampled_from(["run", "due_date"])), draw(st.integers(0, 10)),
                  draw(st.booleans()), draw(st.sampled_from([0, 0, 10])),
                  {c: D(draw(st.sampled_from(v))) for c, v in MINIMUMS.items()}, levels)


@st.composite
def amounts(draw, currency: str) -> str:
    if draw(st.integers(0, 19)) == 0:
        return plain(D(0).scaleb(-MINOR[currency]))   # settled (§4.2)
    units = draw(st.integers(1, 500_000) | st.sampled_from([1, 5, 50, 105, 10_005]))
    return plain(D(units).scaleb(-MINOR[currency]))


@st.composite
def rate_values(draw) -> Decimal:
    return draw(st.sampled_from(RATE_HALVES) | st.integers(5_000, 200_000_000).map(lambda n: D(n).scaleb(-6)))


@st.composite
def cases(draw) -> Case:
    currencies = draw(st.sampled_from([("EUR", "USD"), ("EUR", "JPY"), ("USD", "JPY"), ("EUR", "USD", "JPY")]))
    all_currencies = ("EUR", "USD", "JPY")
    case_policies = {"FIX": draw(policies("fixed", draw(st.sampled_from(all_currencies)))),
                     "CUS": draw(policies("by_customer", "customer")),
                     "OWN": draw(policies("own", None))}
    customers = [{"customer_id": f"C{n}", "name": f"Customer {n}", "address": f"{n} Example Street\n10115 Berlin",
                  "customer_class": draw(st.sampled_from(sorted(CLASS_POLICY))),
                  "letter_currency": draw(st.sampled_from((None,) + all_currencies))}
                 for n in range(1, draw(st.integers(1, 4)) + 1)]
    items = []
    for n in range(1, draw(st.integers(1, 14)) + 1):
        currency = draw(st.sampled_from(currencies))
        dpd = draw(st.integers(-5, 15) | st.integers(-20, 150))   # near level 1's threshold, or anywhere
        # the last level (it makes its customer final, §4.2) one item in forty
        level = 3 if draw(st.integers(0, 39)) == 0 else draw(st.sampled_from([0, 0, 0, 1, 1, 2]))
        last_dunned = None
        if level >= 1 and dpd >= 2 and draw(st.booleans()):
            last_dunned = day(-dpd + draw(st.integers(1, dpd - 1))).isoformat()
        row = {"doc_id": f"INV-{n:02d}", "customer_id": draw(st.sampled_from(customers))["customer_id"],
               "doc_type": "invoice", "due_date": day(-dpd).isoformat(), "currency": currency,
               "open_amount": draw(amounts(currency)), "dunning_level": level, "last_dunned_on": last_dunned}
        if draw(st.integers(0, 4)) == 0:   # a credit: a credit memo, or a payment without a due date
            doc_type = draw(st.sampled_from(LOWERING))
            row.update(doc_id=f"{doc_type[:3].upper()}-{n:02d}", doc_type=doc_type, dunning_level=0,
                       last_dunned_on=None, open_amount=plain(-D(row["open_amount"]) + 0),
                       due_date=row["due_date"] if doc_type == "credit_memo" else None)
        items.append(row)
    # rate rows on random days, and some on, just before or just after a rate day an item has
    rate_days = sorted({(rate_day(p, row) - AS_OF).days + shift for p in case_policies.values() for row in items
                        for shift in (-1, 0, 1)})
    rates = []
    for source in all_currencies:
        for target in all_currencies:
            if source == target:
                continue
            rates.append((day(-BASE_DAYS), source, target, draw(rate_values())))
            offsets = draw(st.lists(st.integers(-165, 5) | st.sampled_from(rate_days), max_size=4, unique=True))
            for offset in offsets:
                rates.append((day(offset), source, target, draw(rate_values())))
    interest_min = {c: D(draw(st.sampled_from(v))) for c, v in INTEREST_MINIMUMS.items()}
    return Case(case_policies, customers, items, sorted(rates), draw(st.sampled_from(INTEREST_RATES)), interest_min,
                draw(st.booleans()))


# ------------------------------------------------------------------------- running the engine

def run_case(case: Case) -> Outcome:
    """The engine's outputs of `case` (read into memory; the folder is removed)."""
    folder = Path(tempfile.mkdtemp(prefix="dunning-model-"))
    try:
        case.write(folder)
        run(folder / "config.toml", folder / "open_items.csv", folder / "customers.csv", AS_OF, folder / "out",
            rates=folder / "rates.csv", pdf=False)
        outcome = Outcome(folder / "out")
        got = Expected()
        got.items = {d: {"outcome": r["outcome"], "reason": r["reason"], "level_after": r["level_after"],
                         "letter_id": r["letter_id"]} for d, r in outcome.decisions.items()}
        got.letters = {r["letter_id"]: {"currency": r["currency"], "level": r["level"],
                                        "overdue_total": r["overdue_total"], "credit_total": r["credit_total"],
                                        "fee": r["fee"],
                                        "interest_total": r["interest_total"], "total_due": r["total_due"]}
                       for r in outcome.letters}
        got.lines = {(r["letter_id"], r["doc_id"], r["line_type"]):
                     {"rate": r["rate"], "rate_date": r["rate_date"], "letter_amount": r["letter_amount"]}
                     | ({"interest_amount": r["interest_amount"]} if r["line_type"] == "interest" else {})
                     for r in outcome.lines}
        return got
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def differences(want: Expected, got: Expected) -> list[str]:
    found = []
    for part in ("items", "letters", "lines"):
        w, g = getattr(want, part), getattr(got, part)
        for key in sorted(set(w) | set(g), key=str):
            if w.get(key) != g.get(key):
                found.append(f"{part} {key}: model {w.get(key)} engine {g.get(key)}")
    return found


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
def test_the_engine_decides_and_converts_as_the_model_of_spec_11(case: Case) -> None:
    """Per item outcome, reason, level_after, letter_id; per letter currency, level, overdue_total,
    fee, interest_total, total_due; per line rate, rate_date, letter_amount (interest lines: and
    interest_amount): the engine's equal the model's."""
    found = differences(expect(case), run_case(case))
    assert not found, "\n".join(found[:30]) + "\n\nconfig:\n" + case.config


# ------------------------------------------------------------------------- a missing rate

def needed_pairs(case: Case) -> set[tuple[str, str]]:
    """The pairs whose rate the open items need: every item not settled whose letter currency
    differs from its own, whatever its exclusion (README, "Which rows need a rate")."""
    return {(r["currency"], letter_currency(case, r)) for r in case.items
            if D(r["open_amount"]) != 0 and r["currency"] != letter_currency(case, r)}


@st.composite
def cases_missing_a_rate(draw) -> tuple[Case, tuple[str, str]]:
    """A case with at least one conversion, the rates of one needed pair reduced to one row after
    every rate day."""
    case = draw(cases())
    pairs = sorted(needed_pairs(case))
    if not pairs:   # make one: the first item into the letter currency of a fixed-currency policy
        first = case.items[0]
        fixed = case.policies["FIX"].letter_currency
        other = next(c for c in MINOR if c != fixed)
        first.update(currency=other, open_amount="100" if MINOR[other] == 0 else "100.00")
        for c in case.customers:
            if c["customer_id"] == first["customer_id"]:
                c["customer_class"] = "FIX"
        pairs = sorted(needed_pairs(case))
    pair = draw(st.sampled_from(pairs))
    # after every rate day the generator makes (a due date 20 days ahead at the latest)
    case.rates = [r for r in case.rates if (r[1], r[2]) != pair] + [(day(25), *pair, D("1.1"))]
    return case, pair


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drawn=cases_missing_a_rate())
def test_a_missing_rate_is_an_input_error_naming_the_pair(drawn: tuple[Case, tuple[str, str]]) -> None:
    """§11.1: a missing rate is a validation error naming the pair and the day: exit 2, nothing written."""
    case, (source, target) = drawn
    folder = Path(tempfile.mkdtemp(prefix="dunning-model-"))
    try:
        case.write(folder)
        done = subprocess.run([*CLI, "run", "--config", "config.toml", "--open-items", "open_items.csv",
                               "--customers", "customers.csv", "--rates", "rates.csv", "--as-of", AS_OF.isoformat(),
                               "--out", "out", "--no-pdf"], cwd=folder, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
        assert done.returncode == 2, (done.stdout, done.stderr)
        # the first row of the pair is named with its rate day (rows like it may be summed up after it)
        number, row = next((n, r) for n, r in enumerate(case.items, start=2)
                           if D(r["open_amount"]) != 0 and (r["currency"], letter_currency(case, r)) == (source, target))
        customer = next(c for c in case.customers if c["customer_id"] == row["customer_id"])
        wanted = rate_day(case.policies[customer["customer_class"]], row)
        assert f"open_items.csv:{number}: currency: no {source}->{target} rate on or before {wanted} " in done.stderr, \
            done.stderr
        assert "Traceback" not in done.stderr and not (folder / "out").exists()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
