"""Benchmark: what the ledger costs `send` per letter (README "Running every night").

Before each message `send` opens the ledger under its lock, checks that no other send got
the letter accepted or holds it, commits an `attempting` row and the previous answer, and
closes it (SendLedger.claim and .outcome). This times that for LETTERS letters on a ledger
already holding PRIOR rows in `sends` (earlier nights), REPEATS times, and prints the median
per letter and the command that reproduces it. Reproduce:
    .venv/bin/python bench/send_ledger.py --letters 200 --prior 0,1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dunning_batch.ledger.sends import SendLedger  # noqa: E402
from dunning_batch.ledger.store import open_ledger  # noqa: E402

# earlier nights' sends: an attempt and an outcome per letter, 20,000 letters a night
PRIOR_SENDS = """
INSERT INTO sends
SELECT 'old' || (i // 20000),
       'DL-' || strftime(DATE '2025-01-01' + (i // 20000)::INTEGER, '%Y%m%d') || '-' || lpad(i::VARCHAR, 16, '0'),
       NULL, '/earlier', s, NULL, 1, TIMESTAMP '2025-01-01 22:00:00'
FROM range($n) t(i), (VALUES ('attempting'), ('accepted')) v(s) ORDER BY i
"""


def per_letter(letters: int, prior: int) -> float:
    """Seconds per letter of claim + outcome on a new ledger with `prior` earlier rows."""
    work = Path(tempfile.mkdtemp())
    path = work / "ledger.duckdb"
    with open_ledger(path, "run", "bench", create=True):
        pass
    if prior:
        con = duckdb.connect(str(path))
        con.execute(PRIOR_SENDS, {"n": prior // 2})
        con.close()
    ledger = SendLedger(path, work / "out", uuid.uuid4().hex)
    batch = [{"letter_id": f"DL-20261124-{i:016x}", "message_id": f"<{i}@bench>"} for i in range(letters)]
    started = time.perf_counter()
    for letter in batch:
        assert ledger.claim(letter, 1) is None
        ledger.outcome(letter, "accepted", "250 ok", 1)
    ledger.finish()
    return (time.perf_counter() - started) / letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--prior", default="0,1000000", help="comma-separated counts of earlier rows in sends")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, duckdb {duckdb.__version__}, {platform.machine()}")
    for prior in (int(p) for p in args.prior.split(",")):
        seconds = [per_letter(args.letters, prior) for _ in range(args.repeats)]
        print(f"{prior:>10,} earlier rows: median {statistics.median(seconds) * 1000:.1f} ms per letter "
              f"({args.letters} letters, {args.repeats} repeats)")
    print(f"reproduce: .venv/bin/python bench/send_ledger.py --letters {args.letters} --prior {args.prior} "
          f"--repeats {args.repeats}")


if __name__ == "__main__":
    main()
