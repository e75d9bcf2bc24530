"""What starting a command costs: `dunning_batch.cli` imports no package that only some
commands need (PDF reading and writing, WeasyPrint, Dask). Every command starts by importing
the CLI, and the suite starts hundreds of commands as processes of their own: pypdf (with
fontTools and PIL) alone took 0.18 s of CPU of 0.47 s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# imported where they are used: print_batch.write_print_batch, letters/render.py, distributed.py
HEAVY = ("pypdf", "fontTools", "PIL", "weasyprint", "pydyf", "dask", "distributed")


def test_importing_the_cli_imports_no_package_of_another_commands_work(tmp_path):
    code = ("import json, sys; from dunning_batch.cli import main; "
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert json.loads(done.stdout) == []
