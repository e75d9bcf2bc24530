"""A reader that goes away (`dunning-batch run ... | head -1`) stops the printing, never the
command: the work is finished (the output folder complete), the exit code is the command's
own, and stderr holds no traceback.

Each command runs as a user runs it, in a subprocess with relative paths, its stdout a pipe
whose reading end the test closes before anything is printed, so the first write meets a
closed pipe every time (a pipe read for a line first would race with the writer).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES, DEMO_PAYMENTS, main
from dunning_batch.run import run

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from dunning_batch.cli import main; main()"]
LATER = "2026-12-15"  # a second run date: the demo's folders for D and this differ


@pytest.fixture(scope="module")
def work(tmp_path_factory, demo_payments_run) -> Path:
    """A folder holding the demo's inputs (config/, fixtures/demo/, fixtures/rates_ecb.csv) and two finished runs:
    `ref` (the demo, PDFs and outbox: a copy of conftest's demo_payments_run) and `later`
    (three weeks on, no PDFs)."""
    folder = tmp_path_factory.mktemp("pipes")
    shutil.copytree(ROOT / "config", folder / "config")
    shutil.copytree(ROOT / "fixtures" / "demo", folder / "fixtures" / "demo")
    shutil.copy(DEMO_RATES, folder / "fixtures" / DEMO_RATES.name)
    shutil.copytree(demo_payments_run, folder / "ref")
    run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF.replace(day=15, month=12), folder / "later", rates=DEMO_RATES,
        payments=DEMO_PAYMENTS, pdf=False)
    return folder


def with_closed_stdout(cwd: Path, *args: str) -> tuple[int, str]:
    """Run the CLI with stdout a pipe nobody reads: its reading end is closed at once."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*CLI, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode("utf-8", "replace")
    return proc.wait(timeout=300), stderr


def assert_quiet(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    assert "BrokenPipeError" not in stderr and "Exception ignored" not in stderr, stderr


def files_of(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def assert_complete(folder: Path, like: Path) -> None:
    """Every file of a run like `like`, and their hashes as run.json recorded them (reconcile)."""
    assert files_of(folder) == files_of(like)
    result = CliRunner().invoke(main, ["reconcile", str(folder)])
    assert result.exit_code == 0, result.output


def test_run_into_a_closed_pipe_finishes_the_folder(work):
    code, stderr = with_closed_stdout(
        work, "run", "--config", "config/example.toml", "--open-items", "fixtures/demo/open_items.csv",
        "--customers", "fixtures/demo/customers.csv", "--payments", "fixtures/demo/payments.csv",
        "--rates", "fixtures/rates_ecb.csv", "--as-of", DEMO_AS_OF.isoformat(), "--out", "run-out")
    assert code == 0
    assert_quiet(stderr)
    assert_complete(work / "run-out", work / "ref")


def test_demo_into_a_closed_pipe_finishes_the_folder(work):
    code, stderr = with_closed_stdout(work, "demo", "--out", "demo-out")
    assert code == 0
    assert_quiet(stderr)
    assert_complete(work / "demo-out", work / "ref")


def test_synth_into_a_closed_pipe_writes_the_export(work):
    code, stderr = with_closed_stdout(work, "synth", "--customers", "20", "--out", "synth-out", "--format", "csv")
    assert code == 0
    assert_quiet(stderr)
    assert files_of(work / "synth-out") == ["customers.csv", "open_items.csv"]
    with (work / "synth-out" / "customers.csv").open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 20


@pytest.mark.parametrize("args, code", [
    (("query", "ref", "SELECT * FROM decisions"), 0),
    (("query", "ref", "SELECT * FROM letters", "--format", "json"), 0),
    (("explain", "ref", "--customer", "C001"), 0),
    (("diff", "ref", "later"), 1),          # the two runs differ: exit 1 all the same
    (("diff", "ref", "ref", "--format", "json"), 0),
    (("reconcile", "ref", "--open-items", "fixtures/demo/open_items.csv"), 0),
    (("validate", "--config", "config/example.toml", "--open-items", "fixtures/demo/open_items.csv",
      "--customers", "fixtures/demo/customers.csv", "--rates", "fixtures/rates_ecb.csv"), 0),
    (("send", "ref", "--dry-run"), 0),
], ids=["query", "query-json", "explain", "diff-differ", "diff-same", "reconcile", "validate", "send-dry-run"])
def test_printing_commands_into_a_closed_pipe_keep_their_exit_code(work, args, code):
    assert CliRunner().invoke(main, [a if not a.startswith(("ref", "later")) else str(work / a)
                                     for a in args]).exit_code == code  # the same command, read in full
    got, stderr = with_closed_stdout(work, *args)
    assert got == code
    assert_quiet(stderr)


def test_a_reader_that_takes_one_line_and_goes(work):
    """`query ... | head -1` as typed: more output than a pipe holds (64 KiB), so the writer
    meets the closed end after the first line was read. (One large write cut short this way
    ends without an error in Python, so this case passed before too; the tests above, whose
    first write meets the closed pipe, are the ones that failed.)"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*CLI, "query", "ref", "SELECT range AS n, 'x' || range AS label FROM range(50000)",
                             "--format", "csv"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"n,label\n"
    proc.stdout.close()
    stderr = proc.stderr.read().decode("utf-8", "replace")
    assert proc.wait(timeout=300) == 0
    assert_quiet(stderr)


def test_a_run_started_without_stderr_still_writes_its_folder(work):
    """`run ... 2>&-` (Python's sys.stderr is None then) ended with exit 3 and no folder: the
    line that warns of a missing ledger killed the run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([*CLI, "run", "--config", "config/example.toml", "--open-items", "fixtures/demo/open_items.csv",
                           "--customers", "fixtures/demo/customers.csv", "--rates", "fixtures/rates_ecb.csv",
                           "--as-of", DEMO_AS_OF.isoformat(), "--out", "no-stderr", "--no-pdf"],
                          cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
                          preexec_fn=lambda: os.close(2))
    assert proc.returncode == 0
    assert CliRunner().invoke(main, ["reconcile", str(work / "no-stderr")]).exit_code == 0


def test_output_that_cannot_be_written_is_one_sentence_not_an_internal_error(work):
    """`explain ... > /dev/full` was exit 3 (OSError); a full stderr turned a missing item's exit 2 into 1."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open("/dev/full", "w") as full:
        answer = subprocess.run([*CLI, "explain", "ref", "--customer", "C001"], cwd=work, env=env, stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=300)
        unknown = subprocess.run([*CLI, "explain", "ref", "NOPE"], cwd=work, env=env, stdout=subprocess.PIPE,
                                 stderr=full, text=True, timeout=300)
    assert (answer.returncode, answer.stderr) == (2, "stdout: cannot write the output (No space left on device); "
                                                     "what the command wrote to files or sent is done, only this "
                                                     "output is lost: write it where there is room\n")
    assert unknown.returncode == 2


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["query", "--help"]])
def test_click_s_own_output_into_a_full_stdout_is_one_sentence(work, args):
    """click writes --help and --version itself: `--help > /dev/full` printed click's traceback
    (OSError) instead of the sentence every command's own output gets."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open("/dev/full", "w") as full:
        result = subprocess.run([*CLI, *args], cwd=work, env=env, stdout=full, stderr=subprocess.PIPE, text=True,
                                timeout=300)
    assert (result.returncode, result.stderr) == (2, "stdout: cannot write the output (No space left on device); "
                                                     "what the command wrote to files or sent is done, only this "
                                                     "output is lost: write it where there is room\n")
