"""Issue 18, real exports as they come: the keys that stand in for what an export lacks
([input.open_items] currency and overpaid_invoice, [input.customers] missing and
language_by_country) and zero balances (SPEC §4.2 settled) in explain, summary and the views."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pytest

from conftest import AS_OF, ROOT, SPEC_CONFIG, customer, item, with_config, write_csv
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
from dunning_batch.errors import ConfigError, InputError, UserError

NO_CURRENCY_COLUMN = tuple(c for c in OPEN_ITEM_COLUMNS if c != "currency")


def with_inputs(open_items: str = "", customers: str = "", config: str = SPEC_CONFIG) -> str:
    """A config with [input.open_items] / [input.customers] keys (TOML lines) added."""
    return (config + ("\n[input.open_items]\n" + open_items if open_items else "")
            + ("\n[input.customers]\n" + customers if customers else ""))


def story(outcome) -> dict[str, tuple]:
    return {doc: (d["outcome"], d["reason"], d["level_after"]) for doc, d in outcome.decisions.items()}


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The command line as a user runs it: relative paths from `cwd`."""
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def write_inputs(folder: Path, items: list[dict], customers: list[dict] | None, config: str,
                 item_columns: tuple[str, ...] = OPEN_ITEM_COLUMNS) -> None:
    folder.mkdir(exist_ok=True)
    write_csv(folder / "items.csv", items, item_columns)
    if customers is not None:
        write_csv(folder / "customers.csv", customers, CUSTOMER_COLUMNS)
    (folder / "config.toml").write_text(config, encoding="utf-8")


# ---------------------------------------------------------------- 1. [input.open_items] currency

def no_currency(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "currency"}


def test_currency_key_gives_every_row_of_an_export_without_the_column_its_currency(scenario, tmp_path):
    items = [no_currency(item("INV-1", 30, "100.00")), no_currency(item("INV-2", 10, "20.00"))]
    folder = tmp_path / "usd"
    write_inputs(folder, items, [customer()], with_inputs('currency = "EUR"\n'), NO_CURRENCY_COLUMN)
    from dunning_batch.run import run
    run(folder / "config.toml", folder / "items.csv", folder / "customers.csv", AS_OF, tmp_path / "out", pdf=False)
    from conftest import Outcome
    outcome = Outcome(tmp_path / "out")
    assert {d["doc_id"]: d["currency"] for d in outcome.decisions.values()} == {"INV-1": "EUR", "INV-2": "EUR"}
    [letter] = outcome.letters
    assert (letter["currency"], letter["level"], letter["overdue_total"]) == ("EUR", 1, D("120.00"))


def test_without_the_key_a_missing_currency_column_is_still_an_input_error(tmp_path):
    folder = tmp_path / "in"
    write_inputs(folder, [no_currency(item("INV-1", 30))], [customer()], SPEC_CONFIG, NO_CURRENCY_COLUMN)
    result = cli(folder, "validate", "--config", "config.toml", "--open-items", "items.csv",
                 "--customers", "customers.csv", "--as-of", AS_OF.isoformat())
    assert result.returncode == 2 and "missing required column(s) 'currency'" in result.stderr, result.stderr


def test_currency_key_and_a_currency_column_is_an_error_naming_both(tmp_path):
    folder = tmp_path / "in"
    write_inputs(folder, [item("INV-1", 30)], [customer()], with_inputs('currency = "EUR"\n'))
    result = cli(folder, "validate", "--config", "config.toml", "--open-items", "items.csv",
                 "--customers", "customers.csv", "--as-of", AS_OF.isoformat())
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "items.csv:1: header: the export has the currency column 'currency'" in line
    assert '[input.open_items] currency = "EUR"' in line and "Traceback" not in result.stderr


def test_currency_key_must_be_a_known_code_and_not_also_mapped(tmp_path):
    from dunning_batch.config import load_config
    path = tmp_path / "config.toml"
    path.write_text(with_inputs('currency = "usd"\n'))
    with pytest.raises(ConfigError) as unknown:
        load_config(path)
    assert "[input.open_items] key 'currency': 'usd' is not a known ISO 4217 currency code" in str(unknown.value)
    path.write_text(with_inputs('currency = "USD"\ncolumns = { currency = "Curr" }\n'))
    with pytest.raises(ConfigError) as both:
        load_config(path)
    assert "columns maps currency to the export column 'Curr'; keep one" in str(both.value)


# ---------------------------------------------------------------- 2. settled in the views and the summary

def test_a_settled_item_is_in_exclusions_by_reason_and_summary_but_not_in_aging(scenario):
    outcome = scenario.run([item("INV-1", 30, "100.00"), item("PAID", 40, "0.00"), item("PAID-2", 100, "0.00")])
    assert story(outcome)["PAID"] == ("excluded", "settled", 0)
    aging = outcome._rows("SELECT bucket, items, open_amount FROM aging_buckets ORDER BY bucket_order")
    assert aging == [{"bucket": "1-30", "items": 1, "open_amount": D("100.00")}]   # no 31-60 or over 90 of 0.00
    by_reason = outcome._rows("SELECT reason, currency, items, open_amount FROM exclusions_by_reason")
    assert by_reason == [{"reason": "settled", "currency": "EUR", "items": 2, "open_amount": D("0.00")}]
    summary = (outcome.out / "summary.html").read_text(encoding="utf-8")
    assert "settled: nothing left to collect" in summary


# ---------------------------------------------------------------- 3. overpaid_invoice

OVERPAID = [item("INV-1", 30, "100.00"), item("OVER", 20, "-1.00"), item("FEE-OVER", 20, "-2.50", doc_type="fee")]


def test_an_overpaid_invoice_stops_a_strict_run_by_default(scenario):
    with pytest.raises(InputError) as stopped:
        scenario.run(OVERPAID)
    assert "-1.00 contradicts doc_type invoice (an open invoice is positive)" in str(stopped.value)


def test_overpaid_invoice_credit_decides_it_as_an_open_credit(scenario):
    config = with_inputs('overpaid_invoice = "credit"\n')
    outcome = scenario.run(OVERPAID, config=config)
    d = outcome.decisions
    assert (d["OVER"]["doc_type"], d["OVER"]["outcome"], d["OVER"]["reason"]) == ("credit_memo", "excluded", "credit")
    assert (d["FEE-OVER"]["doc_type"], d["FEE-OVER"]["reason"]) == ("credit_memo", "credit")
    assert d["INV-1"]["doc_type"] == "invoice" and outcome.rejected == []
    # with include_credits the credits are listed and lower the letter's total: 100.00 - 1.00 - 2.50
    listed = scenario.run(OVERPAID, config=with_config({"include_credits = false": "include_credits = true"}, config))
    [letter] = listed.letters
    assert (letter["credit_total"], letter["total_due"]) == (D("-3.50"), D("96.50"))
    assert sorted((x["line_type"], x["doc_id"]) for x in listed.lines) == [
        ("credit", "FEE-OVER"), ("credit", "OVER"), ("overdue", "INV-1")]


# ---------------------------------------------------------------- 4. [input.customers] missing

def test_missing_customers_are_an_input_error_by_default(scenario):
    with pytest.raises(InputError) as stopped:
        scenario.run([item("INV-1", 30), item("INV-2", 30, customer_id="C2")])
    assert "C2" in str(stopped.value)


def test_missing_create_makes_the_customers_the_items_name(scenario):
    config = with_inputs(customers='missing = "create"\n')
    outcome = scenario.run([item("INV-1", 30), item("INV-2", 30, "50.00", customer_id="C2")],
                           [customer("C1", language="de")], config=config)
    assert story(outcome) == {"INV-1": ("dunned", "advanced", 1), "INV-2": ("dunned", "advanced", 1)}
    letters = {x["customer_id"]: x for x in outcome.letters}
    assert letters["C2"]["language"] == "en" and letters["C1"]["language"] == "de"
    assert outcome.manifest["customers_created"] == 1
    assert (letters["C2"]["customer_name"], letters["C1"]["customer_name"]) == ("C2", "Customer C1")
    recipients = outcome._rows("SELECT customer_id, delivery FROM recipients ORDER BY customer_id")
    assert {r["customer_id"]: r["delivery"] for r in recipients}["C2"] == "print"   # no address: on paper


def test_customers_may_be_left_out_with_create_and_not_without(tmp_path):
    folder = tmp_path / "in"
    items = [item("INV-1", 30, "100.00"), item("INV-2", 30, "60.00", customer_id="C2")]
    write_inputs(folder, items, None, with_inputs(customers='missing = "create"\n'))
    result = cli(folder, "run", "--config", "config.toml", "--open-items", "items.csv", "--as-of",
                 AS_OF.isoformat(), "--out", "out", "--no-pdf", "--no-ledger")
    assert result.returncode == 0, result.stderr
    assert "2 items, 2 customers (2 created from the items) -> 2 letters" in result.stdout
    manifest = json.loads((folder / "out" / "run.json").read_text())
    assert manifest["customers_created"] == 2 and "customers" not in manifest["inputs"]
    # a night recorded in a ledger: the run records the customers input as no bytes
    result = cli(folder, "run", "--config", "config.toml", "--open-items", "items.csv", "--as-of",
                 AS_OF.isoformat(), "--out", "night", "--no-pdf", "--ledger", "ledger.duckdb")
    assert result.returncode == 0, result.stderr
    [(sha,)] = duckdb.connect(str(folder / "ledger.duckdb"), read_only=True).execute(
        "SELECT customers_sha256 FROM runs").fetchall()
    assert sha == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"   # sha256 of no bytes
    (folder / "config.toml").write_text(SPEC_CONFIG)
    result = cli(folder, "validate", "--config", "config.toml", "--open-items", "items.csv",
                 "--as-of", AS_OF.isoformat())
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("config.toml: no --customers export was given") and 'missing = "create"' in line


# ---------------------------------------------------------------- 5. language_by_country

def test_language_by_country_for_customers_without_a_language(scenario):
    config = with_inputs(customers='language_by_country = { de = "de", FR = "fr_FR" }\n')
    items = [item("A", 30, customer_id="AT1"), item("B", 30, customer_id="DE1"), item("C", 30, customer_id="FR1"),
             item("D", 30, customer_id="US1")]
    customers = [customer("AT1", country="DE", language="pl"), customer("DE1", country="de"),
                 customer("FR1", country="FR"), customer("US1", country="US")]
    outcome = scenario.run(items, customers, config=config)
    assert {x["customer_id"]: x["language"] for x in outcome.letters} == {
        "AT1": "pl",     # its own language first
        "DE1": "de",     # the country, case-insensitive
        "FR1": "fr",     # the locale fr_FR is worded by the fr catalogue
        "US1": "en"}     # no entry: [run] default_language


@pytest.mark.parametrize("table, message", [
    ('{ DEU = "de" }', "names 'DEU', which is not an ISO 3166-1 alpha-2 country code"),
    ('{ DE = "xx" }', "gives DE the language 'xx', which has no message catalogue"),
    ('{ DE = "de", de = "de" }', "names the country DE twice"),
])
def test_language_by_country_is_checked(tmp_path, table, message):
    from dunning_batch.config import load_config
    path = tmp_path / "config.toml"
    path.write_text(with_inputs(customers=f"language_by_country = {table}\n"))
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "[input.customers] key 'language_by_country': " + message in str(refused.value)


def test_created_customers_on_a_cluster_are_those_of_one_machine(tmp_path):
    """Shards keep the items of their customers; each creates the customers its items name."""
    import distributed

    from conftest import Outcome
    from dunning_batch.run import run
    folder = tmp_path / "in"
    items = [item(f"INV-{n}", 10 * n, f"{n}0.00", customer_id=f"C{n % 4}") for n in range(1, 9)]
    write_inputs(folder, items, None, with_inputs(customers='missing = "create"\n'))
    args = (folder / "config.toml", folder / "items.csv", None, AS_OF)
    run(*args, tmp_path / "one", pdf=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        run(*args, tmp_path / "dask", pdf=False, dask=cluster.scheduler_address)
    one, dask = Outcome(tmp_path / "one"), Outcome(tmp_path / "dask")
    assert len(one.letters) == 4 and {x["customer_name"] for x in one.letters} == {"C0", "C1", "C2", "C3"}
    assert dask.decisions == one.decisions and dask.letters == one.letters
    assert one.manifest["customers_created"] == dask.manifest["customers_created"] == 4
