"""Issue 19: a customer that [input.customers] missing = "create" made (no row of the customers
file: no postal address, delivery print) in a run that renders letters is an input problem
(strict: one line naming the items file, the row, customer_id and the fix) or a rejected
customer (non-strict: its items and payments rejected), never a letter with an empty window.
A run without PDFs (--no-pdf) decides and levels such customers as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import AS_OF, ROOT, SPEC_CONFIG, Outcome, customer, days_before, item, write_csv
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS, PAYMENT_COLUMNS
from dunning_batch.run import run

CREATE = SPEC_CONFIG + '\n[input.customers]\nmissing = "create"\n'
NON_STRICT = CREATE.replace("strict = true", "strict = false")

# C1 has a row with an address; C2 (rows 3 and 5) and C3 (row 4) have none: both are created
ITEMS = [item("INV-1", 30, "100.00"), item("INV-2", 30, "60.00", customer_id="C2"),
         item("INV-3", 30, "70.00", customer_id="C3"), item("INV-4", 30, "40.00", customer_id="C2")]
# a payment of the created C2 (SPEC §9.5): it goes with its customer
PAYMENTS = [{"payment_id": "P-1", "customer_id": "C2", "doc_id": "OLD-1", "currency": "EUR",
             "due_date": days_before(40), "paid_on": days_before(20), "amount": "10.00"}]
FIX = ("customer 'C2' has no row in the customers file ([input.customers] missing = \"create\" made it, "
       "with no postal address), but its letters go by post; add its row with the postal address (or an "
       "email address with delivery email) to ")


def inputs(folder: Path, config: str = CREATE, customers: bool = True, payments: bool = False) -> Path:
    folder.mkdir()
    write_csv(folder / "items.csv", ITEMS, OPEN_ITEM_COLUMNS)
    if customers:
        write_csv(folder / "customers.csv", [customer("C1")], CUSTOMER_COLUMNS)
    if payments:
        write_csv(folder / "payments.csv", PAYMENTS, PAYMENT_COLUMNS)
    (folder / "config.toml").write_text(config, encoding="utf-8")
    return folder


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The command line as a user runs it: relative paths from `cwd`."""
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


RUN = ("run", "--config", "config.toml", "--open-items", "items.csv", "--as-of", AS_OF.isoformat(),
       "--out", "out", "--no-ledger")


def test_a_strict_run_with_letters_stops_on_created_customers_with_one_line(tmp_path):
    folder = inputs(tmp_path / "in")
    result = cli(folder, *RUN, "--customers", "customers.csv")
    assert result.returncode == 2, result.stderr
    # one line for both customers, at C2's first item, naming the file to add the row to
    assert result.stderr.strip().splitlines() == [
        f"items.csv:3: customer_id: {FIX}customers.csv, or run with --no-pdf for decisions only "
        "(and 2 more rows like it: rows 4, 5)"]
    assert "Traceback" not in result.stderr and not (folder / "out").exists()


def test_without_a_customers_file_the_line_asks_for_one(tmp_path):
    folder = inputs(tmp_path / "in", customers=False)
    result = cli(folder, *RUN)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("items.csv:2: customer_id: customer 'C1' has no row in the customers file")
    assert line.endswith("to a customers file given with --customers, or run with --no-pdf for decisions only "
                         "(and 3 more rows like it: rows 3, 4, 5)")
    assert not (folder / "out").exists()


def test_validate_says_what_a_strict_run_with_letters_says(tmp_path):
    folder = inputs(tmp_path / "in")
    result = cli(folder, "validate", "--config", "config.toml", "--open-items", "items.csv",
                 "--customers", "customers.csv", "--as-of", AS_OF.isoformat())
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"items.csv:3: customer_id: {FIX}customers.csv")


def test_no_pdf_decides_and_levels_created_customers_as_before(tmp_path):
    folder = inputs(tmp_path / "in")
    result = cli(folder, *RUN, "--customers", "customers.csv", "--no-pdf")
    assert result.returncode == 0, result.stderr
    outcome = Outcome(folder / "out")
    assert {x["customer_id"]: (x["customer_name"], x["total_due"]) for x in outcome.letters} == {
        "C1": ("Customer C1", 100), "C2": ("C2", 100), "C3": ("C3", 70)}
    assert all(x["pdf_path"] is None for x in outcome.letters) and not (folder / "out" / "pdf").exists()
    assert outcome.rejected == [] and outcome.manifest["customers_created"] == 2
    assert {d: x["level_after"] for d, x in outcome.decisions.items()} == {
        "INV-1": 1, "INV-2": 1, "INV-3": 1, "INV-4": 1}


def test_a_non_strict_run_with_letters_rejects_created_customers(tmp_path):
    folder = inputs(tmp_path / "in", config=NON_STRICT, payments=True)
    run(folder / "config.toml", folder / "items.csv", folder / "customers.csv", AS_OF, tmp_path / "out",
        payments=folder / "payments.csv")
    outcome = Outcome(tmp_path / "out")
    rejected = {(r["source"], r["row_number"]): r["reason"] for r in outcome.rejected}
    assert set(rejected) == {("open_items", 3), ("open_items", 4), ("open_items", 5), ("payments", 2)}
    assert rejected[("open_items", 3)] == (f"customer_id: {FIX}{folder / 'customers.csv'}, or run with --no-pdf "
                                           "for decisions only")
    assert rejected[("open_items", 4)].startswith("customer_id: customer 'C3' has no row in the customers file")
    assert rejected[("payments", 2)] == "customer_id: customer 'C2' was rejected (no customers row; open_items row 3 says why)"
    # only C1, who has an address, gets a letter, and its PDF
    [letter] = outcome.letters
    assert letter["customer_id"] == "C1" and (tmp_path / "out" / letter["pdf_path"]).is_file()
    assert sorted(outcome.decisions) == ["INV-1"]
    assert json.loads((tmp_path / "out" / "run.json").read_text())["customers_created"] == 2


def test_on_a_cluster_the_shards_leave_out_what_the_coordinator_rejected(tmp_path):
    """The coordinator finds the problem and rejects; each shard decides and renders the rest."""
    import distributed

    folder = inputs(tmp_path / "in", config=NON_STRICT, payments=True)
    args = (folder / "config.toml", folder / "items.csv", folder / "customers.csv", AS_OF)
    run(*args, tmp_path / "one", payments=folder / "payments.csv")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        run(*args, tmp_path / "dask", payments=folder / "payments.csv", dask=cluster.scheduler_address)
    one, dask = Outcome(tmp_path / "one"), Outcome(tmp_path / "dask")
    assert dask.rejected == one.rejected and len(one.rejected) == 4
    assert dask.letters == one.letters and [x["customer_id"] for x in dask.letters] == ["C1"]
    assert (tmp_path / "dask" / dask.letters[0]["pdf_path"]).read_bytes() == \
        (tmp_path / "one" / one.letters[0]["pdf_path"]).read_bytes()
