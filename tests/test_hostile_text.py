"""Text from the exports that another program would run (issue 15): ids that a spreadsheet
opening the ERP's CSVs takes for formulas, and control characters that a terminal takes for
commands when `query`, `explain` or an error line prints them.

- CSVs (levels_update, customer_actions, fee_documents, the documents of SPEC §9,
  payments_charged, and void's levels_restore / fee_reversals): a text cell that starts with
  = + - @ tab CR (OWASP) or ' is written with a ' before it; numbers (-5.00) are not; the
  Parquet files and the folder's views hold the value as it is.
- The terminal: ESC, other C0/C1 controls, line breaks and bidi overrides are printed as
  escapes (\\x1b, \\n, \\u202e) by `query` (table, CSV, JSON), `explain` and error lines.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import AS_OF, SPEC_CONFIG, Outcome, customer, days_before, item, with_config, write_csv
from dunning_batch.checks.reconcile import reconcile
from dunning_batch.checks.void import void_letters
from dunning_batch.config import PAYMENT_COLUMNS
from dunning_batch.run import run

ROOT = Path(__file__).resolve().parent.parent
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Level 2 with every money rule that writes a CSV of its own (SPEC §9.2, §9.4, §9.5).
ALL_DOCUMENTS = with_config({
    '  fee = { EUR = 5.00 }\n  interest = true\n  template = "second_reminder"':
    '  fee = { EUR = 5.00 }\n  interest = true\n  compensation = "eu"\n  post_interest = true\n'
    '  late_payment_interest = true\n  template = "second_reminder"'})


def csv_cells(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def assert_no_formula_cells(folder: Path) -> list[Path]:
    """No cell of any CSV in `folder` starts like a formula, unless it is a number."""
    files = sorted(folder.rglob("*.csv"))
    for path in files:
        for row in csv_cells(path):
            for column, cell in row.items():
                assert not cell.startswith(FORMULA_STARTS) or is_number(cell), f"{path.name} {column}: {cell!r}"
    return files


def formula_night(scenario) -> Outcome:
    """Customer '=1+1' with document '-2+3' (level 1 -> 2: fee, compensation, posted interest)
    and a late payment '@pay'; customer "@cmd" with document '+SUM(A1)' (2 -> 3: credit hold)."""
    config_path, items_path, customers_path = scenario.files(
        [item("-2+3", 30, "1500.00", customer_id="=1+1", dunning_level=1, last_dunned_on=days_before(20)),
         item("+SUM(A1)", 60, "900.00", customer_id="@cmd", dunning_level=2, last_dunned_on=days_before(30))],
        [customer("=1+1"), customer("@cmd")], config=ALL_DOCUMENTS)
    payments = write_csv(config_path.parent / "payments.csv",
                         [{"payment_id": "@pay", "customer_id": "=1+1", "doc_id": "'old", "currency": "EUR",
                           "due_date": days_before(30), "paid_on": days_before(20), "amount": "2000.00"}],
                         PAYMENT_COLUMNS)
    out = scenario.tmp_path / "out"
    run(config_path, items_path, customers_path, AS_OF, out, pdf=False, payments=payments)
    return Outcome(out)


# ------------------------------------------------------------------ item 12: CSV injection

def test_ids_that_look_like_formulas_are_written_as_text_in_every_csv(scenario):
    outcome = formula_night(scenario)
    out = outcome.out
    files = {p.name for p in assert_no_formula_cells(out)}
    assert {"levels_update.csv", "customer_actions.csv", "fee_documents.csv", "compensation_documents.csv",
            "interest_documents.csv", "payments_charged.csv"} <= files
    levels = {r["doc_id"]: r for r in csv_cells(out / "levels_update.csv")}
    assert set(levels) == {"'-2+3", "'+SUM(A1)"}
    assert levels["'-2+3"]["customer_id"] == "'=1+1" and levels["'+SUM(A1)"]["customer_id"] == "'@cmd"
    assert levels["'-2+3"]["level_after"] == "2" and levels["'-2+3"]["letter_id"].startswith("DL-")
    [hold] = [r for r in csv_cells(out / "customer_actions.csv") if r["action"] == "credit_hold"]
    assert hold["customer_id"] == "'@cmd"
    fees = {r["customer_id"]: r["amount"] for r in csv_cells(out / "fee_documents.csv")}
    assert fees == {"'=1+1": "5.00", "'@cmd": "10.00"}
    [charged] = csv_cells(out / "payments_charged.csv")
    assert charged["payment_id"] == "'@pay" and is_number(charged["interest_amount"])
    [compensation] = csv_cells(out / "compensation_documents.csv")
    assert compensation["customer_id"] == "'=1+1" and compensation["amount"] == "40.00"
    [interest] = csv_cells(out / "interest_documents.csv")
    assert interest["customer_id"] == "'=1+1"
    # the Parquet twin and the views keep the value itself
    assert {r["doc_id"] for r in pq.read_table(out / "levels_update.parquet").to_pylist()} == {"-2+3", "+SUM(A1)"}
    assert {r["customer_id"] for r in outcome.fees} == {"=1+1", "@cmd"}
    assert {r["customer_id"] for r in outcome.actions} == {"@cmd"}
    assert all(c.ok for c in reconcile(out)), [c.line() for c in reconcile(out) if not c.ok]


def test_query_guards_formula_cells_in_its_csv_and_keeps_numbers(scenario):
    """`query --format csv` wrote '=1+1' and '-2+3' as they are, the one CSV a spreadsheet
    could run; JSON, for scripts, keeps the values."""
    out = formula_night(scenario).out
    sql = "SELECT doc_id, customer_id, level_after, -1 AS minus_one FROM levels_update ORDER BY doc_id"
    as_csv = cli(out.parent, "query", out.name, sql, "--format", "csv")
    as_json = cli(out.parent, "query", out.name, sql, "--format", "json")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines() == ["doc_id,customer_id,level_after,minus_one", "'+SUM(A1),'@cmd,3,-1",
                                          "'-2+3,'=1+1,2,-1"]
    assert [r["doc_id"] for r in json.loads(as_json.stdout)] == ["+SUM(A1)", "-2+3"]


def test_query_guards_a_column_header_that_starts_like_a_formula(scenario):
    """The analyst's SQL names the columns: a header "=HYPERLINK(...)" went into the CSV as it is."""
    out = formula_night(scenario).out
    sql = 'SELECT doc_id AS "=HYPERLINK(1)", level_after AS "@x" FROM levels_update ORDER BY doc_id LIMIT 1'
    as_csv = cli(out.parent, "query", out.name, sql, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines() == ["'=HYPERLINK(1),'@x", "'+SUM(A1),3"]


def test_a_void_writes_its_csvs_the_same_way_and_a_negative_amount_stays_a_number(scenario, tmp_path):
    outcome = formula_night(scenario)
    [letter] = [x for x in outcome.letters if x["customer_id"] == "=1+1"]
    record = void_letters(outcome.out, [letter["letter_id"]], tmp_path / "void", as_of=AS_OF)
    folder = Path(record["folder"])
    assert_no_formula_cells(folder)
    [restore] = csv_cells(folder / "levels_restore.csv")
    assert (restore["doc_id"], restore["customer_id"], restore["level_after"]) == ("'-2+3", "'=1+1", "1")
    reversals = {r["fee_doc_id"]: r for r in csv_cells(folder / "fee_reversals.csv")}
    fee = reversals[f"REV-FEE-{letter['letter_id']}"]
    assert (fee["customer_id"], fee["amount"]) == ("'=1+1", "-5.00")  # a number: no ' before it


def test_a_text_cell_that_starts_with_a_quote_gets_one_more_so_the_value_reads_back(scenario):
    outcome = scenario.run([item("'quoted", 30, customer_id="'C1")], [customer("'C1")])
    [row] = csv_cells(outcome.out / "levels_update.csv")
    assert (row["doc_id"], row["customer_id"]) == ("''quoted", "''C1")
    [level] = outcome.levels_update
    assert (level["doc_id"], level["customer_id"]) == ("'quoted", "'C1")


# ------------------------------------------------------- item 13: escapes on the terminal

ESC = "\x1b"


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` as a user runs it: a process in `folder`, paths relative to it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=folder, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300)


def hostile_night(tmp_path: Path) -> Path:
    """A non-strict night in tmp_path/out: a document id with a terminal escape (rejected, kept
    as exported in rejected.parquet) and a customer whose name holds a bidi override (an id may
    not: test_an_id_with_an_invisible_format_character_is_refused)."""
    (tmp_path / "config.toml").write_text(SPEC_CONFIG.replace("strict = true", "strict = false"), encoding="utf-8")
    write_csv(tmp_path / "open_items.csv", [item(f"INV-1{ESC}[2J", 30), item("INV-2", 30, customer_id="C2")],
              tuple(item("x", 0)))
    write_csv(tmp_path / "customers.csv", [customer("C1"), customer("C2", name="\u202eevil\u202c Ltd")],
              ("customer_id", "name", "address"))
    result = cli(tmp_path, "run", "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
                 "customers.csv", "--as-of", AS_OF.isoformat(), "--out", "out", "--no-pdf")
    assert result.returncode == 0, result.stderr
    return tmp_path / "out"


def test_query_prints_control_characters_of_the_data_escaped(tmp_path):
    hostile_night(tmp_path)
    names = cli(tmp_path, "query", "out", "SELECT customer_id, name FROM recipients", "--format", "csv")
    assert names.returncode == 0, names.stderr
    assert "\u202e" not in names.stdout and "C2,\\u202eevil\\u202c Ltd" in names.stdout
    table = cli(tmp_path, "query", "out", "SELECT row_number, reason FROM rejected")
    assert table.returncode == 0, table.stderr
    assert ESC not in table.stdout and "INV-1\\x1b[2J" in table.stdout
    as_json = cli(tmp_path, "query", "out", "SELECT customer_id, name FROM recipients", "--format", "json")
    assert "\u202e" not in as_json.stdout
    assert json.loads(as_json.stdout) == [{"customer_id": "C2", "name": "\u202eevil\u202c Ltd"}]


def test_explain_prints_control_characters_of_the_data_escaped(tmp_path):
    hostile_night(tmp_path)
    result = cli(tmp_path, "explain", "out", f"INV-1{ESC}[2J")  # the rejected item: named, escaped
    assert result.returncode == 2 and ESC not in result.stderr
    assert result.stderr.startswith("out: no item 'INV-1\\x1b[2J' in decisions.parquet"), result.stderr


def test_error_lines_print_control_characters_of_the_data_escaped(tmp_path):
    (tmp_path / "config.toml").write_text(SPEC_CONFIG, encoding="utf-8")
    write_csv(tmp_path / "open_items.csv", [item("INV-1", 30, customer_id=f"C{ESC}]0;owned\x07")],
              tuple(item("x", 0)))
    write_csv(tmp_path / "customers.csv", [customer("C1")], ("customer_id", "name", "address"))
    result = cli(tmp_path, "validate", "--config", "config.toml", "--open-items", "open_items.csv",
                 "--customers", "customers.csv")
    assert result.returncode == 2, result.stderr
    assert ESC not in result.stderr and "\x07" not in result.stderr
    assert "open_items.csv:2: customer_id: customer 'C\\x1b]0;owned\\x07' is not in the customers file" \
        in result.stderr.splitlines()


@pytest.mark.parametrize("invisible", ["\ufeff", "\u200b", "\u202e"])
def test_an_id_with_an_invisible_format_character_is_refused(tmp_path, invisible):
    """A byte order mark before a record's 'INV-1' made a second document beside 'INV-1', both
    decided, and put the BOM into levels_update.csv, where the ERP matches no document."""
    (tmp_path / "config.toml").write_text(SPEC_CONFIG, encoding="utf-8")
    write_csv(tmp_path / "open_items.csv", [item("INV-1", 30), item(f"{invisible}INV-1", 30)], tuple(item("x", 0)))
    write_csv(tmp_path / "customers.csv", [customer("C1")], ("customer_id", "name", "address"))
    result = cli(tmp_path, "validate", "--config", "config.toml", "--open-items", "open_items.csv",
                 "--customers", "customers.csv")
    code = f"{ord(invisible):04X}"
    assert (result.returncode, result.stderr.splitlines()) == (2, [
        f"open_items.csv:3: doc_id: '\\u{code.lower()}INV-1' holds the invisible format character U+{code}; remove it "
        f"from the export"])


def test_a_branch_with_an_invisible_format_character_is_refused(tmp_path):
    """'NOR\u200bTH' beside 'NORTH' gave one customer two letters when branches are not consolidated."""
    (tmp_path / "config.toml").write_text(SPEC_CONFIG, encoding="utf-8")
    write_csv(tmp_path / "open_items.csv", [item("INV-1", 30, branch="NORTH"), item("INV-2", 30, branch="NOR\u200bTH")],
              (*tuple(item("x", 0)), "branch"))
    write_csv(tmp_path / "customers.csv", [customer("C1")], ("customer_id", "name", "address"))
    result = cli(tmp_path, "validate", "--config", "config.toml", "--open-items", "open_items.csv",
                 "--customers", "customers.csv")
    assert (result.returncode, result.stderr.splitlines()) == (2, [
        "open_items.csv:3: branch: 'NOR\\u200bTH' holds the invisible format character U+200B; remove it from the export"])
