"""`reconcile` proves SPEC §8 on an output folder and fails the right check on a tampered one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from dunning_batch.cli import DEMO_CONFIG, DEMO_ITEMS, main
from dunning_batch.digest import sha256_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(demo_run, tmp_path) -> Path:
    """A copy of the demo's output folder (tests/conftest.py) for a test to tamper with."""
    copy = tmp_path / "copy"
    shutil.copytree(demo_run, copy)
    return copy


def reconcile(folder: Path, *extra: str) -> tuple[int, dict[str, str]]:
    result = CliRunner().invoke(main, ["reconcile", str(folder), *extra])
    status = {line[6:24].strip(): line[:4] for line in result.output.splitlines() if line[:4] in ("PASS", "FAIL")}
    return result.exit_code, status


def rewrite_parquet(path: Path, sql: str) -> None:
    """Replace a Parquet file by `sql` over its own rows (table name t)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
    con.execute(f"CREATE TABLE u AS {sql}")
    con.execute(f"COPY u TO '{path}' (FORMAT parquet)")


def rehash(folder: Path, name: str) -> None:
    """What a careful forger does: update run.json so that the hashes match again."""
    manifest = json.loads((folder / "run.json").read_text())
    manifest["outputs"][name]["sha256"] = sha256_of(folder / name)
    (folder / "run.json").write_text(json.dumps(manifest))


def test_untouched_run_passes_every_check(folder):
    code, status = reconcile(folder, "--open-items", str(DEMO_ITEMS))
    assert code == 0
    assert {"1 decisions", "2 amounts", "3 letter totals", "3 summary totals", "4 levels update",
            "5 fee documents", "6 files", "7 export"} <= set(status)
    assert set(status.values()) == {"PASS"}


def test_folder_named_relative_to_the_working_directory_passes(folder):
    # As a user types it, `dunning-batch reconcile out/2026-11-24`: the PDFs are found.
    done = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "reconcile",
                           folder.name], cwd=folder.parent, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "PASS  6 files" in done.stdout, done.stdout
    assert done.returncode == 0


def test_deleted_line_fails_letter_totals(folder):
    rewrite_parquet(folder / "letter_lines.parquet",
                    "SELECT * FROM t WHERE NOT (line_no = 1 AND letter_id = (SELECT min(letter_id) FROM t))")
    rehash(folder, "letter_lines.parquet")
    code, status = reconcile(folder)
    assert code == 1
    assert status["3 letter totals"] == "FAIL"
    assert status["1 decisions"] == status["6 files"] == "PASS"


def test_changed_total_fails_letter_totals_and_files(folder):
    rewrite_parquet(folder / "letters.parquet",
                    "SELECT * REPLACE (CASE WHEN letter_id = (SELECT min(letter_id) FROM t) "
                    "THEN total_due + 1 ELSE total_due END AS total_due) FROM t")
    code, status = reconcile(folder)
    assert code == 1
    assert status["3 letter totals"] == "FAIL" and status["6 files"] == "FAIL"
    assert status["5 fee documents"] == "PASS"


def letter_of_customer(folder: Path, customer_id: str) -> str:
    return duckdb.connect().execute("SELECT letter_id FROM read_parquet($p) WHERE customer_id = $c",
                                    {"p": str(folder / "letters.parquet"), "c": customer_id}).fetchone()[0]


def test_total_due_changed_alone_fails_summary_totals(folder):
    """Issue 14: a letter whose total_due is not its parts' sum shows up in every summary of it."""
    letter = letter_of_customer(folder, "C033")
    rewrite_parquet(folder / "letters.parquet",
                    f"SELECT * REPLACE (CASE WHEN letter_id = '{letter}' THEN total_due + 1 ELSE total_due END "
                    f"AS total_due) FROM t")
    rehash(folder, "letters.parquet")
    code, status = reconcile(folder)
    assert code == 1
    assert status["3 letter totals"] == status["3 summary totals"] == "FAIL"
    assert status["6 files"] == "PASS"


def test_total_due_changed_with_its_lines_fails_summary_totals(folder):
    """Issue 14: a letter forged consistently (a line, the overdue total and total_due, every hash)
    passes check 3, but its currency's total no longer is what the run printed (run.json)."""
    letter = letter_of_customer(folder, "C033")
    rewrite_parquet(folder / "letters.parquet",
                    f"SELECT * REPLACE (CASE WHEN letter_id = '{letter}' THEN overdue_total + 1 ELSE overdue_total "
                    f"END AS overdue_total, CASE WHEN letter_id = '{letter}' THEN total_due + 1 ELSE total_due END "
                    f"AS total_due) FROM t")
    # the demo converts currencies (SPEC §11.1): a line's letter_amount is what its letter sums
    rewrite_parquet(folder / "letter_lines.parquet",
                    f"SELECT * REPLACE (CASE WHEN letter_id = '{letter}' AND line_no = 1 THEN open_amount + 1 "
                    f"ELSE open_amount END AS open_amount, CASE WHEN letter_id = '{letter}' AND line_no = 1 "
                    f"THEN letter_amount + 1 ELSE letter_amount END AS letter_amount) FROM t")
    rehash(folder, "letters.parquet")
    rehash(folder, "letter_lines.parquet")
    code, status = reconcile(folder)
    assert code == 1
    assert status["3 letter totals"] == status["6 files"] == "PASS"
    assert status["3 summary totals"] == "FAIL"
    result = CliRunner().invoke(main, ["reconcile", str(folder)])
    assert "run.json totals_per_currency EUR overdue_total 82812.70 <> letters 82813.70" in result.output


def test_printed_totals_edited_in_run_json_fail_summary_totals(folder):
    manifest = json.loads((folder / "run.json").read_text())
    manifest["totals_per_currency"]["EUR"]["compensation_total"] = "0.00"   # was 120.00
    (folder / "run.json").write_text(json.dumps(manifest))
    code, status = reconcile(folder)
    assert code == 1
    assert [name for name, s in status.items() if s == "FAIL"] == ["3 summary totals"]


def test_removed_pdf_fails_files(folder):
    next((folder / "pdf").glob("*.pdf")).unlink()
    code, status = reconcile(folder)
    assert code == 1
    assert status["6 files"] == "FAIL"
    assert [s for s in status.values()].count("FAIL") == 1


def test_file_edited_after_manifest_fails_files(folder):
    with (folder / "customer_actions.csv").open("a") as handle:
        handle.write("C999,credit_hold,true,DL-20261124-0000000000000000,2026-11-24\n")
    code, status = reconcile(folder)
    assert code == 1
    assert status["6 files"] == "FAIL"


def test_dropped_decision_fails_decisions_and_amounts(folder):
    rewrite_parquet(folder / "decisions.parquet", "SELECT * FROM t WHERE doc_id <> (SELECT min(doc_id) FROM t)")
    rehash(folder, "decisions.parquet")
    code, status = reconcile(folder)
    assert code == 1
    assert status["1 decisions"] == "FAIL" and status["2 amounts"] == "FAIL"


def test_forged_level_update_fails_levels_update(folder):
    rewrite_parquet(folder / "levels_update.parquet", "SELECT * REPLACE (level_after + 1 AS level_after) FROM t")
    # the analysts' view reads the CSV; forge both the same way
    csv = folder / "levels_update.csv"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_parquet('{folder / 'levels_update.parquet'}')) TO '{csv}' (HEADER)")
    rehash(folder, "levels_update.csv")
    rehash(folder, "levels_update.parquet")
    code, status = reconcile(folder)
    assert code == 1
    assert status["4 levels update"] == "FAIL"


def test_missing_fee_document_fails_fee_documents(folder):
    lines = (folder / "fee_documents.csv").read_text().splitlines()
    (folder / "fee_documents.csv").write_text("\n".join(lines[:-1]) + "\n")
    rehash(folder, "fee_documents.csv")
    code, status = reconcile(folder)
    assert code == 1
    assert status["5 fee documents"] == "FAIL" and status["6 files"] == "PASS"


def test_not_an_output_folder_is_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["reconcile", str(tmp_path)])
    assert result.exit_code == 2
    assert "not an output folder" in result.output


# ---- the folder's config (cfg_*.parquet, issue 16) -----------------------------------------------

def test_run_json_lists_the_config_files_and_no_policies(demo_run):
    from dunning_batch.config import config_tables, load_config
    from dunning_batch.config.relations import CFG_TABLES

    manifest = json.loads((demo_run / "run.json").read_text())
    assert "policies" not in manifest
    config = load_config(DEMO_CONFIG)
    # a table of a rule of SPEC §11 is kept only when the config switches the rule on
    off = {t.name for t in CFG_TABLES if t.rule is not None and t.rule not in config.money_rules}
    for name, table in config_tables(config).items():
        if name in off:
            assert f"{name}.parquet" not in manifest["outputs"] and not (demo_run / f"{name}.parquet").exists()
            continue
        assert manifest["outputs"][f"{name}.parquet"] == {
            "sha256": sha256_of(demo_run / f"{name}.parquet"), "rows": table.num_rows}


def test_tampered_config_file_fails_files(folder):
    rewrite_parquet(folder / "cfg_levels.parquet", "SELECT * REPLACE (days_past_due + 1 AS days_past_due) FROM t")
    code, status = reconcile(folder)
    assert code == 1
    assert status["6 files"] == "FAIL"
    assert {name for name, s in status.items() if s == "FAIL"} == {"6 files"}


def test_checks_join_the_folders_config(folder):
    """Check 3 takes include_in_total from cfg_policies: flipped (and rehashed), the letters
    with interest no longer add up to their total due."""
    rewrite_parquet(folder / "cfg_policies.parquet",
                    "SELECT * REPLACE (NOT include_in_total AS include_in_total) FROM t")
    rehash(folder, "cfg_policies.parquet")
    code, status = reconcile(folder)
    assert code == 1
    assert status["3 letter totals"] == status["3 summary totals"] == "FAIL"
    assert status["6 files"] == status["4 levels update"] == "PASS"


def test_checks_join_the_folders_posting_levels(folder):
    """Checks 4 and 9.4 take the levels that post interest from cfg_levels."""
    rewrite_parquet(folder / "cfg_levels.parquet", "SELECT * REPLACE (false AS post_interest) FROM t")
    rehash(folder, "cfg_levels.parquet")
    code, status = reconcile(folder)
    assert code == 1
    assert status["4 levels update"] == status["9.4 interest docs"] == "FAIL"
    assert status["3 letter totals"] == status["6 files"] == "PASS"


def test_a_folder_without_its_config_files_fails_the_checks_that_join_them(folder):
    (folder / "cfg_policies.parquet").unlink()
    code, status = reconcile(folder)
    assert code == 1
    assert status["3 letter totals"] == status["6 files"] == "FAIL"
    assert status["1 decisions"] == status["5 fee documents"] == "PASS"
