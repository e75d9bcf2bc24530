"""Benchmark: the floor under `run --no-pdf` at a size: what reading the exports and writing the
folder's Parquet files take when nothing is parsed, checked, decided, joined or sorted.

Issue 20 asks for 10 M items in 20 s without changing an output byte. This measures the part
of those 20 s that no plan of the stages can save: DuckDB reading the export's columns as they
are, and DuckDB writing each Parquet file of a finished folder again, from a table already in
the file's row order, with the run's own writer call (sql_runner.copy_select). Each rewritten
file is compared with the run's: the figure counts only when the bytes are the same.

Make a folder first (bench/run.py keeps it with --keep), then reproduce:
    .venv/bin/python bench/run.py --sizes 10000000 --repeats 1 --keep /tmp/bench-10m
    .venv/bin/python bench/write_floor.py --export /tmp/bench-10m/export-10000000 --out /tmp/bench-10m/out
"""

from __future__ import annotations

import argparse
import filecmp
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dunning_batch.sql_runner import connect, copy_select, quote  # noqa: E402


def seconds(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    con.execute(sql, params or {}).fetchall()
    return time.perf_counter() - started


def one_round(export: Path, out: Path, files: list[Path], scratch: Path) -> dict[str, float]:
    """Seconds of each step on a fresh connection: reading each export, writing each file."""
    con = connect()
    timings = {}
    for name in ("open_items", "customers"):
        timings[f"read {name}.parquet"] = seconds(
            con, f"CREATE TABLE {quote('raw_' + name)} AS SELECT * FROM read_parquet($path)",
            {"path": str(export / f"{name}.parquet")})
    for path in files:
        # a table, as the run writes from: its statistics decide which columns are REQUIRED
        con.execute(f"CREATE TABLE {quote(path.stem)} AS SELECT * FROM read_parquet($path)", {"path": str(path)})
        target = scratch / path.name
        started = time.perf_counter()
        copy_select(con, "*", path.stem, target, "parquet")
        timings[f"write {path.name}"] = time.perf_counter() - started
        if not filecmp.cmp(path, target, shallow=False):
            raise SystemExit(f"{path.name}: the rewritten file differs from the run's; the floor would not be "
                             f"the run's bytes (DuckDB {duckdb.__version__})")
        con.execute(f"DROP TABLE {quote(path.stem)}")
    con.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", type=Path, required=True, help="folder of open_items.parquet and customers.parquet")
    parser.add_argument("--out", type=Path, required=True, help="the output folder of a run over that export")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for p in args.out.glob("*.parquet") if not p.name.startswith("cfg_"))
    with tempfile.TemporaryDirectory(prefix="write-floor-") as scratch:
        rounds = [one_round(args.export, args.out, files, Path(scratch)) for _ in range(args.repeats)]
    medians = {step: statistics.median(r[step] for r in rounds) for step in rounds[0]}
    [(items,)] = duckdb.sql("SELECT count(*) FROM read_parquet($p)", params={"p": str(args.export / "open_items.parquet")}
                            ).fetchall()
    print(f"{items:,} open items; DuckDB {duckdb.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}; medians of {args.repeats}")
    for step, value in medians.items():
        print(f"  {step:<32} {value:7.2f} s")
    reading = sum(v for k, v in medians.items() if k.startswith("read"))
    writing = sum(v for k, v in medians.items() if k.startswith("write"))
    print(f"  {'floor: reading + writing':<32} {reading + writing:7.2f} s  (every rewritten file byte-identical)")
    print(f"\nreproduce: .venv/bin/python bench/write_floor.py --export {args.export} --out {args.out} "
          f"--repeats {args.repeats}")


if __name__ == "__main__":
    main()
