"""Benchmark: peak memory and time of rendering one letter of N lines (`render`, one worker).

For each size, a one-customer export with N overdue items is run with `--no-pdf`, then its
letter is rendered in a fresh process that prints its own peak RSS; a one-line letter gives
the process's base. Reproduce:
    .venv/bin/python bench/long_letter.py --lines 1,2000,5000,20000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS  # noqa: E402
from dunning_batch.run import run  # noqa: E402

AS_OF = dt.date(2026, 11, 24)
# VmHWM (Linux), not ru_maxrss: a child's ru_maxrss starts from its parent's at the fork.
CHILD = """
import json, re, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from dunning_batch.rerender import render_folder
pages = render_folder(Path(sys.argv[2]), workers=1).pages
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"pages": sum(pages.values()), "peak_kib": peak}))
"""


def one_letter(work: Path, lines: int) -> Path:
    """An output folder (no PDFs) with one letter of `lines` overdue items."""
    folder = work / f"in{lines}"
    folder.mkdir()
    with (folder / "open_items.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(OPEN_ITEM_COLUMNS), restval="")
        writer.writeheader()
        for i in range(lines):
            writer.writerow({"doc_id": f"INV-{i:06d}", "customer_id": "C1", "doc_type": "invoice",
                             "currency": "EUR", "due_date": (AS_OF - dt.timedelta(days=10 + i % 300)).isoformat(),
                             "open_amount": f"{100 + i % 97}.{i % 100:02d}", "dunning_level": 0})
    with (folder / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CUSTOMER_COLUMNS), restval="")
        writer.writeheader()
        writer.writerow({"customer_id": "C1", "name": "Customer C1", "customer_class": "B2B"})
    out = work / f"out{lines}"
    run(ROOT / "config" / "example.toml", folder / "open_items.csv", folder / "customers.csv", AS_OF, out, pdf=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", default="1,2000,5000", help="comma-separated letter lengths")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-long-"))
    try:
        for lines in (int(n) for n in args.lines.split(",")):
            out = one_letter(work, lines)
            started = time.perf_counter()
            result = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(out)], capture_output=True,
                                    text=True, check=True)
            seconds = time.perf_counter() - started
            got = json.loads(result.stdout)
            print(f"{lines:>7} lines: {got['pages']:>4} pages, peak RSS {got['peak_kib'] / 1024:7.1f} MiB, "
                  f"{seconds:7.1f} s", flush=True)
        print(f"reproduce: .venv/bin/python bench/long_letter.py --lines {args.lines}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
