"""What fixes the PDFs' bytes, recorded and said (issue 20), and the rendering helpers that
start with the run.

The PDFs are byte-identical for the same inputs on the same environment: WeasyPrint, pydyf,
the font subsetter (HarfBuzz-Subset or fontTools) and its version, and the font files. A run
with PDFs records them in run.json (`pdf_environment`) and prints which subsetter it used;
one without PDFs records none. The helper processes that render beside the run's own
start when the run starts (while DuckDB decides) and are gone when it ends, however it ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fontTools
import pydyf
import pytest
import weasyprint

from conftest import ROOT, SPEC_CONFIG, Scenario, customer, days_before, group_members, item
from dunning_batch.letters import environment, pool
from dunning_batch.run import run
from test_no_money_rules import subsetting_with

ITEMS = [item("INV-1", 10, "100.00"),
         item("INV-2", 30, "2500.00", dunning_level=1, last_dunned_on=days_before(20))]
CUSTOMERS = [customer("C1", language="de")]


def cli(cwd: Path, *args: str, **popen) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` as a user runs it, from `cwd` with relative paths."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300, **popen)


def run_args(out: str = "out", *extra: str) -> list[str]:
    return ["run", "--config", "in1/config.toml", "--open-items", "in1/open_items.csv", "--customers",
            "in1/customers.csv", "--as-of", "2026-11-24", "--out", out, *extra]


@pytest.fixture
def inputs(tmp_path) -> Path:
    Scenario(tmp_path).files(ITEMS, CUSTOMERS, SPEC_CONFIG)
    return tmp_path


# ------------------------------------------------------------------- what fixes the bytes

def test_run_json_records_the_versions_subsetter_and_font_files_that_fix_the_pdfs(inputs):
    done = cli(inputs, *run_args())
    assert done.returncode == 0, done.stderr
    recorded = json.loads((inputs / "out" / "run.json").read_text())["pdf_environment"]
    name = environment.subsetter()
    assert recorded["weasyprint"] == weasyprint.__version__ and recorded["pydyf"] == pydyf.__version__
    assert recorded["font_subsetter"] == {"name": name, "version": environment.subsetter_version(name)}
    assert [font["asked"] for font in recorded["fonts"]] == ["DejaVu Sans Book", "DejaVu Sans Bold"]
    for font in recorded["fonts"]:
        assert font["family"].startswith("DejaVu Sans"), font
        assert hashlib.sha256(Path(font["file"]).read_bytes()).hexdigest() == font["sha256"]
    # and the run says which subsetter it used, in one line of its summary
    said = [line for line in done.stdout.splitlines() if line.startswith("PDF fonts subset by ")]
    assert said == [environment.describe(recorded)]
    assert f"{environment.SUBSETTER_NAMES[name]} {recorded['font_subsetter']['version']}" in said[0]


def test_the_record_follows_the_subsetter_the_letters_were_made_with(tmp_path):
    """With HarfBuzz-Subset hidden from WeasyPrint it falls back to fontTools: run.json says so,
    with fontTools' version, and the line tells how to get the faster subsetter."""
    with subsetting_with("fonttools"):
        outcome = Scenario(tmp_path).run(ITEMS, CUSTOMERS, pdf=True, workers=1)
    recorded = outcome.manifest["pdf_environment"]
    assert recorded["font_subsetter"] == {"name": "fonttools", "version": fontTools.version}
    assert environment.describe(recorded).startswith(f"PDF fonts subset by fontTools {fontTools.version} (")
    assert "install libharfbuzz-subset0" in environment.describe(recorded)


def test_a_run_without_pdfs_records_no_pdf_environment_and_says_nothing_of_fonts(inputs):
    done = cli(inputs, *run_args("out", "--no-pdf"))
    assert done.returncode == 0, done.stderr
    assert json.loads((inputs / "out" / "run.json").read_text())["pdf_environment"] is None
    assert "PDF fonts" not in done.stdout


# ------------------------------------------------------------- helpers start with the run

def spawned_children() -> list[int]:
    """This process's live children that multiprocessing spawned to run tasks (not its
    resource tracker), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == os.getpid() and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.allow_skip("Linux only: reads processes from /proc")
@pytest.mark.parametrize("pdf, helper_letters, helpers", [(True, 1, 1), (False, 1, 0), (True, None, 0)],
                         ids=["with-pdfs", "no-pdf", "too-few-letters"])
def test_the_rendering_helpers_run_while_duckdb_decides_and_are_gone_after(tmp_path, monkeypatch, pdf,
                                                                           helper_letters, helpers):
    """--workers 2: one helper beside the run's own process, already there while the decision
    stages after the letters run (not started at the render step); --no-pdf starts none, and
    neither does a night of fewer letters than repay a helper's start (HELPER_LETTERS, 100;
    here the night's one letter), then or at the render step. None outlives the run."""
    if helper_letters is not None:
        monkeypatch.setattr("dunning_batch.letters.pool.HELPER_LETTERS", helper_letters)
    seen: dict[str, int] = {}
    before = set(spawned_children())   # another test's processes of this worker are not this run's

    def on_stage(stage: str, rows: int, seconds: float) -> None:
        seen.setdefault(stage, len(set(spawned_children()) - before))

    spawned = []
    real_helpers = pool.Helpers.__init__

    def counted(self, count):
        spawned.append(count)
        real_helpers(self, count)

    monkeypatch.setattr(pool.Helpers, "__init__", counted)
    outcome = Scenario(tmp_path).run(ITEMS, CUSTOMERS, pdf=pdf, workers=2, on_stage=on_stage)
    assert len(outcome.letters) == 1
    assert seen["60_letters"] == 0 and seen["70_item_outcomes"] == helpers, seen
    assert spawned == [1] * helpers
    assert set(spawned_children()) - before == set()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.allow_skip("Linux only: reads processes from /proc")
def test_no_helper_outlives_a_run_that_stops_with_a_user_error(tmp_path, monkeypatch):
    """The helpers start when DuckDB starts deciding; a user error after that (here the disk
    refusing the output files, exit 2) stops them too."""
    from dunning_batch.errors import UserError

    def disk_full(*_args, **_kwargs):
        raise UserError("out: no space left on device")

    monkeypatch.setattr("dunning_batch.run.write_data_files", disk_full)
    monkeypatch.setattr("dunning_batch.letters.pool.HELPER_LETTERS", 1)   # the night's one letter gets it
    seen: list[int] = []
    before = set(spawned_children())
    with pytest.raises(UserError):
        Scenario(tmp_path).run(ITEMS, CUSTOMERS, pdf=True, workers=2,
                               on_stage=lambda *_: seen.append(len(set(spawned_children()) - before)))
    assert 1 in seen, "the helper was meant to be running when the run stopped"
    assert set(spawned_children()) - before == set()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.allow_skip("Linux only: reads processes from /proc")
def test_a_run_its_inputs_stop_starts_no_helper(tmp_path, monkeypatch):
    """The helpers start only once the inputs have passed their checks: a run that stops at an
    input problem (exit 2) pays no WeasyPrint start (about a second of CPU)."""
    from dunning_batch.errors import UserError

    bad = ITEMS + [item("INV-9", 10, "12.345")]  # too many decimals: a strict run stops at its checks
    monkeypatch.setattr("dunning_batch.letters.pool.HELPER_LETTERS", 1)   # a letter would get one
    seen: list[int] = []
    before = set(spawned_children())
    with pytest.raises(UserError):
        Scenario(tmp_path).run(bad, CUSTOMERS, pdf=True, workers=2,
                               on_stage=lambda *_: seen.append(len(set(spawned_children()) - before)))
    assert seen and set(seen) == {0}, seen
    assert set(spawned_children()) - before == set()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.allow_skip("Linux only: reads processes from /proc")
def test_no_helper_outlives_a_run_ended_by_sigterm(inputs):
    """A scheduler's SIGTERM ends the run's process; its helper dies with it (it asked Linux
    for that when it started), rendering or idle."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with_a_helper = ("import dunning_batch.letters.pool as pool; pool.HELPER_LETTERS = 1  # the one letter gets it\n"
                     "from dunning_batch.cli import main; main()")
    job = subprocess.Popen([sys.executable, "-c", with_a_helper, *run_args("out", "--workers", "2")], cwd=inputs, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not group_members(job.pid) or len(group_members(job.pid)) < 3:  # run, resource tracker, helper
            assert job.poll() is None and time.monotonic() < deadline, "the run ended before its helper started"
            time.sleep(0.01)
        job.send_signal(signal.SIGTERM)
        assert job.wait(timeout=30) == -signal.SIGTERM
        deadline = time.monotonic() + 5
        while group_members(job.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = group_members(job.pid)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        for pid in group_members(job.pid):
            os.kill(pid, signal.SIGKILL)
    assert survivors == [], f"{len(survivors)} process(es) of the run still alive 5 s after SIGTERM"
    assert not (inputs / "out").exists()


