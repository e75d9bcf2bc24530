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

from conftest import ROOT, SPEC_CONFIG, Scenario, customer, days_before, item
from dunning_batch.letters import environment
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
