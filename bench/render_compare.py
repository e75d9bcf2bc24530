"""Benchmark: CPU seconds of the batched render path, this checkout against another one.

Wall-clock letters per second (bench/render.py) move with whatever else the machine runs;
the CPU time of one rendering process moves far less, so "within N % of before" is best
judged here: both checkouts decide the same synthetic export (made once, by this
checkout's synth) and render the same first LETTERS letters in their own batches, in fresh
processes, alternating, and the medians are printed. Reproduce:
    git worktree add /tmp/before <commit>   # or: git archive <commit> | tar -x -C /tmp/before
    .venv/bin/python bench/render_compare.py /tmp/before [--letters 180] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 24)

# One measurement, run in a fresh process with the checkout first on sys.path.
ONE = """
import sys, time, datetime as dt, tempfile
from pathlib import Path
tree, export, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, str(tree))
from dunning_batch.run import run
from dunning_batch.letters.batches import letter_contexts, batches_of, sender_of
from dunning_batch.letters.render import render_batch
work = Path(tempfile.mkdtemp())
run(tree / "config" / "example.toml", export / "open_items.parquet", export / "customers.parquet",
    dt.date(2026, 11, 24), work / "out", pdf=False)
contexts, sender = letter_contexts(work / "out")[:count], sender_of(work / "out")
(work / "pdf").mkdir()
render_batch(contexts[:5], sender, work / "pdf")  # fonts loaded before the clock starts
started = time.process_time()
for batch in batches_of(contexts):
    render_batch(batch, sender, work / "pdf")
print(len(contexts), time.process_time() - started)
"""


def measure(tree: Path, export: Path, letters: int) -> tuple[int, float]:
    done = subprocess.run([sys.executable, "-c", ONE, str(tree), str(export), str(letters)],
                          capture_output=True, text=True, check=True)
    count, seconds = done.stdout.split()
    return int(count), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path, help="the other checkout (its dunning_batch/, templates/, config/)")
    parser.add_argument("--letters", type=int, default=180)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from dunning_batch.synth import write_synthetic

    export = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    write_synthetic(export, customers=args.letters * 12, seed=1, as_of=AS_OF)
    seconds: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(args.repeats):
        for label, tree in (("before", args.before.resolve()), ("now", ROOT)):
            count, cpu = measure(tree, export, args.letters)
            seconds[label].append(cpu)
    for label, values in seconds.items():
        median = statistics.median(values)
        print(f"{label:<7} {count / median:6.1f} letters per CPU-second   (median of {args.repeats}: {median:.2f} s "
              f"for {count} letters)")
    change = statistics.median(seconds["before"]) / statistics.median(seconds["now"]) - 1
    print(f"now is {change:+.1%} letters per CPU-second against before")
    print(f"reproduce: .venv/bin/python bench/render_compare.py {args.before} --letters {args.letters} "
          f"--repeats {args.repeats}")


if __name__ == "__main__":
    main()
