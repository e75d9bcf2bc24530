"""Figures that add up everywhere they are shown (issue 14): the summary `run` and `demo`
print, summary.html and the analyst view letters_by_level show every part of total due
(SPEC §4.8: overdue, credits, fees, interest when include_in_total; §9.2 compensation;
§9.6 a courtesy notice's current lines), and the parts of each row add up to its total.
Beside the total, what the letters show without demanding it: interest with
include_in_total = false, and not-yet-due items listed on reminders.

On the bundled demo (compensation and a courtesy notice) and on SMALL, a night small enough
to check by hand (run date 2026-11-24, 10 % a year act/365):
  C1  INV-1 1,000.00 30 days, level 1 -> 2: fee 5.00, interest 1000 x 30 x 10 / 36500 = 8.22,
      compensation 40.00; CRN-1 credit -100.00; INV-2 200.00 due in 3 days, listed as current
      total due 1000.00 - 100.00 + 5.00 + 8.22 + 40.00 = 953.22 (945.00 with interest outside)
  C2  INV-3 300.00 due in 2 days: a courtesy notice, total due 300.00
  C3  INV-4 50.00 10 days: level 1, total due 50.00
  C4  INV-5 400.00 50 days, level 2 -> 3, the final notice with a credit hold: fee 10.00,
      interest 400 x 50 x 10 / 36500 = 5.48, total due 415.48 (410.00 with interest outside)
  EUR: overdue 1,450.00, credits -100.00, fees 15.00, interest 13.70, compensation 40.00,
       notices 300.00 = total due 1,718.70 (1,705.00 and 13.70 interest outside the total)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import AS_OF, Outcome, customer, days_before, item, with_config

from dunning_batch.checks.reconcile import reconcile
from dunning_batch.checks.summary import write_summary
from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES
from dunning_batch.digest import sha256_of
from dunning_batch.run import run

D = Decimal
ROOT = Path(__file__).resolve().parent.parent

SMALL = with_config({
    "fixed_rate = 8.0": "fixed_rate = 10.0",
    "include_not_due = false": "include_not_due = true",
    "include_credits = false": "include_credits = true",
    'template = "second_reminder"': 'compensation = "eu"\n  template = "second_reminder"',
    "min_amount = { EUR = 5.00 }": "min_amount = { EUR = 5.00 }\npre_due_days = 5",
})
OUTSIDE = with_config({"include_in_total = true": "include_in_total = false"}, SMALL)
SMALL_ITEMS = [
    item("INV-1", 30, "1000.00", dunning_level=1),
    item("CRN-1", 5, "-100.00", doc_type="credit_memo"),
    item("INV-2", -3, "200.00"),
    item("INV-3", -2, "300.00", customer_id="C2"),
    item("INV-4", 10, "50.00", customer_id="C3"),
    item("INV-5", 50, "400.00", customer_id="C4", dunning_level=2, last_dunned_on=days_before(25)),
]
HOSTILE_NAME = "<script>alert(1)</script> Bauer & Söhne"
SMALL_CUSTOMERS = [customer("C1"), customer("C2"), customer("C3"), customer("C4", name=HOSTILE_NAME)]

# (title in the printout, column of letters_by_level): the parts of total due, then the total
PARTS = [("overdue", "overdue_total"), ("credits", "credit_total"), ("fees", "fees"),
         ("interest", "interest_in_total"), ("compensation", "compensation_total"), ("notices", "notice_total")]
# the EUR row of SMALL, by hand (module docstring): parts, total due, interest outside the total
SMALL_EUR = {True: (["1450.00", "-100.00", "15.00", "13.70", "40.00", "300.00"], "1718.70", "0.00"),
             False: (["1450.00", "-100.00", "15.00", "0.00", "40.00", "300.00"], "1705.00", "13.70")}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` as a user runs it: a process of its own in `cwd`, relative paths."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, check=False)


def write_small(folder: Path, config: str) -> None:
    """SMALL's config and exports in `folder`, as config.toml, open_items.csv and customers.csv."""
    from conftest import write_csv
    from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(config, encoding="utf-8")
    write_csv(folder / "open_items.csv", SMALL_ITEMS, OPEN_ITEM_COLUMNS)
    write_csv(folder / "customers.csv", SMALL_CUSTOMERS, CUSTOMER_COLUMNS)


@pytest.fixture(scope="module")
def demo_printed(tmp_path_factory) -> tuple[Path, str]:
    """`dunning-batch demo` run from a folder of its own: (the output folder, what it printed)."""
    cwd = tmp_path_factory.mktemp("figures")
    done = cli("demo", "--out", "demo-out", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd / "demo-out", done.stdout


@pytest.fixture(scope="module", params=[True, False], ids=["interest_in_total", "interest_outside_total"])
def small_printed(request, tmp_path_factory) -> tuple[Path, str, bool]:
    """SMALL run by `dunning-batch run` (no PDFs), with include_in_total true or false."""
    cwd = tmp_path_factory.mktemp("small")
    write_small(cwd / "in", SMALL if request.param else OUTSIDE)
    done = cli("run", "--config", "in/config.toml", "--open-items", "in/open_items.csv", "--customers",
               "in/customers.csv", "--as-of", AS_OF.isoformat(), "--out", "out", "--no-pdf", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd / "out", done.stdout, request.param


# ---- the printout --------------------------------------------------------------------------

def printed_totals(output: str) -> dict[str, dict[str, str]]:
    """The table 'totals per currency' of the printout: currency -> column title -> figure."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("totals per currency"))
    header = re.split(r"\s{2,}", lines[start + 1].strip())
    assert header[:2] == ["currency", "letters"], f"no header line under 'totals per currency': {lines[start + 1]!r}"
    rows = {}
    for line in lines[start + 2:]:
        if not re.match(r"  [A-Z]{3} ", line):
            break
        values = line.split()
        assert len(values) == len(header), line
        rows[values[0]] = dict(zip(header, values))
    return rows


def assert_printed_parts_add_up(rows: dict[str, dict[str, str]]) -> None:
    assert rows
    for currency, row in rows.items():
        missing = [title for title, _ in PARTS if title not in row]
        assert not missing, f"{currency}: no column for {missing} in the printout"
        parts = sum(D(row[title]) for title, _ in PARTS)
        assert parts == D(row["total due"]), f"{currency}: parts {parts} != total due {row['total due']}"


def test_demo_printout_parts_add_up_to_total_due(demo_printed):
    _, output = demo_printed
    rows = printed_totals(output)
    assert_printed_parts_add_up(rows)
    eur = rows["EUR"]   # compensation 120.00 (C031, C033) and C036's courtesy notice 750.00 are parts
    assert [eur[title] for title, _ in PARTS] == ["82812.70", "-2075.00", "125.50", "577.47", "120.00", "750.00"]
    assert eur["total due"] == "82310.67" and eur["letters"] == "19"
    assert [rows["GBP"][t] for t in ("overdue", "fees", "interest", "compensation", "total due")] == [
        "3300.00", "20.00", "26.19", "140.00", "3486.19"]
    assert "total due = overdue + credits + fees + interest + compensation + notices" in output


def test_small_printout_parts_add_up_to_total_due(small_printed):
    _, output, in_total = small_printed
    rows = printed_totals(output)
    assert_printed_parts_add_up(rows)
    parts, total, outside = SMALL_EUR[in_total]
    assert [rows["EUR"][title] for title, _ in PARTS] == parts
    assert rows["EUR"]["total due"] == total
    note = "EUR: also 13.70 interest shown on the letters, not in total due (include_in_total = false)"
    assert (note in output) == (not in_total)


# ---- letters_by_level ----------------------------------------------------------------------

def by_level(folder: Path) -> list[dict]:
    return Outcome(folder)._rows("SELECT * FROM letters_by_level ORDER BY policy, level, currency")


def assert_rows_add_up(rows: list[dict]) -> None:
    assert rows
    for row in rows:
        parts = sum(row[column] for _, column in PARTS)
        assert parts == row["total_due"], f"{row}: parts {parts} != total_due {row['total_due']}"


def test_demo_letters_by_level_rows_add_up(demo_printed):
    folder, _ = demo_printed
    rows = by_level(folder)
    assert_rows_add_up(rows)
    notice = next(r for r in rows if r["level"] == 0)   # C036's courtesy notice: its current lines are due
    assert (notice["policy"], notice["notice_total"], notice["total_due"]) == ("de_b2b", D("750.00"), D("750.00"))
    uk = next(r for r in rows if r["policy"] == "uk_b2b")
    assert (uk["compensation_total"], uk["total_due"]) == (D("140.00"), D("3486.19"))


def test_small_letters_by_level_rows_add_up(small_printed):
    folder, _, in_total = small_printed
    rows = by_level(folder)
    assert_rows_add_up(rows)
    figures = {r["level"]: (r["overdue_total"], r["credit_total"], r["fees"], r["interest_in_total"],
                            r["compensation_total"], r["notice_total"], r["total_due"], r["interest_not_in_total"],
                            r["current_not_in_total"]) for r in rows}
    interest_2, interest_3 = (D("8.22"), D("5.48")) if in_total else (D("0.00"), D("0.00"))
    assert figures == {
        0: (D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("300.00"), D("300.00"), D("0.00"), D("0.00")),
        1: (D("50.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("50.00"), D("0.00"), D("0.00")),
        2: (D("1000.00"), D("-100.00"), D("5.00"), interest_2, D("40.00"), D("0.00"), D("945.00") + interest_2,
            D("8.22") - interest_2, D("200.00")),
        3: (D("400.00"), D("0.00"), D("10.00"), interest_3, D("0.00"), D("0.00"), D("410.00") + interest_3,
            D("5.48") - interest_3, D("0.00")),
    }


def test_letters_by_level_opens_on_a_folder_without_compensation(scenario):
    """A config without §9.2 writes no compensation_total: the views show it NULL, the sums as 0."""
    outcome = scenario.run([item("INV-1", 10, "100.00"), item("INV-2", 30, "250.00", customer_id="C2",
                                                               dunning_level=1)],
                           [customer("C1"), customer("C2")])
    assert "compensation_total" not in pq.read_schema(outcome.out / "letters.parquet").names
    assert outcome.letters[0]["compensation_total"] is None
    rows = by_level(outcome.out)
    assert_rows_add_up(rows)
    # C2: 250.00 + fee 5.00 + interest 250 x 30 x 8 / 36500 = 1.64
    assert [(r["level"], r["compensation_total"], r["total_due"]) for r in rows] == [
        (1, D("0.00"), D("100.00")), (2, D("0.00"), D("256.64"))]


# ---- summary.html ----------------------------------------------------------------------------

class Tables(HTMLParser):
    """Every <table> of a page: (its class, its rows); a row is a list of cells (tag, class, text, href)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: list[tuple[str, list[list[tuple[str, str, str, str | None]]]]] = []
        self._cell: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append((attrs.get("class") or "", []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = [tag, attrs.get("class") or "", "", None]
        elif tag == "a" and self._cell is not None:
            self._cell[3] = attrs.get("href")
        elif tag == "br" and self._cell is not None:
            self._cell[2] += "\n"

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append(tuple(self._cell))
            self._cell = None

    def body(self, kind: str) -> list[list[str]]:
        """The texts of the data rows (not the header) of the tables of class `kind`."""
        return [[text for _, _, text, _ in row] for cls, rows in self.tables if cls == kind
                for row in rows if row and row[0][0] == "td"]

    def links(self, kind: str) -> list[list[str | None]]:
        return [[href for _, _, _, href in row] for cls, rows in self.tables if cls == kind
                for row in rows if row and row[0][0] == "td"]


def summary_tables(folder: Path) -> Tables:
    return Tables((folder / "summary.html").read_text(encoding="utf-8"))


def amount(text: str) -> Decimal:
    return D(text.replace(",", ""))


def summed_rows(tables: Tables) -> list[tuple[list[str], Decimal, Decimal, int]]:
    """Each data row of summary.html showing a total due: (its labels, sum of its parts, the total, parts)."""
    found = []
    for _, rows in tables.tables:
        for row in rows:
            totals = [text for tag, cls, text, _ in row if tag == "td" and "total" in cls.split()]
            if totals:
                parts = [amount(text) for tag, cls, text, _ in row if tag == "td" and "part" in cls.split()]
                labels = [text for tag, cls, text, _ in row if tag == "td" and not cls]
                found.append((labels, sum(parts, D(0)), amount(totals[0]), len(parts)))
    return found


def assert_summary_adds_up(folder: Path, expected_rows: int) -> list[tuple]:
    rows = summed_rows(summary_tables(folder))
    assert len(rows) == expected_rows, f"{len(rows)} rows with a total due and its parts in summary.html"
    for labels, parts, total, n in rows:
        assert n == len(PARTS), f"{labels}: {n} parts shown, not {len(PARTS)}"
        assert parts == total, f"{labels}: parts {parts} != total due {total}"
    return rows


def test_demo_summary_rows_add_up(demo_printed):
    folder, _ = demo_printed
    rows = assert_summary_adds_up(folder, 4 + 15)   # 4 currencies, 15 (currency, policy, level) rows
    assert (["EUR"], D("82310.67"), D("82310.67"), 6) in rows


def test_small_summary_rows_add_up(small_printed):
    folder, _, in_total = small_printed
    rows = assert_summary_adds_up(folder, 1 + 4)
    parts, total, outside = SMALL_EUR[in_total]
    html = (folder / "summary.html").read_text(encoding="utf-8")
    cells = "".join(f'<td class="num part">{amount(p):,f}</td>' for p in parts)
    assert f'{cells}<td class="num total">{amount(total):,f}</td><td class="num aside">{outside}</td>' \
           f'<td class="num aside">200.00</td>' in html
    assert (["EUR"], amount(total), amount(total), 6) in rows


def section(folder: Path, heading: str) -> str:
    html = (folder / "summary.html").read_text(encoding="utf-8")
    start = html.index(f"<h2>{heading}</h2>")
    return html[start:html.find("<h2>", start + 1)]


def letters_of(folder: Path) -> dict[str, dict]:
    return {x["customer_id"] + " " + x["currency"]: x for x in Outcome(folder).letters}


def test_summary_lists_final_notices_and_credit_holds_with_links_to_their_pdfs(demo_printed, tmp_path):
    folder, _ = demo_printed
    moved = tmp_path / "moved"     # relative links: the folder may be moved or mailed as a whole
    shutil.copytree(folder, moved)
    tables = summary_tables(moved)
    got = [(r[0], r[2], r[3], r[4], r[6]) for r in tables.body("finals")]
    letters = letters_of(moved)
    c033 = letters["C033 EUR"]["letter_id"]
    assert got[0] == ("C033", "25,208.82", "EUR", c033, "final notice; credit hold; payment term IMMEDIATE")
    assert [g[0] for g in got] == ["C033", "C034", "C004", "C030", "C015", "C012", "C037"]  # by currency, amount
    assert ("C037", "3,486.19", "GBP", letters["C037 GBP"]["letter_id"], "final notice") in got
    for (_, _, _, letter, _), links in zip(got, tables.links("finals")):
        assert links[4] == f"pdf/{letter}.pdf" and (moved / links[4]).is_file()
    assert "Hartley &amp; Sons Ltd" in section(moved, "Final notices and credit holds")   # C004, escaped


def test_summary_shows_the_largest_final_notices_per_currency_of_a_big_night(demo_printed, tmp_path, monkeypatch):
    folder = tmp_path / "copy"
    shutil.copytree(demo_printed[0], folder)
    monkeypatch.setattr("dunning_batch.checks.summary.FINAL_ROWS", 2)
    write_summary(folder)
    assert [(r[0], r[2], r[3]) for r in summary_tables(folder).body("finals")] == [
        ("C033", "25,208.82", "EUR"), ("C034", "6,141.41", "EUR"), ("C037", "3,486.19", "GBP")]
    assert "The 2 largest per currency are shown;\nthe other 4 are in letters.parquet" in \
        section(folder, "Final notices and credit holds")


def test_summary_shows_amounts_per_exclusion_reason_in_words(demo_printed):
    folder, _ = demo_printed
    rows = {r[0]: (r[1], r[2], r[3]) for r in summary_tables(folder).body("exclusions")}
    assert rows["customer_final"] == ("the customer has had its final reminder; collection has taken over",
                                      "6", "8,728.00 EUR (6)")
    assert rows["in_grace"] == ("in grace (item or customer grace date not passed)", "6",
                                "3,550.00 EUR (2)\n8,220.00 USD (4)")
    assert rows["customer_in_credit"][2] == "-74.50 EUR (3)"
    # every amount is the open amount of the items excluded for that reason
    [(total,)] = duckdb.connect().execute(
        "SELECT sum(open_amount) FROM read_parquet($p) WHERE reason = 'disputed' AND outcome = 'excluded'",
        {"p": str(folder / "decisions.parquet")}).fetchall()
    assert rows["disputed"][2] == f"{total:,f} PLN (3)"


def test_summary_shows_letters_by_channel_with_amounts(demo_printed):
    folder, _ = demo_printed
    rows = {r[0]: (r[1], r[2]) for r in summary_tables(folder).body("channels")}
    assert rows == {
        "email (by email)": ("19", "56,210.71 EUR (13)\n3,486.19 GBP (1)\n17,164.28 PLN (3)\n7,461.13 USD (2)"),
        "print (on paper)": ("6", "13,043.86 EUR (4)\n6,695.00 PLN (1)\n11,652.78 USD (1)"),
        "both (by email and on paper)": ("3", "13,056.10 EUR (2)\n2,475.00 USD (1)"),
    }
    # the channels' EUR add up to the EUR total due: 56,210.71 + 13,043.86 + 13,056.10 = 82,310.67
    text = section(folder, "Letters by channel")
    assert '<a href="outbox/">outbox/</a>' in text and '<a href="print/print_batch.pdf">' in text
    assert (folder / "print" / "print_batch.pdf").is_file() and (folder / "outbox").is_dir()


def test_summary_escapes_customer_text_and_links_nothing_without_pdfs(small_printed):
    folder, _, in_total = small_printed
    html = (folder / "summary.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Bauer &amp; Söhne" in html
    assert "<script" not in html.lower()
    tables = summary_tables(folder)
    total = "415.48" if in_total else "410.00"
    assert [(r[0], r[1], r[2], r[6]) for r in tables.body("finals")] == [
        ("C4", HOSTILE_NAME, total, "final notice; credit hold; payment term IMMEDIATE")]
    assert tables.links("finals") == [[None] * 7]   # --no-pdf: no PDF to link to
    assert "No PDFs were rendered in this run" in section(folder, "Letters by channel")


def test_summary_is_byte_identical_when_run_again_elsewhere(tmp_path):
    outs = []
    for name in ("a", "b/c"):
        out = tmp_path / name / "out"
        run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, out, rates=DEMO_RATES, pdf=False)
        outs.append((out / "summary.html").read_bytes())
    assert outs[0] == outs[1]


# ---- reconcile ---------------------------------------------------------------------------------

def test_small_night_reconciles_with_interest_in_or_outside_the_total(small_printed):
    folder, _, _ = small_printed
    failed = [c.line() for c in reconcile(folder) if not c.ok]
    assert not failed, failed
    [summary] = [c for c in reconcile(folder) if c.name == "3 summary totals"]
    assert summary.detail.startswith("13 rows shown; 0 whose parts")   # 4 letters + 4 levels + EUR + 4 levels


def test_interest_forged_into_the_total_fails_summary_totals(scenario):
    """include_in_total = false: C1's letter forged to demand its 8.22 interest, run.json to match.
    Check 3 finds the letter; check 3 summary totals finds the split the summaries show wrong."""
    forged = scenario.run(SMALL_ITEMS, SMALL_CUSTOMERS, config=OUTSIDE).out
    assert all(c.ok for c in reconcile(forged))
    con = duckdb.connect()
    path = str(forged / "letters.parquet")
    con.execute("CREATE TABLE t AS SELECT * REPLACE (CASE WHEN customer_id = 'C1' THEN total_due + interest_total "
                "ELSE total_due END AS total_due) FROM read_parquet($p)", {"p": path})
    con.execute("COPY t TO $p (FORMAT parquet)", {"p": path})
    manifest = json.loads((forged / "run.json").read_text())
    manifest["outputs"]["letters.parquet"]["sha256"] = sha256_of(forged / "letters.parquet")
    eur = manifest["totals_per_currency"]["EUR"]
    eur.update(total_due="1713.22", interest_in_total="8.22", interest_not_in_total="5.48")
    (forged / "run.json").write_text(json.dumps(manifest))
    status = {c.name: c for c in reconcile(forged)}
    assert not status["3 letter totals"].ok and not status["3 summary totals"].ok
    assert "interest_in_total 8.22 <> letters 0.00" in status["3 summary totals"].detail
    assert status["6 files"].ok
