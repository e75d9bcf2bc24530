"""SPEC §5 output folder rules and the demo (§7).

Outputs are written to a temporary folder beside DIR and renamed into place only when
complete: a failed or killed run leaves no DIR; an existing DIR is refused unless --force.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from conftest import AS_OF, ROOT, SPEC_CONFIG, customer, item, write_csv
from dunning_batch import run as run_module
from dunning_batch.cli import main
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
from dunning_batch.errors import InputError, UserError
from dunning_batch.run import run

LARGE_ITEMS = 200_000
NO_PDF = {"pdf": False}  # about folders and decisions; tests/test_letters.py covers PDFs


def large_export(folder: Path, n: int = LARGE_ITEMS) -> tuple[Path, Path, Path]:
    """An export of `n` items over n/20 customers, built column-wise with polars (no row loop)."""
    folder.mkdir(parents=True, exist_ok=True)
    customers = n // 20
    i = pl.col("i")
    items = pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).select(
        doc_id=pl.format("INV-{}", i.cast(pl.Utf8).str.zfill(7)),
        customer_id=pl.format("C{}", (i * 7919 % customers).cast(pl.Utf8).str.zfill(6)),
        doc_type=pl.when(i % 11 == 0).then(pl.lit("credit_memo")).otherwise(pl.lit("invoice")),
        due_date=(pl.lit(AS_OF) - pl.duration(days=i * 37 % 150 - 30)).dt.strftime("%Y-%m-%d"),
        currency=pl.lit("EUR"),
        open_amount=pl.format("{}{}.{}", pl.when(i % 11 == 0).then(pl.lit("-")).otherwise(pl.lit("")),
                              i * 131 % 5000 + 1, (i % 100).cast(pl.Utf8).str.zfill(2)),
        dunning_level=pl.when(i % 11 == 0).then(0).otherwise(i % 3),
    )
    customer_rows = pl.DataFrame({"i": pl.int_range(0, customers, eager=True)}).select(
        customer_id=pl.format("C{}", i.cast(pl.Utf8).str.zfill(6)),
        name=pl.format("Customer {}", i),
        address=pl.format("{} Example Street", i + 1),
    )
    items.write_csv(folder / "open_items.csv")
    customer_rows.write_csv(folder / "customers.csv")
    config = folder / "config.toml"
    config.write_text(SPEC_CONFIG.replace("include_credits = false", "include_credits = true"), encoding="utf-8")
    return config, folder / "open_items.csv", folder / "customers.csv"


def small_export(folder: Path, items: list[dict] | None = None) -> tuple[Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text(SPEC_CONFIG, encoding="utf-8")
    items_path = write_csv(folder / "open_items.csv", items or [item("INV-1", 30, "250.00"), item("INV-2", 3)],
                           OPEN_ITEM_COLUMNS)
    customers_path = write_csv(folder / "customers.csv", [customer()], CUSTOMER_COLUMNS)
    return config, items_path, customers_path


def run_args(config: Path, items: Path, customers: Path, out: Path, *extra: str) -> list[str]:
    """`run` arguments; --no-pdf: these tests are about the folder, not the letters (§6)."""
    return ["run", "--config", str(config), "--open-items", str(items), "--customers", str(customers),
            "--as-of", AS_OF.isoformat(), "--out", str(out), "--no-pdf", *extra]


def cli_command(*args: str) -> list[str]:
    """`dunning-batch ARGS` as a subprocess command, with this interpreter."""
    return [sys.executable, "-c", "from dunning_batch.cli import main; main()", *args]


def partials(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.partial-*"))


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def half_written(out: Path) -> bool:
    """The temporary folder exists and holds some outputs, but not yet run.json (the last one)."""
    return any(any(p.iterdir()) and not (p / "run.json").exists() for p in partials(out))


# (a) ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def large(tmp_path_factory) -> tuple[Path, Path, Path]:
    return large_export(tmp_path_factory.mktemp("large"))


KILL_MOMENTS = [0.3, 0.8, 1.5, "while writing outputs"]


def test_killed_run_leaves_no_output_folder_and_next_run_succeeds(large, tmp_path):
    """§5: SIGKILL at several moments (reading, deciding, writing) never leaves DIR behind."""
    config, items, customers = large
    out = tmp_path / "out"
    for moment in KILL_MOMENTS:
        process = subprocess.Popen(cli_command(*run_args(config, items, customers, out)), cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            started = time.monotonic()
            while process.poll() is None and time.monotonic() - started < 60:
                if moment == "while writing outputs" and half_written(out):
                    break
                if moment != "while writing outputs" and time.monotonic() - started >= moment:
                    break
                time.sleep(0.002)
            assert process.poll() is None, (
                f"the run ended (exit {process.returncode}) before the kill moment {moment!r}; "
                f"make the export larger. stderr: {process.stderr.read().decode()}")
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stderr.close()
        assert not out.exists(), f"a run killed at {moment!r} left {out} behind"
        if moment == "while writing outputs":
            assert partials(out), "the kill was meant to hit the half-written temporary folder"

    finished = subprocess.run(cli_command(*run_args(config, items, customers, out)), cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert (out / "run.json").is_file()
    assert not partials(out), f"stale temporary folders of the killed runs remain: {partials(out)}"
    con = duckdb.connect()
    decided = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(out / "decisions.parquet")}).fetchone()[0]
    assert decided == LARGE_ITEMS


# (b) ---------------------------------------------------------------------------------------

def test_existing_output_folder_is_refused_without_force_and_replaced_with_it(tmp_path):
    """§5: an existing DIR is refused (exit 2, the message names it, DIR untouched) unless --force,
    which replaces an earlier run's folder (tests/test_out_guard.py: and no other)."""
    config, items, customers = small_export(tmp_path / "in")
    out = tmp_path / "out"
    run(config, items, customers, AS_OF, out, **NO_PDF)
    (out / "levels_update.csv").write_text("yesterday's run\n")
    (out / "pdf").mkdir()
    (out / "pdf" / "DL-20261123-0000000000.pdf").write_bytes(b"yesterday's letter")
    before = snapshot(out)

    refused = CliRunner().invoke(main, run_args(config, items, customers, out))
    assert refused.exit_code == 2, refused.output
    assert str(out) in refused.stderr, refused.stderr
    assert "Traceback" not in refused.output
    assert snapshot(out) == before, "the existing output folder was modified"
    assert not partials(out)

    replaced = CliRunner().invoke(main, run_args(config, items, customers, out, "--force"))
    assert replaced.exit_code == 0, replaced.output
    assert "yesterday" not in (out / "levels_update.csv").read_text() and not (out / "pdf").exists()
    assert (out / "run.json").is_file() and (out / "decisions.parquet").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"], "leftovers beside the output folder"


# (c) ---------------------------------------------------------------------------------------

def test_run_that_fails_validation_leaves_no_folder(tmp_path):
    """§2.3/§5: an input that does not validate stops the run with exit 2 and writes nothing."""
    bad_items = [item("INV-1", 30, "250.00"), item("INV-2", 10, "12,5.00"), item("INV-3", 10, customer_id="C9")]
    config, items, customers = small_export(tmp_path / "in", bad_items)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, run_args(config, items, customers, out))
    assert result.exit_code == 2, result.output
    assert "open_amount" in result.stderr and "customer_id" in result.stderr, result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"], \
        f"a failed run left something beside --out: {sorted(p.name for p in tmp_path.iterdir())}"


def test_run_that_fails_while_writing_leaves_no_folder(tmp_path, monkeypatch):
    """§5: a failure after some outputs are written removes the temporary folder too."""
    config, items, customers = small_export(tmp_path / "in")
    out = tmp_path / "out"

    def disk_full(path, data):
        assert any(path.parent.iterdir()), "outputs should already be in the temporary folder"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_module, "write_json", disk_full)
    with pytest.raises(UserError, match="no space left on the device"):
        run(config, items, customers, AS_OF, out, **NO_PDF)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_validation_failure_with_force_keeps_the_existing_folder(tmp_path):
    """§5 with --force: the old DIR is replaced only by a complete run, not removed by a failed one."""
    config, items, customers = small_export(tmp_path / "in")
    out = tmp_path / "out"
    run(config, items, customers, AS_OF, out, **NO_PDF)
    write_csv(items, [item("INV-1", 30, "abc")], OPEN_ITEM_COLUMNS)
    before = snapshot(out)
    with pytest.raises(InputError):
        run(config, items, customers, AS_OF, out, force=True, **NO_PDF)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


# (d) ---------------------------------------------------------------------------------------

def test_demo_matches_the_hand_computed_decisions(demo_command):
    """§7 `demo`: the bundled example runs, prints its summary and decides as fixtures/demo says."""
    output, out = demo_command  # the command's run (exit 0), shared (conftest): this test only reads it
    assert "letters per level" in output
    assert (out / "run.json").is_file()

    with (ROOT / "fixtures" / "demo" / "expected_decisions.csv").open(newline="", encoding="utf-8") as handle:
        expected = {r["doc_id"]: (r["outcome"], r["reason"], int(r["level_after"])) for r in csv.DictReader(handle)}
    rows = duckdb.connect().execute(
        "SELECT doc_id, outcome, reason, level_after FROM read_parquet($p)",
        {"p": str(out / "decisions.parquet")}).fetchall()
    got = {doc_id: (outcome, reason, level) for doc_id, outcome, reason, level in rows}
    assert len(rows) == len(got), "a doc_id appears twice in decisions"
    assert sorted(got) == sorted(expected), "decisions and the oracle cover different items"
    wrong = {d: (got[d], expected[d]) for d in sorted(expected) if got[d] != expected[d]}
    assert not wrong, "decisions differ from fixtures/demo/expected_decisions.csv (got, expected):\n" + \
        "\n".join(f"  {d}: {g} != {e}" for d, (g, e) in wrong.items())
