"""Crash safety while the letters are rendered (SPEC §5, §6).

tests/test_atomic.py kills runs during the data stages; here the run renders its PDFs
(a synthetic export of 1 200 customers gives about 160 letters, three WeasyPrint batches,
some seconds of rendering) and is killed with SIGKILL once the hidden partial folder holds
PDF files: no output folder may appear, and the next run into the same place must succeed,
remove what the killed run left and pass `reconcile`.

A run renders in worker processes. A job killed as a whole (a scheduler's timeout kills
the process group) and a job whose main process alone is killed (the OOM killer) are
both tried. After the latter, the workers must not live on (they ask Linux to kill them
with their parent): the last test.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import group_members
from dunning_batch.cli import main
from dunning_batch.letters.batches import BATCH_SIZE
from dunning_batch.synth import write_synthetic

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "example.toml"  # synth's classes, currencies and thresholds are this config's
AS_OF = dt.date(2026, 11, 24)
CUSTOMERS = 1_200  # synth aims 15 % of its customers at a letter: about 160 letters
WAIT = 60  # seconds a run may take to reach a kill moment before the test gives up

# Linux only: the tests find the run's worker processes through /proc (a platform reason,
# so the skip elsewhere is allowed; conftest.py fails the suite for any other skip).
pytestmark = [pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc"),
              pytest.mark.allow_skip("Linux only: reads process groups from /proc")]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("export")
    write_synthetic(folder, CUSTOMERS, 1, AS_OF)
    return folder / "open_items.parquet", folder / "customers.parquet"


def command(items: Path, customers: Path, out: Path) -> list[str]:
    """`dunning-batch run` WITH PDFs, as a subprocess of this interpreter."""
    return [sys.executable, "-c", "from dunning_batch.cli import main; main()", "run", "--config", str(CONFIG),
            "--open-items", str(items), "--customers", str(customers), "--as-of", AS_OF.isoformat(),
            "--out", str(out)]


def partial_pdfs(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.partial-*/pdf/*.pdf"))


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def kill_each(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Job:
    """A `run` in its own process group (whose id is its pid), stderr to a file."""

    def __init__(self, items: Path, customers: Path, out: Path, log: Path):
        self.log = log.open("wb")
        self.process = subprocess.Popen(command(items, customers, out), cwd=ROOT, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        self.pgid = self.process.pid
        self.out = out

    def wait_for_pdfs(self, count: int) -> int:
        started = time.monotonic()
        while time.monotonic() - started < WAIT:
            found = len(partial_pdfs(self.out))
            if found >= count:
                return found
            assert self.process.poll() is None, (
                f"the run ended (exit {self.process.returncode}) before {count} PDF(s) were rendered; "
                f"make the export larger. stderr: {self.log.name}")
            time.sleep(0.005)
        raise AssertionError(f"no {count} PDF(s) in the partial folder after {WAIT} s")

    def kill_main(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def kill_group(self) -> None:
        kill_each(group_members(self.pgid))
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def close(self) -> None:
        """Ends whatever of this job still runs (its own process group only)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for _ in range(50):
            members = group_members(self.pgid)
            if not members:
                break
            kill_each(members)
            time.sleep(0.1)
        self.log.close()


def test_sigkill_while_rendering_leaves_no_folder_and_the_next_run_succeeds(export, tmp_path):
    items, customers = export
    out = tmp_path / "out"
    # (when to kill, whom): the first PDF of the first batches; a later batch after the first ones.
    for count, whole_group in ((1, True), (BATCH_SIZE + 1, False)):
        job = Job(items, customers, out, tmp_path / f"killed-{count}.log")
        try:
            found = job.wait_for_pdfs(count)
            job.kill_group() if whole_group else job.kill_main()
        finally:
            job.close()
        assert not out.exists(), f"a run killed with {found} PDF(s) rendered left {out} behind"
        assert leftovers(out), "the kill was meant to hit the run while its partial folder held PDFs"

    finished = subprocess.run(command(items, customers, out), cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert leftovers(out) == [], "the killed runs' partial folders remain beside the output folder"
    letters = pq.read_table(out / "letters.parquet", columns=["letter_id"]).column("letter_id").to_pylist()
    assert len(letters) > 2 * BATCH_SIZE, "the export no longer gives three batches of letters; make it larger"
    assert sorted(p.stem for p in (out / "pdf").glob("*.pdf")) == sorted(letters)
    reconciled = CliRunner().invoke(main, ["reconcile", str(out)])
    assert reconciled.exit_code == 0, reconciled.output
    assert reconciled.output.splitlines()[-1] == "all checks passed", reconciled.output


def test_workers_die_with_a_killed_run(export, tmp_path):
    items, customers = export
    out = tmp_path / "out"
    job = Job(items, customers, out, tmp_path / "killed.log")
    try:
        job.wait_for_pdfs(1)
        job.kill_main()
        deadline = time.monotonic() + 5
        while group_members(job.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = group_members(job.pgid)
        rendered_after = len(partial_pdfs(out))
    finally:
        job.close()
    assert not out.exists()
    assert survivors == [], f"{len(survivors)} process(es) of the killed run still alive 5 s after the kill"
    assert rendered_after <= BATCH_SIZE * 2, f"{rendered_after} PDFs were rendered after the run was killed"
