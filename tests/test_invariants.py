"""Property tests of SPEC §8 invariants 1-5 (and §4.12 / §5 consistency) over generated exports.

Hypothesis draws a small export (1-40 items over 1-6 customers, every doc type, EUR and/or
USD, levels 0..3, due dates 30 days ahead to 120 days past due, flags, branches) and a
config (grouping, sequential, include_not_due, include_credits, consolidate_branches, ...),
runs the job into a fresh folder and checks what `reconcile` must prove (SPEC §8), and
that every item's exclusion is the first of SPEC §4.2 that its data calls for (an oracle
written from the SPEC's order, settled items of open amount 0.00 first).
A second property spoils a few rows and runs with strict = false: every row is then either
decided once or rejected, and amounts still add up (§8.1, §8.2 with rejected.parquet).
The last test checks SPEC §4.11: two runs of the same inputs give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AS_OF, ROOT, Outcome, write_csv
from dunning_batch.cli import DEMO_RATES
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
from dunning_batch.run import run

NO_PDF = {"pdf": False}  # these properties are about figures; tests/test_letters.py covers PDFs

RAISING = ("invoice", "debit_memo", "fee", "refund")
LOWERING = ("credit_memo", "payment", "prepayment")
DOC_TYPES = RAISING + LOWERING

# SPEC §4.12: which reasons go with which outcome.
REASONS = {
    "dunned": {"advanced", "piggyback"},
    "listed": {"listed", "current", "credit"},
    "excluded": {"settled", "customer_blocked", "no_policy", "customer_final", "blocked", "disputed", "in_grace",
                 "max_level", "not_due", "below_level_threshold", "too_soon", "below_min_amount",
                 "customer_in_credit", "credit"},
}

# A reference-rate table for the consumer policy: a change before the window, a repeated
# equal rate (no split, §4.6) and a real change inside it (one split).
RATES_CSV = "effective_from,rate_percent\n2020-01-01,3.62\n2026-07-01,1.27\n2026-08-15,1.27\n2026-10-01,2.27\n"

CONFIG_TEMPLATE = """
[run]
grouping = "{grouping}"
consolidate_branches = {consolidate_branches}
include_not_due = {include_not_due}
include_credits = {include_credits}
include_disputed = {include_disputed}
default_language = "en"
strict = true

[sender]
name = "Example GmbH"
address = ["Hauptstr. 1", "10115 Berlin", "Germany"]
email = "ar@example.com"
iban = "DE89370400440532013000"
bic = "COBADEFFXXX"

[interest]
basis = "{basis}"
calculate_to = "{calculate_to}"
include_in_total = {include_in_total}
fixed_rate = 8.0
min_amount = {{ EUR = 1.00, USD = 1.00 }}

[[policy]]
name = "standard"
default = {standard_default}
customer_classes = ["B2B"]
sequential = {standard_sequential}
min_days_between_letters = 0
min_amount = {{ EUR = 5.00, USD = 5.00 }}

  [[policy.level]]
  days_past_due = 7
  days_to_settle = 10
  fee = {{ EUR = 0.00, USD = 0.00 }}
  interest = false
  template = "reminder"

  [[policy.level]]
  days_past_due = 21
  days_to_settle = 7
  fee = {{ EUR = 5.00, USD = 5.00 }}
  interest = true
  template = "second_reminder"

  [[policy.level]]
  days_past_due = 45
  days_to_settle = 7
  fee = {{ EUR = 10.00, USD = 10.00 }}
  interest = true
  template = "final_notice"
  credit_hold = true
  payment_term = "IMMEDIATE"

[[policy]]
name = "consumer"
default = {consumer_default}
customer_classes = ["B2C"]
sequential = {consumer_sequential}
min_days_between_letters = 14
min_amount = {{ EUR = 10.00, USD = 10.00 }}

  [policy.interest]
  reference_rates = "rates.csv"
  margin = 5.0

  [[policy.level]]
  days_past_due = 14
  days_to_settle = 14
  interest = false
  template = "reminder"

  [[policy.level]]
  days_past_due = 30
  days_to_settle = 10
  fee = {{ EUR = 2.50, USD = 2.50 }}
  interest = true
  template = "second_reminder"

  [[policy.level]]
  days_past_due = 60
  days_to_settle = 7
  fee = {{ EUR = 7.50, USD = 7.50 }}
  interest = true
  template = "final_notice"
  credit_hold = true
  payment_term = "IMMEDIATE"
"""


def toml_bool(value: bool) -> str:
    return "true" if value else "false"


@dataclass
class Export:
    """One generated case: the config choices, the customers and the open items (as CSV rows)."""

    options: dict[str, Any]
    customers: list[dict[str, Any]]
    items: list[dict[str, Any]]

    @property
    def config(self) -> str:
        o = self.options
        return CONFIG_TEMPLATE.format(
            grouping=o["grouping"], basis=o["basis"], calculate_to=o["calculate_to"],
            **{k: toml_bool(o[k]) for k in ("consolidate_branches", "include_not_due", "include_credits",
                                             "include_disputed", "standard_sequential",
                                             "consumer_sequential", "include_in_total")},
            standard_default=toml_bool(o["default_policy"] == "standard"),
            consumer_default=toml_bool(o["default_policy"] == "consumer"),
        )

    def sequential(self, policy: str) -> bool:
        return self.options[f"{policy}_sequential"]

    def write(self, folder: Path) -> tuple[Path, Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rates.csv").write_text(RATES_CSV, encoding="utf-8")
        config = folder / "config.toml"
        config.write_text(self.config, encoding="utf-8")
        items = write_csv(folder / "open_items.csv", self.items, OPEN_ITEM_COLUMNS)
        customers = write_csv(folder / "customers.csv", self.customers, CUSTOMER_COLUMNS)
        return config, items, customers


def day(offset: int) -> str:
    """The ISO date `offset` days after the run date."""
    return (AS_OF + dt.timedelta(days=offset)).isoformat()


# True about one time in ten; shrinks to False.
rarely = st.integers(0, 9).map(lambda n: n == 9)
# Most items are at level 0 or 1; the last level (which makes the whole customer final in
# grouping "customer", §4.2) is the rarest. Shrinks to 0.
levels = st.sampled_from([0, 0, 0, 0, 1, 1, 1, 2, 2, 3])
run_options = st.fixed_dictionaries({
    "grouping": st.sampled_from(["customer", "customer_level", "document"]),
    "consolidate_branches": st.booleans(),
    "include_not_due": st.booleans(),
    "include_credits": st.booleans(),
    "include_disputed": st.booleans(),
    "standard_sequential": st.booleans(),
    "consumer_sequential": st.booleans(),
    "default_policy": st.sampled_from(["standard", "consumer", None]),
    "basis": st.sampled_from(["act/365", "act/360", "30e/360"]),
    "calculate_to": st.sampled_from(["letter_date", "pay_by_date"]),
    "include_in_total": st.sampled_from([True, False]),
})


@st.composite
def customer_rows(draw, number: int) -> dict[str, Any]:
    grace = draw(st.none() | st.integers(-5, 5)) if draw(rarely) else None
    return {
        "customer_id": f"C{number}",
        "name": f"Customer {number}",
        "address": f"{number} Example Street",
        "language": draw(st.sampled_from([None, "en", "de", "fr", "pl"])),
        "customer_class": draw(st.sampled_from(["B2B", "B2C", None, "STAFF"])),
        "dunning_blocked": "true" if draw(rarely) else "false",
        "grace_until": None if grace is None else day(grace),
        "interest_rate": draw(st.sampled_from([None, None, None, "6.5", "12", "0"])),
    }


@st.composite
def item_rows(draw, number: int, customer_ids: list[str], currencies: tuple[str, ...],
              branches: tuple[str, ...]) -> dict[str, Any]:
    doc_type = draw(st.sampled_from(DOC_TYPES))
    raising = doc_type in RAISING
    cents = 0 if draw(rarely) else draw(st.integers(1, 500_000))   # 0.00: settled (§4.2)
    open_amount = Decimal(cents if raising else -cents).scaleb(-2)
    # days past due; lowering items may have no due date at all (payments rarely do)
    past_due = draw(st.integers(-30, 120)) if raising or draw(st.booleans()) else None
    level = draw(levels)
    last_dunned = None
    if level >= 1 and past_due is not None and past_due >= 2 and draw(st.booleans()):
        # after the due date, before the run date
        last_dunned = day(-past_due + draw(st.integers(1, past_due - 1)))
    grace = draw(st.integers(-5, 5)) if draw(rarely) else None
    return {
        "doc_id": f"{doc_type[:3].upper()}-{number:03d}",
        "customer_id": draw(st.sampled_from(customer_ids)),
        "doc_type": doc_type,
        "doc_date": None if past_due is None else day(-past_due - 30),
        "due_date": None if past_due is None else day(-past_due),
        "currency": draw(st.sampled_from(currencies)),
        "open_amount": f"{open_amount:.2f}",
        "dunning_level": level,
        "last_dunned_on": last_dunned,
        "blocked": "true" if draw(rarely) else "false",
        "disputed": "true" if draw(rarely) else "false",
        "grace_until": None if grace is None else day(grace),
        "branch": draw(st.sampled_from((None,) + branches)),
    }


@st.composite
def exports(draw) -> Export:
    options = draw(run_options)
    currencies = draw(st.sampled_from([("EUR",), ("USD",), ("EUR", "USD")]))
    branches = draw(st.sampled_from([(), ("NORTH",), ("NORTH", "SOUTH")]))
    customers = [draw(customer_rows(n)) for n in range(1, draw(st.integers(1, 6)) + 1)]
    ids = [c["customer_id"] for c in customers]
    items = [draw(item_rows(n, ids, currencies, branches)) for n in range(1, draw(st.integers(1, 40)) + 1)]
    return Export(options, customers, items)


class Outputs(Outcome):
    """conftest's Outcome over one DuckDB connection (it opens one per property otherwise)."""

    @functools.cached_property
    def con(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute(f"SET file_search_path = '{self.out}'")
        con.execute((self.out / "views.sql").read_text())
        return con

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        result = self.con.execute(sql)
        names = [d[0] for d in result.description]
        return [dict(zip(names, r)) for r in result.fetchall()]

    @functools.cached_property
    def decision_rows(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM decisions ORDER BY doc_id")

    @functools.cached_property
    def letter_rows(self) -> list[dict[str, Any]]:
        return self.letters

    @functools.cached_property
    def line_rows(self) -> list[dict[str, Any]]:
        return self.lines


def run_export(export: Export, **options: Any) -> Outputs:
    folder = Path(tempfile.mkdtemp(prefix="dunning-prop-"))
    try:
        config, items, customers = export.write(folder / "in")
        run(config, items, customers, AS_OF, folder / "out", **NO_PDF, **options)
        out = Outputs(folder / "out")
        # read everything now: the folder is removed when the example is done
        for name in ("decision_rows", "letter_rows", "line_rows"):
            getattr(out, name)
        out.levels_rows, out.levels_csv = out.levels_update, read_levels_csv(folder / "out")
        out.fee_rows, out.rejected_rows, out.run_json = out.fees, out.rejected, out.manifest
        out.schemas = {name: pq.read_schema(folder / "out" / name)
                       for name in ("decisions.parquet", "letters.parquet", "letter_lines.parquet",
                                    "levels_update.parquet")}
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_levels_csv(folder: Path) -> list[dict[str, Any]]:
    """levels_update.csv read on its own (views.sql only reads the Parquet twin)."""
    con = duckdb.connect()
    result = con.execute("SELECT * FROM read_csv($p, header = true, all_varchar = true) ORDER BY doc_id",
                         {"p": str(folder / "levels_update.csv")})
    names = [d[0] for d in result.description]
    return [dict(zip(names, r)) for r in result.fetchall()]


# ---------------------------------------------------------------------------------------------
# The checks, one per invariant. Each assertion message names the SPEC section it enforces.

def check_no_rejects(export: Export, out: Outputs) -> None:
    assert out.rejected_rows == [], f"strict run of a valid export rejected rows: {out.rejected_rows}"
    assert out.run_json["rejected_rows"] == 0


def check_every_item_decided_once(export: Export, out: Outputs) -> None:
    """§8.1 every input item is in decisions exactly once."""
    decided = Counter(d["doc_id"] for d in out.decision_rows)
    expected = Counter(i["doc_id"] for i in export.items)
    assert decided == expected, (
        f"§8.1: decisions differ from the input: missing {sorted(expected - decided)}, "
        f"extra or repeated {sorted(decided - expected)}")


def check_amounts_per_currency(export: Export, out: Outputs) -> None:
    """§8.2 per currency, sum(open_amount) of the input equals that of decisions (no rejects)."""
    given_sums: dict[str, Decimal] = defaultdict(Decimal)
    for i in export.items:
        given_sums[i["currency"]] += Decimal(i["open_amount"])
    decided_sums: dict[str, Decimal] = defaultdict(Decimal)
    for d in out.decision_rows:
        decided_sums[d["currency"]] += d["open_amount"]
    assert dict(decided_sums) == dict(given_sums), f"§8.2: per-currency sums {dict(decided_sums)} != input {dict(given_sums)}"


def check_letter_totals(export: Export, out: Outputs) -> None:
    """§8.3 each letter's totals are the sums of its lines; total_due follows §4.8; line_count (§5)."""
    lines_of: dict[str, list[dict]] = defaultdict(list)
    for line in out.line_rows:
        lines_of[line["letter_id"]].append(line)
    assert set(lines_of) <= {l["letter_id"] for l in out.letter_rows}, "§8.3: lines of a letter that does not exist"
    for letter in out.letter_rows:
        lines = lines_of[letter["letter_id"]]
        sums = {t: sum((l["open_amount"] for l in lines if l["line_type"] == t), Decimal(0))
                for t in ("overdue", "current", "credit")}
        interest = sum((l["interest_amount"] for l in lines if l["line_type"] == "interest"), Decimal(0))
        item_lines = [l for l in lines if l["line_type"] != "interest"]
        where = f"§8.3 letter {letter['letter_id']}"
        assert letter["overdue_total"] == sums["overdue"], f"{where}: overdue_total {letter['overdue_total']} != lines {sums['overdue']}"
        assert letter["current_total"] == sums["current"], f"{where}: current_total {letter['current_total']} != lines {sums['current']}"
        assert letter["credit_total"] == sums["credit"], f"{where}: credit_total {letter['credit_total']} != lines {sums['credit']}"
        assert letter["interest_total"] == interest, f"{where}: interest_total {letter['interest_total']} != lines {interest}"
        assert letter["line_count"] == len(item_lines), f"{where}: line_count {letter['line_count']} != {len(item_lines)} item lines"
        interest_due = letter["interest_total"] if export.options["include_in_total"] else Decimal(0)
        expected_due = letter["overdue_total"] + letter["credit_total"] + letter["fee"] + interest_due
        assert letter["total_due"] == expected_due, f"§4.8 letter {letter['letter_id']}: total_due {letter['total_due']} != {expected_due}"
        assert [l["line_no"] for l in lines] == list(range(1, len(lines) + 1)), f"§5 {where}: line_no not 1..n"


def check_levels_update(export: Export, out: Outputs) -> None:
    """§8.4 levels_update holds exactly the items whose level changed; +1 in sequential policies."""
    changed = {d["doc_id"]: d for d in out.decision_rows if d["level_after"] != d["level_before"]}
    rows = {r["doc_id"]: r for r in out.levels_rows}
    assert len(rows) == len(out.levels_rows), "§8.4: an item appears twice in levels_update"
    assert set(rows) == set(changed), (f"§8.4: levels_update {sorted(rows)} != items whose level changed "
                                       f"{sorted(changed)}")
    last_dunned = {i["doc_id"]: i["last_dunned_on"] for i in export.items}
    policy_of = {l["letter_id"]: l["policy"] for l in out.letter_rows}
    for doc_id, row in rows.items():
        d = changed[doc_id]
        assert (row["level_before"], row["level_after"], row["letter_id"], row["customer_id"]) == \
               (d["level_before"], d["level_after"], d["letter_id"], d["customer_id"]), f"§8.4 {doc_id}: {row} vs decision {d}"
        assert row["last_dunned_on"] == AS_OF, f"§4.10 {doc_id}: last_dunned_on {row['last_dunned_on']} != D"
        before = last_dunned[doc_id]
        assert row["last_dunned_before"] == (None if before is None else dt.date.fromisoformat(before)), \
            f"§5 {doc_id}: last_dunned_before {row['last_dunned_before']} != input {before}"
        assert row["letter_id"] in policy_of, f"§8.4 {doc_id}: level changed without a letter"
        if export.sequential(policy_of[row["letter_id"]]):
            assert row["level_after"] == row["level_before"] + 1, (
                f"§8.4 {doc_id}: sequential policy {policy_of[row['letter_id']]!r} moved "
                f"{row['level_before']} -> {row['level_after']}")
    # the CSV twin holds the same rows
    # the view's rows, in the Parquet file's columns (the view adds §9 columns NULL when off)
    written = out.schemas["levels_update.parquet"].names
    as_text = [{k: ("" if v is None else str(v)) for k, v in r.items() if k in written} for r in out.levels_rows]
    csv_rows = [{k: ("" if v is None else v) for k, v in r.items()} for r in out.levels_csv]
    assert csv_rows == as_text, "§5: levels_update.csv differs from levels_update.parquet"


def check_fee_documents(export: Export, out: Outputs) -> None:
    """§8.5 fee documents match exactly the letters with a non-zero fee (§4.7, §5)."""
    expected = {f"FEE-{l['letter_id']}": l for l in out.letter_rows if l["fee"] != 0}
    got = {f["fee_doc_id"]: f for f in out.fee_rows}
    assert len(got) == len(out.fee_rows), "§8.5: a fee document id appears twice"
    assert set(got) == set(expected), f"§8.5: fee documents {sorted(got)} != letters with a fee {sorted(expected)}"
    for fee_id, fee in got.items():
        letter = expected[fee_id]
        assert (fee["letter_id"], fee["customer_id"], fee["currency"], fee["amount"]) == \
               (letter["letter_id"], letter["customer_id"], letter["currency"], letter["fee"]), f"§8.5 {fee_id}: {fee}"
        assert (fee["doc_date"], fee["due_date"]) == (AS_OF, letter["pay_by"]), f"§5 {fee_id}: dates {fee}"
        assert fee["description"] == f"Dunning fee level {letter['level']}", f"§5 {fee_id}: {fee['description']!r}"


def check_outcomes(export: Export, out: Outputs) -> None:
    """§4.12: 'dunned' exactly when the level changed; every reason belongs to its outcome."""
    for d in out.decision_rows:
        changed = d["level_after"] != d["level_before"]
        assert (d["outcome"] == "dunned") == changed, (
            f"§4.12 {d['doc_id']}: outcome {d['outcome']!r} but level {d['level_before']} -> {d['level_after']}")
        assert d["reason"] in REASONS[d["outcome"]], f"§4.12 {d['doc_id']}: reason {d['reason']!r} with outcome {d['outcome']!r}"


def check_letters_and_items(export: Export, out: Outputs) -> None:
    """§4.4/§4.12: excluded items are in no letter, others in one that exists; each letter has a
    trigger; the item lines of a letter are exactly the items whose decision names it."""
    letter_ids = {l["letter_id"] for l in out.letter_rows}
    members: dict[str, set[str]] = defaultdict(set)
    for d in out.decision_rows:
        if d["outcome"] == "excluded":
            assert d["letter_id"] is None, f"§4.12 {d['doc_id']}: excluded but in letter {d['letter_id']}"
        else:
            assert d["letter_id"] in letter_ids, f"§4.12 {d['doc_id']}: {d['outcome']} in letter {d['letter_id']!r}, which does not exist"
            members[d["letter_id"]].add(d["doc_id"])
    triggers = {d["letter_id"] for d in out.decision_rows if d["reason"] == "advanced"}
    assert letter_ids <= triggers, f"§4.4: letters without an advanced item: {sorted(letter_ids - triggers)}"
    decisions = {d["doc_id"]: d for d in out.decision_rows}
    lines: dict[str, set[str]] = defaultdict(set)
    for line in out.line_rows:
        if export.options["grouping"] != "customer":
            assert line["line_type"] in ("overdue", "interest"), \
                f"§4.4: a {line['line_type']} line in grouping {export.options['grouping']!r}: {line['doc_id']}"
        if line["line_type"] == "interest":
            assert line["level_before"] is None and line["level_after"] is None, f"§5 interest line with levels: {line}"
            continue
        lines[line["letter_id"]].add(line["doc_id"])
        d = decisions[line["doc_id"]]
        assert (line["level_before"], line["level_after"]) == (d["level_before"], d["level_after"]), \
            f"§5 {line['doc_id']}: line levels {line['level_before']}->{line['level_after']} vs decision {d}"
    assert dict(lines) == dict(members), "§4.4: the item lines of the letters differ from the decisions' letter ids"


def check_decimals(export: Export, out: Outputs) -> None:
    """§5 amounts are DECIMAL(18,2): read back as Decimal, never float."""
    values = [d["open_amount"] for d in out.decision_rows]
    values += [l[k] for l in out.letter_rows
               for k in ("overdue_total", "current_total", "credit_total", "interest_total", "fee", "total_due")]
    values += [l[k] for l in out.line_rows for k in ("open_amount", "interest_amount") if l[k] is not None]
    values += [f["amount"] for f in out.fee_rows]
    floats = [v for v in values if not isinstance(v, Decimal)]
    assert not floats, f"§5: amounts that are not Decimal: {floats[:5]}"
    money = pa.decimal128(18, 2)
    for name, columns in {"decisions.parquet": ("open_amount",),
                          "letters.parquet": ("overdue_total", "current_total", "credit_total",
                                              "interest_total", "fee", "total_due"),
                          "letter_lines.parquet": ("open_amount", "interest_amount")}.items():
        for column in columns:
            assert out.schemas[name].field(column).type == money, \
                f"§5 {name}.{column} is {out.schemas[name].field(column).type}, not DECIMAL(18,2)"


# SPEC §4.2: the exclusions, in the order they are tested.
EXCLUSIONS = ("settled", "customer_blocked", "no_policy", "customer_final", "blocked", "disputed", "in_grace",
              "max_level")
LAST_LEVEL = 3  # both policies of CONFIG_TEMPLATE have three levels


def expected_exclusion(export: Export, row: dict[str, Any], customers: dict[str, dict[str, Any]],
                       final_customers: set[str]) -> str | None:
    """The first exclusion of SPEC §4.2 that applies to an item, worked out from the export alone."""
    cust = customers[row["customer_id"]]
    policy = {"B2B": "standard", "B2C": "consumer"}.get(cust["customer_class"], export.options["default_policy"])

    def until(value: str | None) -> bool:   # D <= grace_until
        return value is not None and AS_OF <= dt.date.fromisoformat(value)

    if Decimal(row["open_amount"]) == 0:
        return "settled"
    if cust["dunning_blocked"] == "true":
        return "customer_blocked"
    if policy is None:
        return "no_policy"
    if export.options["grouping"] == "customer" and row["customer_id"] in final_customers:
        return "customer_final"
    if row["blocked"] == "true":
        return "blocked"
    if row["disputed"] == "true" and not export.options["include_disputed"]:
        return "disputed"
    if until(row["grace_until"]) or until(cust["grace_until"]):
        return "in_grace"
    if row["dunning_level"] >= LAST_LEVEL:
        return "max_level"
    return None


def check_exclusions(export: Export, out: Outputs) -> None:
    """§4.2: an item's reason is the first exclusion that applies, in the SPEC's order (settled
    first; a settled item never makes its customer final); an item none applies to has another."""
    customers = {c["customer_id"]: c for c in export.customers}
    final_customers = {i["customer_id"] for i in export.items
                       if i["dunning_level"] >= LAST_LEVEL and Decimal(i["open_amount"]) != 0}
    decided = {d["doc_id"]: d for d in out.decision_rows}
    for row in export.items:
        expected, got = expected_exclusion(export, row, customers, final_customers), decided[row["doc_id"]]
        if expected is not None:
            assert (got["outcome"], got["reason"]) == ("excluded", expected), \
                f"§4.2 {row['doc_id']}: {got['outcome']}/{got['reason']}, expected excluded/{expected}"
        else:
            assert got["reason"] not in EXCLUSIONS, f"§4.2 {row['doc_id']}: {got['reason']!r} applies to none of its data"
        if Decimal(row["open_amount"]) == 0:
            assert got["letter_id"] is None and got["level_after"] == got["level_before"], \
                f"§4.2 settled {row['doc_id']} is in letter {got['letter_id']}"
    assert all(line["open_amount"] != 0 for line in out.line_rows if line["line_type"] != "interest"), \
        "§4.2: a settled item (open_amount 0) is listed in a letter"


CHECKS = (check_no_rejects, check_every_item_decided_once, check_amounts_per_currency, check_letter_totals,
          check_levels_update, check_fee_documents, check_outcomes, check_letters_and_items, check_decimals,
          check_exclusions)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(export=exports())
def test_spec_8_invariants_hold_for_generated_exports(export: Export) -> None:
    """SPEC §8.1-§8.5 plus the §4.12/§5 consistency rules, on one run per generated export.

    Every check runs even when an earlier one fails, so one example reports every broken rule.
    """
    out = run_export(export)
    failures = []
    for check in CHECKS:
        try:
            check(export, out)
        except AssertionError as exc:
            failures.append(f"{check.__name__}: {exc}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# §8.1/§8.2 in non-strict mode: bad rows go to rejected.parquet and every row is still accounted for.

# How a row is spoiled, and whether its currency and amount still parse afterwards.
SPOILERS = {
    "amount_not_a_number": (lambda row, other: {"open_amount": "12,5.00"}, False),
    "amount_too_many_decimals": (lambda row, other: {"open_amount": "10.005"}, False),
    "amount_null_word": (lambda row, other: {"open_amount": "N/A"}, False),
    "sign_contradicts_type": (lambda row, other: {"open_amount": str(-Decimal(row["open_amount"]))}, True),
    "unknown_doc_type": (lambda row, other: {"doc_type": "invoyce"}, True),
    "impossible_due_date": (lambda row, other: {"due_date": "2026-02-30"}, True),
    "unknown_customer": (lambda row, other: {"customer_id": "C99"}, True),
    "duplicate_doc_id": (lambda row, other: {"doc_id": other["doc_id"]}, True),
    "unknown_currency": (lambda row, other: {"currency": "EURO"}, False),
    "negative_level": (lambda row, other: {"dunning_level": "-1"}, True),
    "level_above_last": (lambda row, other: {"dunning_level": "4"}, True),
    "bad_flag": (lambda row, other: {"blocked": "maybe"}, True),
}


@st.composite
def spoiled_exports(draw) -> tuple[Export, set[int]]:
    """An export with 1-4 spoiled item rows and maybe a customer without a name; also the
    indexes of the item rows whose currency or amount no longer parses."""
    export = draw(exports())
    unparsed: set[int] = set()
    for index in draw(st.lists(st.integers(0, len(export.items) - 1), min_size=1, max_size=4, unique=True)):
        spoil, parses = SPOILERS[draw(st.sampled_from(sorted(SPOILERS)))]
        other = export.items[draw(st.integers(0, len(export.items) - 1))]
        export.items[index] = {**export.items[index], **spoil(export.items[index], other)}
        if not parses:
            unparsed.add(index)
    if draw(rarely):
        index = draw(st.integers(0, len(export.customers) - 1))
        export.customers[index] = {**export.customers[index], "name": draw(st.sampled_from(["", "NULL"]))}
    return export, unparsed


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=spoiled_exports())
def test_spec_8_1_and_8_2_hold_with_rejected_rows(case: tuple[Export, set[int]]) -> None:
    """§2.3 strict = false, §8.1, §8.2: each item row is either decided once or rejected, and per
    currency the input's open amounts equal decisions plus rejected."""
    export, unparsed = case
    out = run_export(export, strict=False)
    rejected_rows = {r["row_number"] for r in out.rejected_rows if r["source"] == "open_items"}
    decided = Counter(d["doc_id"] for d in out.decision_rows)
    assert all(n == 1 for n in decided.values()), f"§8.1: decided more than once: {decided}"
    for index, row in enumerate(export.items):
        number = index + 2  # CSV row: the header is row 1
        if number in rejected_rows:
            assert row["doc_id"] not in decided or any(
                other["doc_id"] == row["doc_id"] and k + 2 not in rejected_rows for k, other in enumerate(export.items)), \
                f"§8.1: row {number} ({row['doc_id']}) is both rejected and decided"
        else:
            assert row["doc_id"] in decided, f"§8.1: row {number} ({row['doc_id']}) is neither decided nor rejected"
    assert sum(decided.values()) + len(rejected_rows) == len(export.items), "§8.1: rows and decisions+rejected differ"
    assert out.run_json["rejected_rows"] == len(out.rejected_rows)

    given_sums: dict[str, Decimal] = defaultdict(Decimal)
    for index, row in enumerate(export.items):
        if index not in unparsed:
            given_sums[row["currency"]] += Decimal(row["open_amount"])
    accounted: dict[str, Decimal] = defaultdict(Decimal)
    for d in out.decision_rows:
        accounted[d["currency"]] += d["open_amount"]
    for r in out.rejected_rows:
        # a row whose currency or amount does not parse has no currency or no amount to add up
        if r["source"] == "open_items" and r["open_amount"] is not None and r["currency"] is not None:
            assert isinstance(r["open_amount"], Decimal)
            accounted[r["currency"]] += r["open_amount"]
    assert dict(accounted) == dict(given_sums), f"§8.2: decisions + rejected {dict(accounted)} != input {dict(given_sums)}"


# ---------------------------------------------------------------------------------------------
# §4.11: same inputs, config and D give byte-identical outputs (run.json's timings excepted).

def synthetic_export(folder: Path, n: int = 30_000) -> tuple[Path, Path, Path]:
    """A larger export written vectorised with polars: all doc types, two currencies, branches."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    customers = max(1, n // 15)
    i = pl.col("i")
    kind = i * 7 % 10  # 0..5 invoices, then debit memo, fee, credit memo, payment
    doc_type = (pl.when(kind <= 5).then(pl.lit("invoice")).when(kind == 6).then(pl.lit("debit_memo"))
                .when(kind == 7).then(pl.lit("fee")).when(kind == 8).then(pl.lit("credit_memo"))
                .otherwise(pl.lit("payment")))
    cents = i * 7919 % 400_000 + 1
    sign = pl.when(kind >= 8).then(-1).otherwise(1)
    past_due = i * 37 % 150 - 30
    items = pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).select(
        doc_id=pl.format("D{}", i.cast(pl.Utf8).str.zfill(7)),
        customer_id=pl.format("C{}", (i * 104_729 % customers).cast(pl.Utf8).str.zfill(5)),
        doc_type=doc_type,
        due_date=(pl.lit(AS_OF) - pl.duration(days=past_due)).dt.strftime("%Y-%m-%d"),
        currency=pl.when(i % 5 == 0).then(pl.lit("USD")).otherwise(pl.lit("EUR")),
        open_amount=(cents * sign).cast(pl.Decimal(18, 0)).cast(pl.Decimal(18, 2)) / 100,
        dunning_level=pl.when(kind >= 8).then(0).otherwise(i % 3),
        branch=pl.when(i % 3 == 0).then(pl.lit("NORTH")).when(i % 3 == 1).then(pl.lit("SOUTH")).otherwise(None),
    )
    items = items.with_columns(pl.col("open_amount").cast(pl.Decimal(18, 2)).cast(pl.Utf8))
    customer_rows = pl.DataFrame({"i": pl.int_range(0, customers, eager=True)}).select(
        customer_id=pl.format("C{}", i.cast(pl.Utf8).str.zfill(5)),
        name=pl.format("Customer {}", i),
        address=pl.format("{} Example Street", i + 1),
        customer_class=pl.when(i % 4 == 0).then(pl.lit("B2C")).otherwise(pl.lit("B2B")),
    )
    items.write_csv(folder / "open_items.csv")
    customer_rows.write_csv(folder / "customers.csv")
    (folder / "rates.csv").write_text(RATES_CSV, encoding="utf-8")
    options = {"grouping": "customer", "consolidate_branches": False, "include_not_due": True,
               "include_credits": True, "include_disputed": False, "standard_sequential": True,
               "consumer_sequential": False, "default_policy": "standard", "basis": "act/365",
               "calculate_to": "letter_date", "include_in_total": True}
    config = folder / "config.toml"
    config.write_text(Export(options, [], []).config, encoding="utf-8")
    return config, folder / "open_items.csv", folder / "customers.csv"


def demo_export(folder: Path) -> tuple[Path, Path, Path]:
    return (ROOT / "config" / "example.toml", ROOT / "fixtures" / "demo" / "open_items.csv",
            ROOT / "fixtures" / "demo" / "customers.csv")


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# the demo's C038 converts EUR into USD (SPEC §11.1): its rates come with it
@pytest.mark.parametrize("make_inputs, options", [(demo_export, {"rates": DEMO_RATES}), (synthetic_export, NO_PDF)],
                         ids=["demo-with-pdfs", "synthetic-30k"])
def test_same_inputs_give_byte_identical_outputs(tmp_path: Path, make_inputs, options) -> None:
    """§4.11: two runs of the same inputs write the same files, byte for byte, but for run.json's timings.

    The demo runs as `run` does by default (PDFs included where the engine renders them); the
    30k-item export skips PDFs and checks the data files at a size where DuckDB uses threads.
    """
    config, items, customers = make_inputs(tmp_path / "in")
    run(config, items, customers, AS_OF, tmp_path / "a", **options)
    run(config, items, customers, AS_OF, tmp_path / "b", **options)
    first, second = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert sorted(first) == sorted(second)
    assert "run.json" in first and "letters.parquet" in first
    differing = [name for name in first if name != "run.json" and first[name] != second[name]]
    assert not differing, f"§4.11: files differ between two runs of the same inputs: {differing}"
    manifests = [json.loads(files[("run.json")]) for files in (first, second)]
    for manifest in manifests:
        assert manifest.pop("timings_seconds")
    assert manifests[0] == manifests[1], "§4.11: run.json differs beyond timings_seconds"
