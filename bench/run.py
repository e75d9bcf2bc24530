"""Benchmark: `run --no-pdf` on synthetic Parquet exports of growing size.

Prints wall time, peak memory and items per second per stage (from run.json), medians of
--repeats runs, and the command that reproduces them. Reproduce:
    .venv/bin/python bench/run.py --sizes 100000,1000000,10000000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dunning_batch.synth import write_synthetic  # noqa: E402

AS_OF = "2026-11-24"
ITEMS_PER_CUSTOMER = 5.42  # the synthetic export's mean, to hit a size in items


def one_run(export: Path, out: Path, extra: list[str]) -> tuple[float, float, dict]:
    """(wall seconds, peak RSS in GiB, run.json) of one `run --no-pdf` in a fresh process."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-c", "from dunning_batch.cli import main; main()", "run",
               "--config", str(ROOT / "config" / "example.toml"),
               "--open-items", str(export / "open_items.parquet"), "--customers", str(export / "customers.parquet"),
               "--as-of", AS_OF, "--out", str(out), "--no-pdf", *extra]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"run failed: {result.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024  # max over children so far
    return wall, peak, json.loads((out / "run.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="open items per export")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-limit", default=None, help="passed to run --memory-limit")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the exports in")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-run-"))
    extra = ["--memory-limit", args.memory_limit] if args.memory_limit else []
    walls = {}
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            export = work / f"export-{size}"
            if not (export / "open_items.parquet").exists():
                counts = write_synthetic(export, max(1, round(size / ITEMS_PER_CUSTOMER)), seed=1,
                                         as_of=__import__("datetime").date.fromisoformat(AS_OF))
            else:
                counts = {"open_items": size}
            runs = [one_run(export, work / "out", extra) for _ in range(args.repeats)]
            wall = statistics.median(r[0] for r in runs)
            walls[size] = wall
            manifest = runs[-1][2]
            items = manifest["inputs"]["open_items"]["rows"]
            print(f"\n{items:,} open items ({counts['open_items']:,} generated), {manifest['inputs']['customers']['rows']:,} customers")
            print(f"  wall {wall:.2f} s (median of {len(runs)}), peak memory {max(r[1] for r in runs):.2f} GiB, "
                  f"{items / wall:,.0f} items/s end to end")
            timings = {k: statistics.median(r[2]["timings_seconds"].get(k, 0) for r in runs)
                       for k in manifest["timings_seconds"]}
            for stage, seconds in timings.items():
                rate = f"{items / seconds:>14,.0f} items/s" if seconds > 0 else ""
                print(f"    {stage:<24} {seconds:7.3f} s {rate}")
        sizes = sorted(walls)
        if len(sizes) > 1:
            print(f"\nscaling {sizes[-2]:,} -> {sizes[-1]:,} items: {walls[sizes[-1]] / walls[sizes[-2]]:.1f}x the time "
                  f"for {sizes[-1] / sizes[-2]:.0f}x the items")
        print(f"\nreproduce: .venv/bin/python bench/run.py --sizes {args.sizes} --repeats {args.repeats}"
              + (f" --memory-limit {args.memory_limit}" if args.memory_limit else ""))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
