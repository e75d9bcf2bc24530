"""Benchmark: the fixed CPU cost of a run, which the test suite pays about 1,500 times.

Prints the median CPU seconds (time.process_time of this process, so the other load of a
shared machine hardly moves it) of `run(..., pdf=False)` on a one-item export (the config
and the item the tests use, tests/conftest.py) and of the demo (config/example.toml,
fixtures/demo/) without PDFs, after one warm-up run each, and the command that reproduces
them. With --parts, the CPU per step of the run and the costliest stages of the last run.
Reproduce:
    .venv/bin/python bench/fixed_cost.py --repeats 10
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import AS_OF, SPEC_CONFIG, customer, item, write_csv  # noqa: E402

from dunning_batch import run as run_module, sql_runner  # noqa: E402
from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_PAYMENTS, DEMO_RATES  # noqa: E402
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS  # noqa: E402

STEPS = ("start_local", "load", "check_inputs", "reject", "decide_local", "write", "deliver", "record")


def one_item_export(folder: Path) -> dict:
    """The config and exports of a one-item run, as most tests write them."""
    (folder / "config.toml").write_text(SPEC_CONFIG, encoding="utf-8")
    write_csv(folder / "open_items.csv", [item("D1", 30)], OPEN_ITEM_COLUMNS)
    write_csv(folder / "customers.csv", [customer()], CUSTOMER_COLUMNS)
    return {"config_path": folder / "config.toml", "open_items": folder / "open_items.csv",
            "customers": folder / "customers.csv", "as_of": AS_OF}


def demo_export() -> dict:
    return {"config_path": DEMO_CONFIG, "open_items": DEMO_ITEMS, "customers": DEMO_CUSTOMERS, "as_of": DEMO_AS_OF,
            "payments": DEMO_PAYMENTS if DEMO_PAYMENTS.is_file() else None, "rates": DEMO_RATES}


def cpu_of_runs(export: dict, out: Path, repeats: int) -> list[float]:
    """CPU seconds of each of `repeats` runs without PDFs (after one run that warms up)."""
    seconds = []
    for n in range(repeats + 1):
        started = time.process_time()
        run_module.run(**export, out=out, force=True, pdf=False)
        if n:
            seconds.append(time.process_time() - started)
    return seconds


def parts(export: dict, out: Path, repeats: int) -> None:
    """CPU per step and per stage, averaged over `repeats` runs."""
    steps: dict[str, float] = {}
    stages: dict[str, float] = {}
    originals = {name: getattr(run_module, name) for name in STEPS if hasattr(run_module, name)}

    def timed(name, step):
        def wrapper(session):
            started = time.process_time()
            try:
                return step(session)
            finally:
                steps[name] = steps.get(name, 0.0) + time.process_time() - started
        return wrapper

    original_stage = sql_runner.run_stage

    def stage(con, name, *args, **kwargs):
        started = time.process_time()
        try:
            return original_stage(con, name, *args, **kwargs)
        finally:
            stages[name] = stages.get(name, 0.0) + time.process_time() - started

    for name, step in originals.items():
        setattr(run_module, name, timed(name, step))
    run_module.LOCAL = run_module.Driver("this machine", start=run_module.start_local, decide=run_module.decide_local,
                                         render=run_module.render_local)
    sql_runner.run_stage = stage
    try:
        cpu_of_runs(export, out, repeats)
    finally:
        for name, step in originals.items():
            setattr(run_module, name, step)
        run_module.LOCAL = run_module.Driver("this machine", start=run_module.start_local,
                                             decide=run_module.decide_local, render=run_module.render_local)
        sql_runner.run_stage = original_stage
    runs = repeats + 1
    print("  CPU per step (ms):", ", ".join(f"{k} {v / runs * 1000:.0f}" for k, v in steps.items()))
    print(f"  stages: {sum(stages.values()) / runs * 1000:.0f} ms; costliest:",
          ", ".join(f"{k} {v / runs * 1000:.0f}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])[:10]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--parts", action="store_true", help="also the CPU per step and the costliest stages")
    parser.add_argument("--only", choices=("one", "demo"), default=None, help="measure one of the two runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fixed-cost-") as temp:
        temp = Path(temp)
        exports = {"one-item run": one_item_export(temp), "demo run, no PDFs": demo_export()}
        if args.only:
            exports = dict([list(exports.items())[0 if args.only == "one" else 1]])
        for label, export in exports.items():
            out = temp / "out"
            seconds = cpu_of_runs(export, out, args.repeats)
            print(f"{label}: median CPU {statistics.median(seconds) * 1000:.0f} ms over {args.repeats} runs "
                  f"(min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f})")
            if args.parts:
                parts(export, out, max(args.repeats // 2, 1))
            shutil.rmtree(out, ignore_errors=True)
    print(f"command: {Path(sys.executable).name} bench/fixed_cost.py --repeats {args.repeats}"
          + (" --parts" if args.parts else "") + (f" --only {args.only}" if args.only else ""))


if __name__ == "__main__":
    main()
