"""`synth` writes a realistic night for config/example.toml (issue 20): most customers current,
a few percent already at the last level, about `--letters-share` of the customers receiving a
letter, mostly 1-3 lines and some of about 20, four languages; the counts it aims at are
printed, and the same seed gives the same bytes.

The export is written by the CLI as a user runs it (a subprocess in a working folder, relative
paths) and run with config/example.toml without PDFs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import AS_OF, ROOT
from dunning_batch.run import run
from dunning_batch.synth import write_synthetic

CONFIG = ROOT / "config" / "example.toml"
CUSTOMERS = 3000


def synth(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`dunning-batch synth ARGS` as a subprocess in `cwd`, this worktree's code first on the path."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "synth", *args],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def night(work: Path, *args: str) -> tuple[str, Path]:
    """synth's printout and the output folder of `run --no-pdf` on its export."""
    work.mkdir(parents=True, exist_ok=True)
    written = synth(work, "--customers", str(CUSTOMERS), "--out", "export", "--seed", "3", *args)
    assert written.returncode == 0, written.stderr
    out = work / "out"
    run(CONFIG, work / "export" / "open_items.parquet", work / "export" / "customers.parquet", AS_OF, out, pdf=False)
    return written.stdout, out


def one(sql: str, **params) -> tuple:
    return duckdb.execute(sql, params).fetchall()[0]


@pytest.fixture(scope="module")
def default_night(tmp_path_factory) -> tuple[str, Path]:
    return night(tmp_path_factory.mktemp("synth") / "work")


def test_the_printed_aim_is_what_the_night_gives(default_night):
    printed, out = default_night
    aim = re.search(r"([\d,]+) \([\d.]+%\) customers with a letter tonight \(([^)]*)\); "
                    r"([\d,]+) \([\d.]+%\) already at the last level", printed)
    assert aim, printed
    letters, levels, final = int(aim[1].replace(",", "")), aim[2], int(aim[3].replace(",", ""))
    printed_levels = {int(level): int(n.replace(",", "")) for level, n in re.findall(r"level (\d) ([\d,]+)", levels)}
    letters_file = str(out / "letters.parquet")
    got = dict(duckdb.execute("SELECT level, count(*) FROM read_parquet($f) GROUP BY level", {"f": letters_file})
               .fetchall())
    assert one("SELECT count(*), count(DISTINCT customer_id) FROM read_parquet($f)", f=letters_file) == (letters,
                                                                                                          letters)
    assert got == printed_levels
    assert set(got) == {1, 2, 3} and got[1] > got[2] > got[3]  # most customers pay after the first letter
    finals = one("SELECT count(DISTINCT customer_id) FROM read_parquet($f) WHERE reason = 'customer_final'",
                 f=str(out / "decisions.parquet"))[0]
    assert finals == final
    assert "wrote " in printed and f"{CUSTOMERS:,} customers to export" in printed


def test_most_customers_are_current_and_a_few_percent_at_the_last_level(default_night):
    _, out = default_night
    decisions = str(out / "decisions.parquet")
    final = one("SELECT count(DISTINCT customer_id) FROM read_parquet($f) WHERE reason = 'customer_final'",
                f=decisions)[0]
    assert 0.01 <= final / CUSTOMERS <= 0.06
    # current: nothing dunned before, nothing overdue past the first level's days
    current = one("SELECT count(*) FROM (SELECT customer_id FROM read_parquet($f) GROUP BY customer_id "
                  "HAVING bool_and(reason IN ('not_due', 'below_level_threshold', 'credit', 'blocked', 'disputed', "
                  "'customer_blocked') AND level_before = 0))", f=decisions)[0]
    assert current / CUSTOMERS >= 0.6
    reasons = {r for (r,) in duckdb.execute("SELECT DISTINCT reason FROM read_parquet($f)", {"f": decisions})
               .fetchall()}
    assert {"advanced", "piggyback", "current", "credit", "not_due", "below_level_threshold", "too_soon",
            "customer_final", "disputed", "blocked", "customer_blocked"} <= reasons


def test_letters_have_mostly_one_to_three_lines_some_twenty_and_four_languages(default_night):
    _, out = default_night
    f = str(out / "letters.parquet")
    letters, short, long_ = one("SELECT count(*), count(*) FILTER (line_count <= 3), "
                                "count(*) FILTER (line_count BETWEEN 15 AND 30) FROM read_parquet($f)", f=f)
    assert short / letters >= 0.7
    assert long_ >= 5
    languages = dict(duckdb.execute("SELECT language, count(*) FROM read_parquet($f) GROUP BY ALL", {"f": f})
                     .fetchall())
    assert set(languages) == {"en", "de", "fr", "pl"} and min(languages.values()) >= letters / 8


@pytest.mark.parametrize("share, band", [("0.15", (0.10, 0.20)), ("0.05", (0.03, 0.07)), ("0.3", (0.25, 0.35))])
def test_the_letters_share_lands_near_the_aim(default_night, tmp_path, share, band):
    _, out = default_night if share == "0.15" else night(tmp_path / "work", "--letters-share", share)
    letters = one("SELECT count(DISTINCT customer_id) FROM read_parquet($f)", f=str(out / "letters.parquet"))[0]
    assert band[0] <= letters / CUSTOMERS <= band[1]


def test_a_letters_share_outside_0_to_1_is_a_usage_error(tmp_path):
    refused = synth(tmp_path, "--customers", "5", "--out", "export", "--letters-share", "1.5")
    assert refused.returncode == 2 and "--letters-share" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "export").exists()


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_synthetic(tmp_path / name, 500, seed, AS_OF, letters_share=0.2)

    def files(name: str) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}

    assert files("a") == files("b")
    assert files("a")["open_items.parquet"] != files("c")["open_items.parquet"]
