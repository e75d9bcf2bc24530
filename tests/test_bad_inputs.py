"""Bad input rows through the command line (SPEC §2.3, §7).

Strict mode (the default): every problem is one line `file:row: column: what is wrong` on
stderr, at most 50 of them then a count, exit code 2, no traceback, and nothing written —
neither the output folder nor a hidden partial folder beside it. Non-strict mode: the bad
rows go to rejected.parquet and the rest runs.

CSV rows count the header as row 1, so the first data row is row 2.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from conftest import AS_OF, SPEC_CONFIG, customer, item, with_config
from dunning_batch.cli import main

# The SPEC config with every money table also naming JPY (0 decimals), so JPY items validate.
JPY_CONFIG = with_config({"{ EUR = ": "{ JPY = 0, EUR = "})


# ---------------------------------------------------------------------------- helpers


def invoke(command: str, paths: tuple[Path, Path, Path], out: Path | None = None, *extra: str) -> Result:
    config_path, items_path, customers_path = paths
    args = [command, "--config", str(config_path), "--open-items", str(items_path),
            "--customers", str(customers_path)]
    if command == "run":
        args += ["--as-of", AS_OF.isoformat(), "--out", str(out)]
    return CliRunner().invoke(main, args + list(extra))


def run_cli(scenario, items, customers=None, config=SPEC_CONFIG, *extra: str):
    paths = scenario.files(items, customers, config)
    out = scenario.tmp_path / "out"
    return invoke("run", paths, out, *extra), paths, out


def assert_clean_exit(result: Result, code: int) -> None:
    """The exit code, reached by sys.exit, with no traceback anywhere in the output."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


def stderr_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def problem_line(result: Result, path: Path, row: int, column: str) -> str:
    """The one line of the form `path:row: column: what is wrong`."""
    prefix = f"{path}:{row}: {column}: "
    found = [line for line in stderr_lines(result) if line.startswith(prefix)]
    assert found, f"no line starting with {prefix!r} in:\n{result.stderr}"
    what = found[0][len(prefix):]
    assert what.strip(), f"the line says nothing about what is wrong: {found[0]!r}"
    return found[0]


def assert_nothing_written(scenario, out: Path) -> None:
    """No output folder and no hidden temporary folder beside it; only the inputs remain."""
    assert not out.exists()
    left = sorted(p.name for p in scenario.tmp_path.iterdir())
    assert all(name.startswith("in") for name in left), left
    assert not any(name.startswith(".") or "partial" in name for name in left), left


def assert_rejected(scenario, items, customers=None, config=SPEC_CONFIG, *, row: int, column: str,
                    file: str = "items") -> str:
    """Strict run: exit 2, one line naming file, row and column, nothing written."""
    result, paths, out = run_cli(scenario, items, customers, config)
    assert_clean_exit(result, 2)
    path = paths[1] if file == "items" else paths[2]
    line = problem_line(result, path, row, column)
    assert_nothing_written(scenario, out)
    return line


def drop_column(path: Path, column: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = [n for n in rows[0] if n != column]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for r in rows:
            writer.writerow({n: r[n] for n in names})


GOOD = item("OK-1", 8, "250.00")  # a valid item that precedes the bad one: the bad row is row 3


# ------------------------------------------------------------- one test per problem of §2.3


@pytest.mark.parametrize("column", ["doc_id", "customer_id", "currency", "open_amount"])
def test_missing_required_column_names_the_header(scenario, column):
    config_path, items_path, customers_path = scenario.files([GOOD])
    drop_column(items_path, column)
    out = scenario.tmp_path / "out"
    result = invoke("run", (config_path, items_path, customers_path), out)
    assert_clean_exit(result, 2)
    [line] = [ln for ln in stderr_lines(result) if ln.startswith(f"{items_path}:1: ")]
    assert column in line
    assert_nothing_written(scenario, out)


def test_missing_required_customer_column(scenario):
    config_path, items_path, customers_path = scenario.files([GOOD])
    drop_column(customers_path, "name")
    out = scenario.tmp_path / "out"
    result = invoke("run", (config_path, items_path, customers_path), out)
    assert_clean_exit(result, 2)
    [line] = [ln for ln in stderr_lines(result) if ln.startswith(f"{customers_path}:1: ")]
    assert "name" in line
    assert_nothing_written(scenario, out)


def test_unparseable_date(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, due_date="24/12/2026")], row=3, column="due_date")
    assert "24/12/2026" in line


def test_unparseable_amount(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, "12,50 EUR")], row=3, column="open_amount")
    assert "12,50 EUR" in line


def test_duplicate_doc_id(scenario):
    items = [GOOD, item("DUP-1", 8), item("DUP-1", 9, "80.00")]
    result, paths, out = run_cli(scenario, items)
    assert_clean_exit(result, 2)
    lines = [ln for ln in stderr_lines(result)
             if ln.startswith((f"{paths[1]}:3: doc_id: ", f"{paths[1]}:4: doc_id: "))]
    assert lines, result.stderr
    assert "DUP-1" in lines[0]
    assert not any(ln.startswith(f"{paths[1]}:2: ") for ln in stderr_lines(result))  # OK-1 is fine
    assert_nothing_written(scenario, out)


def test_unknown_doc_type(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, doc_type="bill")], row=3, column="doc_type")
    assert "bill" in line


@pytest.mark.parametrize("doc_type, amount", [("invoice", "-100.00"), ("credit_memo", "100.00"),
                                              ("debit_memo", "-5.00"), ("payment", "5.00")])
def test_sign_contradicting_the_type(scenario, doc_type, amount):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, amount, doc_type=doc_type)],
                           row=3, column="open_amount")
    assert doc_type in line


def test_negative_level(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, dunning_level=-1)], row=3, column="dunning_level")
    assert "-1" in line


def test_level_above_the_policys_last_level(scenario):
    # The SPEC config's policy has three levels: 3 is allowed, 4 is not.
    line = assert_rejected(scenario, [item("OK-3", 60, dunning_level=3), item("BAD-1", 8, dunning_level=4)],
                           row=3, column="dunning_level")
    assert "4" in line


def test_unknown_currency_code(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, currency="EUX")], row=3, column="currency")
    assert "EUX" in line


def test_currency_without_min_amount_in_config(scenario):
    # Only the policy's min_amount names a currency; fees and interest minimums are left out,
    # so the one missing table is min_amount: a USD item cannot be checked against it (§3.2).
    config = with_config({
        'fee = { EUR = 0.00 }\n': "", 'fee = { EUR = 5.00 }\n': "", 'fee = { EUR = 10.00 }\n': "",
        "min_amount = { EUR = 1.00 }\n": "",
    })
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, currency="USD")], config=config,
                           row=3, column="currency")
    assert "USD" in line and "min_amount" in line


def test_currency_without_fee_in_config(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, currency="USD")], row=3, column="currency")
    assert "USD" in line


def test_unknown_customer(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, customer_id="C9")], row=3, column="customer_id")
    assert "C9" in line


def test_unknown_policy(scenario):
    customers = [customer("C1"), customer("C2", policy="gold")]
    line = assert_rejected(scenario, [GOOD, item("I-2", 8, customer_id="C2")], customers,
                           row=3, column="policy", file="customers")
    assert "gold" in line


@pytest.mark.parametrize("text", ["1e5", "1E5", "1.5e2"])
def test_amount_with_exponent(scenario, text):
    assert_rejected(scenario, [GOOD, item("BAD-1", 8, text)], row=3, column="open_amount")


@pytest.mark.parametrize("text", ["NaN", "nan"])
def test_amount_nan(scenario, text):
    assert_rejected(scenario, [GOOD, item("BAD-1", 8, text)], row=3, column="open_amount")


@pytest.mark.parametrize("text", ["Infinity", "inf", "-Infinity"])
def test_amount_infinity(scenario, text):
    amount_row = item("BAD-1", 8, text)
    if text.startswith("-"):
        amount_row["doc_type"] = "credit_memo"
    assert_rejected(scenario, [GOOD, amount_row], row=3, column="open_amount")


def test_more_decimals_than_eur_allows(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, "12.345")], row=3, column="open_amount")
    assert "12.345" in line


def test_more_decimals_than_jpy_allows(scenario):
    items = [item("OK-JPY", 8, "1000", currency="JPY"), item("BAD-1", 8, "100.5", currency="JPY")]
    line = assert_rejected(scenario, items, config=JPY_CONFIG, row=3, column="open_amount")
    assert "100.5" in line


def test_whole_jpy_amount_is_accepted(scenario):
    # The control for the test above: the JPY config itself is fine, whole yen validate.
    result, _, out = run_cli(scenario, [item("OK-JPY", 8, "1000", currency="JPY")], None, JPY_CONFIG)
    assert_clean_exit(result, 0)
    assert out.is_dir()


def test_amount_beyond_decimal_18_2(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, "12345678901234567.00")], row=3,
                           column="open_amount")
    assert "12345678901234567" in line


def test_largest_decimal_18_2_amount_validates(scenario):
    paths = scenario.files([item("BIG-1", 8, "9999999999999999.99")])
    result = invoke("validate", paths)
    assert_clean_exit(result, 0)


def test_date_february_30th(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, due_date="2026-02-30")], row=3, column="due_date")
    assert "2026-02-30" in line


def test_excel_serial_date(scenario):
    line = assert_rejected(scenario, [GOOD, item("BAD-1", 8, due_date="45000")], row=3, column="due_date")
    assert "45000" in line


@pytest.mark.parametrize("word", ["NULL", "N/A"])
@pytest.mark.parametrize("column", ["due_date", "open_amount", "doc_date"])
def test_null_words_are_not_values(scenario, word, column):
    bad = item("BAD-1", 8, **{column: word})
    line = assert_rejected(scenario, [GOOD, bad], row=3, column=column)
    assert word in line


def test_duplicate_customer_id(scenario):
    customers = [customer("C1"), customer("C2"), customer("C2", name="Other")]
    result, paths, out = run_cli(scenario, [GOOD], customers)
    assert_clean_exit(result, 2)
    customers_path = paths[2]
    lines = [ln for ln in stderr_lines(result)
             if ln.startswith((f"{customers_path}:3: customer_id: ", f"{customers_path}:4: customer_id: "))]
    assert lines, result.stderr
    assert "C2" in lines[0]
    assert_nothing_written(scenario, out)


def test_missing_due_date_on_invoice(scenario):
    assert_rejected(scenario, [GOOD, item("BAD-1", 8, due_date="")], row=3, column="due_date")


def test_several_problems_each_on_its_own_line(scenario):
    items = [GOOD, item("B-2", 8, due_date="2026-13-01"), item("B-3", 8, "abc"),
             item("B-4", 8, customer_id="C9")]
    result, paths, out = run_cli(scenario, items)
    assert_clean_exit(result, 2)
    problem_line(result, paths[1], 3, "due_date")
    problem_line(result, paths[1], 4, "open_amount")
    problem_line(result, paths[1], 5, "customer_id")
    assert_nothing_written(scenario, out)


def test_sixty_unknown_customers_are_one_line(scenario):
    # 60 rows, each with its own unknown customer: one kind of problem in one column (issue 18)
    items = [item(f"X-{n:03d}", 8, customer_id=f"NOPE{n:03d}") for n in range(60)]
    result, paths, out = run_cli(scenario, items)
    assert_clean_exit(result, 2)
    assert stderr_lines(result) == [f"{paths[1]}:2: customer_id: customer 'NOPE000' is not in the customers file "
                                    f"(and 59 more rows like it: rows 3, 4, 5, ...)"]
    assert_nothing_written(scenario, out)


def test_more_than_fifty_problems_list_fifty_then_a_count(scenario):
    # 20 rows, each in a currency the config's tables lack (min_amount and the fee of each
    # level are EUR only): each missing setting of each currency is a line of its own, 5 per currency
    # (min_amount, interest min_amount, the fee of levels 1 to 3): 100 lines
    currencies = ["USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN", "TRY",
                  "CAD", "AUD", "NZD", "ZAR", "BRL", "MXN", "INR"]
    items = [item(f"X-{n:03d}", 8, currency=currencies[n % 20]) for n in range(20)]
    result, paths, out = run_cli(scenario, items)
    assert_clean_exit(result, 2)
    lines = stderr_lines(result)
    assert len(lines) == 51, lines
    assert all(line.startswith(f"{paths[1]}:") for line in lines[:50])
    assert lines[50] == "... and 50 more problem(s)"
    assert_nothing_written(scenario, out)


# --------------------------------------------------------------------------- validate


def test_validate_lists_every_problem_and_exits_2(scenario):
    items = [GOOD, item("B-2", 8, due_date="45000"), item("B-3", 8, "1e5"), item("B-4", 8, doc_type="bill")]
    customers = [customer("C1"), customer("C2", policy="gold")]
    paths = scenario.files(items, customers)
    result = invoke("validate", paths)
    assert_clean_exit(result, 2)
    problem_line(result, paths[1], 3, "due_date")
    problem_line(result, paths[1], 4, "open_amount")
    problem_line(result, paths[1], 5, "doc_type")
    problem_line(result, paths[2], 3, "policy")
    assert sorted(p.name for p in scenario.tmp_path.iterdir()) == ["in1"]


def test_validate_good_input_says_valid(scenario):
    paths = scenario.files([GOOD, item("OK-2", 30, "99.99"), item("CR-1", 3, "-10.00", doc_type="credit_memo")])
    result = invoke("validate", paths)
    assert_clean_exit(result, 0)
    assert "valid" in result.stdout
    assert sorted(p.name for p in scenario.tmp_path.iterdir()) == ["in1"]


# ------------------------------------------------------------------------ non-strict mode


NON_STRICT_ITEMS = [
    item("OK-1", 8, "250.00"),                       # row 2: runs
    item("BAD-DATE", 8, due_date="2026-02-30"),      # row 3
    item("BAD-AMT", 8, "1e5"),                       # row 4
    item("OF-C2", 8, "40.00", customer_id="C2"),     # row 5: its customer row is rejected
    item("OK-2", 30, "70.00"),                       # row 6: runs
]
NON_STRICT_CUSTOMERS = [customer("C1"), customer("C2", grace_until="2026-02-30")]


def read_parquet(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def check_non_strict_outcome(result: Result, paths, out: Path) -> None:
    assert_clean_exit(result, 0)
    _, items_path, customers_path = paths
    rejected = read_parquet(out / "rejected.parquet")
    columns = set(pq.read_schema(out / "rejected.parquet").names)
    assert {"source_file", "row_number", "reason", "row_text", "currency", "open_amount"} <= columns
    by_key = {(r["source_file"], r["row_number"]): r for r in rejected}
    assert set(by_key) == {(str(items_path), 3), (str(items_path), 4), (str(items_path), 5),
                           (str(customers_path), 3)}
    assert "due_date" in by_key[(str(items_path), 3)]["reason"]
    assert "BAD-DATE" in by_key[(str(items_path), 3)]["row_text"]
    assert by_key[(str(items_path), 3)]["currency"] == "EUR"
    assert by_key[(str(items_path), 3)]["open_amount"] == Decimal("100.00")
    assert "open_amount" in by_key[(str(items_path), 4)]["reason"]
    assert "BAD-AMT" in by_key[(str(items_path), 4)]["row_text"]
    assert "customer_id" in by_key[(str(items_path), 5)]["reason"]
    assert "OF-C2" in by_key[(str(items_path), 5)]["row_text"]
    assert "grace_until" in by_key[(str(customers_path), 3)]["reason"]
    assert "C2" in by_key[(str(customers_path), 3)]["row_text"]

    decisions = {r["doc_id"]: r for r in read_parquet(out / "decisions.parquet")}
    assert set(decisions) == {"OK-1", "OK-2"}
    assert (decisions["OK-1"]["outcome"], decisions["OK-1"]["reason"]) == ("dunned", "advanced")
    assert (decisions["OK-2"]["outcome"], decisions["OK-2"]["level_after"]) == ("dunned", 1)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["rejected_rows"] == 4


def test_no_strict_flag_rejects_bad_rows_and_runs_the_rest(scenario):
    result, paths, out = run_cli(scenario, NON_STRICT_ITEMS, NON_STRICT_CUSTOMERS, SPEC_CONFIG, "--no-strict")
    check_non_strict_outcome(result, paths, out)


def test_strict_false_in_config_rejects_bad_rows_and_runs_the_rest(scenario):
    config = with_config({"strict = true": "strict = false"})
    result, paths, out = run_cli(scenario, NON_STRICT_ITEMS, NON_STRICT_CUSTOMERS, config)
    check_non_strict_outcome(result, paths, out)


def test_same_input_in_strict_mode_writes_nothing(scenario):
    result, paths, out = run_cli(scenario, NON_STRICT_ITEMS, NON_STRICT_CUSTOMERS)
    assert_clean_exit(result, 2)
    problem_line(result, paths[1], 3, "due_date")
    problem_line(result, paths[1], 4, "open_amount")
    problem_line(result, paths[2], 3, "grace_until")
    assert_nothing_written(scenario, out)


def test_non_strict_run_with_only_good_rows_has_empty_rejected(scenario):
    result, _, out = run_cli(scenario, [GOOD], None, SPEC_CONFIG, "--no-strict")
    assert_clean_exit(result, 0)
    assert read_parquet(out / "rejected.parquet") == []
    assert json.loads((out / "run.json").read_text())["rejected_rows"] == 0


# ------------------------------------------------------- very long fields (issue 15 #15)

LONG = "x" * (200 * 1024)   # 200 KiB, beyond the csv module's default limit of 128 KiB


def write_with_note(path: Path, note_rows: dict[int, str], blank_line: bool) -> None:
    """Adds an unmapped column `note` to the CSV at `path`; `note_rows` maps row number -> text."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for number, row in enumerate(rows, start=1):
            writer.writerow(row + ["note" if number == 1 else note_rows.get(number, "")])
            if blank_line and number == 2:
                handle.write("\r\n")   # a blank line: the rows after it are numbered by the csv module


@pytest.mark.parametrize("note", [LONG, "y" * (2 * 1024 * 1024)], ids=["200KiB", "2MiB"])
@pytest.mark.parametrize("file", ["items", "customers"])
def test_a_long_field_in_a_column_the_tool_does_not_read_is_read(scenario, note, file):
    # The csv module stopped at 128 KiB (exit 3), pyarrow at a record beyond its 1 MiB block.
    config_path, items_path, customers_path = scenario.files(
        [item("INV-1", 8, "250.00"), item("INV-2", 30, "70.00", customer_id="C2")],
        [customer("C1"), customer("C2")])
    write_with_note(items_path if file == "items" else customers_path, {2: note}, blank_line=True)
    out = scenario.tmp_path / "out"
    result = invoke("run", (config_path, items_path, customers_path), out, "--no-pdf")
    assert_clean_exit(result, 0)
    decisions = {r["doc_id"]: (r["outcome"], r["level_after"]) for r in read_parquet(out / "decisions.parquet")}
    assert decisions == {"INV-1": ("dunned", 1), "INV-2": ("dunned", 1)}


def test_a_200_kib_name_is_an_input_error(scenario):
    # Read, it passed as a name; laid out on a letter it took more than five minutes.
    result, paths, out = run_cli(scenario, [GOOD], [customer("C1", name=LONG)], SPEC_CONFIG, "--no-pdf")
    assert_clean_exit(result, 2)
    line = problem_line(result, paths[2], 2, "name")
    assert_nothing_written(scenario, out)
    assert line.endswith(": name: is 204800 characters long, more than the 1000 allowed; check that a note or "
                         "a shifted column did not land here"), line


@pytest.mark.parametrize("column", ["doc_id", "branch"])
def test_an_item_id_or_branch_over_1000_characters_is_an_input_error(scenario, column):
    bad = item("INV-2", 8)
    bad[column] = "b" * 1001
    line = assert_rejected(scenario, [GOOD, bad], row=3, column=column)
    assert f": {column}: is 1001 characters long" in line


def test_a_name_of_1000_characters_is_accepted(scenario):
    result, _, out = run_cli(scenario, [GOOD], [customer("C1", name="n" * 1000)], SPEC_CONFIG, "--no-pdf")
    assert_clean_exit(result, 0)
    [letter] = read_parquet(out / "letters.parquet")
    assert letter["customer_name"] == "n" * 1000


# ----------------------------------------------- implausible dates (issue 15 #4)

def test_a_due_date_with_a_mistyped_year_is_an_input_error(scenario):
    # 0206-10-30 for 2026-10-30 on a 3,180.00 invoice charged 463,333.49 of interest, exit 0.
    line = assert_rejected(scenario, [GOOD, item("INV-10006", 25, "3180.00", due_date="0206-10-30", dunning_level=1)],
                           row=3, column="due_date")
    assert line.endswith(": due_date: '0206-10-30' is more than 20 years before the run date 2026-11-24; "
                         "correct the date, or widen [run] plausible_years"), line


def test_a_due_date_before_the_document_date_is_an_input_error(scenario):
    line = assert_rejected(scenario, [GOOD, item("INV-2", 8, doc_date="2026-11-20")], row=3, column="due_date")
    assert line.endswith(f": due_date: '{item('x', 8)['due_date']}' is before the doc_date '2026-11-20'; "
                         f"a document falls due on or after its date"), line


@pytest.mark.parametrize("column, value, side", [
    ("due_date", "2206-10-30", "after"), ("doc_date", "1926-10-01", "before"),
    ("last_dunned_on", "0026-11-10", "before"), ("grace_until", "9999-12-31", "after"),
    ("interest_paid_to", "1900-01-01", "before"),
])
def test_every_date_of_an_item_is_checked_against_the_window(scenario, column, value, side):
    line = assert_rejected(scenario, [GOOD, item("INV-2", 8, **{column: value})], row=3, column=column)
    assert f": {column}: '{value}' is more than 20 years {side} the run date 2026-11-24;" in line


def test_a_customers_grace_until_is_checked_against_the_window(scenario):
    line = assert_rejected(scenario, [GOOD], [customer("C1", grace_until="2126-01-01")], row=2,
                           column="grace_until", file="customers")
    assert ": grace_until: '2126-01-01' is more than 20 years after the run date 2026-11-24;" in line


@pytest.mark.parametrize("column, value", [("due_date", "0026-10-01"), ("paid_on", "1906-10-31")])
def test_a_payments_dates_are_checked_against_the_window(scenario, column, value):
    config_path, items_path, customers_path = scenario.files([GOOD])
    payment = {"payment_id": "P-1", "customer_id": "C1", "doc_id": "INV-0", "currency": "EUR",
               "due_date": "2026-10-01", "paid_on": "2026-10-31", "amount": "10.00", column: value}
    payments_path = config_path.parent / "payments.csv"
    payments_path.write_text(",".join(payment) + "\n" + ",".join(payment.values()) + "\n", encoding="utf-8")
    out = scenario.tmp_path / "out"
    result = invoke("run", (config_path, items_path, customers_path), out, "--payments", str(payments_path))
    assert_clean_exit(result, 2)
    line = problem_line(result, payments_path, 2, column)
    assert f": {column}: '{value}' is more than 20 years before the run date 2026-11-24;" in line
    assert_nothing_written(scenario, out)


def test_the_window_is_inclusive_and_plausible_years_widens_it(scenario):
    # 20 years before the run date exactly is inside; a day earlier is not, until the window is wider.
    edge, beyond = "2006-11-24", "2006-11-23"
    assert_rejected(scenario, [item("INV-1", 8, doc_date=beyond)], row=2, column="doc_date")
    wider = with_config({"strict = true": "strict = true\nplausible_years = 21"})
    assert scenario.run([item("INV-1", 8, doc_date=edge)]).reason("INV-1") == "advanced"
    assert scenario.run([item("INV-1", 8, doc_date=beyond)], config=wider).reason("INV-1") == "advanced"


def test_plausible_years_narrows_the_window(scenario):
    narrower = with_config({"strict = true": "strict = true\nplausible_years = 1"})
    line = assert_rejected(scenario, [item("INV-1", 8, doc_date="2025-11-23")], None, narrower, row=2,
                           column="doc_date")
    assert line.endswith(": doc_date: '2025-11-23' is more than 1 years before the run date 2026-11-24; "
                         "correct the date, or widen [run] plausible_years"), line


def test_an_implausible_row_is_set_aside_in_non_strict_mode(scenario):
    items = [GOOD, item("INV-2", 25, "3180.00", due_date="0206-10-30", dunning_level=1)]
    result, paths, out = run_cli(scenario, items, None, SPEC_CONFIG, "--no-strict", "--no-pdf")
    assert_clean_exit(result, 0)
    [rejected] = read_parquet(out / "rejected.parquet")
    assert (rejected["row_number"], rejected["open_amount"]) == (3, Decimal("3180.00"))
    assert rejected["reason"].startswith("due_date: '0206-10-30' is more than 20 years before")
    [letter] = read_parquet(out / "letters.parquet")
    assert (letter["overdue_total"], letter["interest_total"]) == (Decimal("250.00"), Decimal("0.00"))


# ----------------------------------------------- rates and amounts that overflow (issue 15 #16)

@pytest.mark.parametrize("rate", ["20261101", "1234567890123", "100.000001", "-5"])
def test_a_customer_rate_outside_0_to_100_percent_is_an_input_error(scenario, rate):
    # 20261101 (a date in the rate column) and 13-digit rates overflowed the interest stage: exit 3.
    line = assert_rejected(scenario, [GOOD], [customer("C1", interest_rate=rate)], row=2, column="interest_rate",
                           file="customers")
    assert line.endswith(f": interest_rate: must be a percent from 0 to 100, not {rate}"), line


def test_a_customer_rate_of_100_percent_is_charged(scenario):
    # 1000.00 x 100 % x 73 / 365 = 200.00 on a level-2 letter
    outcome = scenario.run([item("INV-1", 73, "1000.00", dunning_level=1)], [customer("C1", interest_rate="100")])
    [letter] = outcome.letters
    assert (letter["level"], letter["interest_total"]) == (2, Decimal("200.00"))


def test_a_huge_amount_due_in_year_1_is_an_input_error(scenario):
    # 10^14 due 0001-01-01 overflowed the interest stage (exit 3): the date is outside the window.
    line = assert_rejected(scenario, [GOOD, item("INV-2", 8, "100000000000000.00", due_date="0001-01-01",
                                                 dunning_level=1)], row=3, column="due_date")
    assert ": due_date: '0001-01-01' is more than 20 years before the run date" in line


def test_interest_that_would_overflow_a_letter_is_an_input_error(scenario):
    # 10^15 at 100 % for 20 years is 2 x 10^16 of interest alone: beyond DECIMAL(18,2) (was exit 3).
    # The bound: 10^15 + 10^15 x 100 % x (7305 + 2 days) / 360, rounded up to the cent, + a cent for
    # the line's rounding + the largest fixed fee up to level 2 (a sequential policy moves the item
    # from level 1 to 2 at most), 5.00.
    items = [item("INV-1", 7305, "1000000000000000.00", dunning_level=1)]
    line = assert_rejected(scenario, items, [customer("C1", interest_rate="100")], row=2, column="open_amount")
    assert line.endswith(": open_amount: the open items of customer 'C1' in EUR add up to 1000000000000000.00, and "
                         "with interest since their due dates and fees a letter could reach 21297222222222227.24, "
                         "more than it can hold (9999999999999999.99); check the amounts, due dates and interest "
                         "rates"), line


def test_a_percentage_fee_that_would_overflow_a_letter_is_an_input_error(scenario):
    # overdue 6 x 10^15 and a fee of 100 % of it: the total due would be 1.2 x 10^16 (was exit 3).
    # The bound: 6 x 10^15 and a fee of 100 % of it (level 1, the highest the item reaches,
    # charges no interest).
    config = with_config({"  fee = { EUR = 0.00 }\n": "  fee_percent = 100\n"})
    line = assert_rejected(scenario, [item("INV-1", 8, "6000000000000000.00")], None, config, row=2,
                           column="open_amount")
    assert "a letter could reach 12000000000000000.00, more than it can hold" in line


def test_the_largest_amount_without_interest_or_fee_still_fits(scenario):
    outcome = scenario.run([item("INV-1", 8, "9999999999999999.99")])
    [letter] = outcome.letters
    assert letter["total_due"] == Decimal("9999999999999999.99")


def test_reconcile_finds_a_rejected_row_whose_doc_id_is_padded(scenario):
    # Found by the fuzzer once implausible dates were rejected: reconcile compared the trimmed
    # doc_id of the export with the untrimmed one of rejected.row_text.
    items = [GOOD, item(" D0 ", 8, due_date="0206-10-30")]
    result, paths, out = run_cli(scenario, items, None, SPEC_CONFIG, "--no-strict", "--no-pdf")
    assert_clean_exit(result, 0)
    checked = CliRunner().invoke(main, ["reconcile", str(out), "--open-items", str(paths[1])])
    assert checked.exit_code == 0, checked.output
    assert checked.output.splitlines()[-1] == "all checks passed"
