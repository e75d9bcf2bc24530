"""Benchmark: peak memory and time of writing the print batch (SPEC §10.3) for N letters.

Builds an output folder from a synthetic export (`run --no-pdf`), renders one batch of real
letters and gives every letter a copy of one of them, sends all to print, then writes
print/print_batch.pdf in a fresh process per size and prints its peak RSS. Reproduce:
    .venv/bin/python bench/print_batch.py --letters 500,2000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dunning_batch.rerender import render_folder  # noqa: E402
from dunning_batch.run import run  # noqa: E402
from dunning_batch.synth import write_synthetic  # noqa: E402

AS_OF = dt.date(2026, 11, 24)
# In the child: write the batch, then report its own peak RSS in KiB. VmHWM (Linux), not
# ru_maxrss: a child's ru_maxrss starts from its parent's at the fork, VmHWM from its exec.
CHILD = """
import json, re, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from dunning_batch.delivery.print_batch import write_print_batch
def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
base = peak()
started = time.perf_counter()
letters = write_print_batch(Path(sys.argv[2]))
print(json.dumps({"letters": letters, "seconds": time.perf_counter() - started, "base_kib": base,
                  "peak_kib": peak()}))
"""


def folder_for_print(work: Path, letters: int) -> Path:
    """An output folder whose first `letters` letters all go to print, each with a real PDF."""
    write_synthetic(work / "in", customers=letters * 10, seed=1, as_of=AS_OF)
    out = work / "out"
    run(ROOT / "config" / "example.toml", work / "in" / "open_items.parquet",
        work / "in" / "customers.parquet", AS_OF, out, pdf=False)
    con = duckdb.connect()
    ids = [r[0] for r in con.execute("SELECT letter_id FROM read_parquet($p) ORDER BY letter_id LIMIT $n",
                                     {"p": str(out / "letters.parquet"), "n": letters}).fetchall()]
    if len(ids) < letters:
        raise SystemExit(f"the synthetic export gave only {len(ids)} letters")
    render_folder(out, letter_id=ids[0], workers=1)  # renders the first batch of real letters
    rendered = sorted((out / "pdf").glob("*.pdf"))
    for n, letter_id in enumerate(ids):
        target = out / "pdf" / f"{letter_id}.pdf"
        if not target.exists():
            shutil.copyfile(rendered[n % len(rendered)], target)
    for name in ("letters", "recipients"):  # keep the first `letters` letters, each with its PDF
        path = out / f"{name}.parquet"
        pdf_path = "REPLACE ('pdf/' || letter_id || '.pdf' AS pdf_path)" if name == "letters" else ""
        con.execute(f"COPY (SELECT * {pdf_path} FROM read_parquet($p) WHERE list_contains($ids, letter_id)) "
                    f"TO '{path}.new' (FORMAT parquet)", {"p": str(path), "ids": ids})
        Path(f"{path}.new").replace(path)
    return out


def measure(out: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(out)], capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", default="500,2000", help="comma-separated sizes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.letters.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-print-"))
    try:
        out = folder_for_print(work, max(sizes))
        for size in sizes:  # the first `size` letters go to print, the others by email
            path = out / "recipients.parquet"
            duckdb.connect().execute(
                f"COPY (SELECT * REPLACE (CASE WHEN row_number() OVER (ORDER BY letter_id) <= $n "
                f"THEN 'print' ELSE 'email' END AS delivery) FROM read_parquet($p)) TO '{path}.new' (FORMAT parquet)",
                {"p": str(path), "n": size})
            Path(f"{path}.new").replace(path)
            started = time.perf_counter()
            got = measure(out)
            batch = out / "print" / "print_batch.pdf"
            print(f"{got['letters']:>7} letters: peak RSS {got['peak_kib'] / 1024:7.1f} MiB "
                  f"(after imports {got['base_kib'] / 1024:.1f} MiB), {got['seconds']:6.2f} s, "
                  f"batch {batch.stat().st_size / 2**20:.1f} MiB   (wall {time.perf_counter() - started:.1f} s)")
        print(f"reproduce: .venv/bin/python bench/print_batch.py --letters {args.letters}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
