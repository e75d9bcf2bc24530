"""SPEC §11.3: a day range per level. A level with `days_to = N` holds only items with at most N
days past due: an item beyond it is not raised to that level (reason `beyond_level_range`);
sequential advance stops below it, non-sequential advance may jump past it to a higher level
whose range holds. A level-0 item beyond level 1's range that rides in its customer's letter is
listed at level 0, not raised (the lead's decision for piggyback).

Every case uses the config of SPEC §3 (levels at 7/21/45 days past due, sequential, run date
2026-11-24) with days_to added where the test says; expected values are worked out by hand in
the comments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import AS_OF, ROOT, SPEC_CONFIG, customer, days_before, item, with_config
from dunning_batch.checks.reconcile import reconcile

LEVEL_1 = "days_past_due = 7\n  days_to_settle = 10"
LEVEL_2 = "days_past_due = 21\n  days_to_settle = 7"
LEVEL_3 = "days_past_due = 45\n  days_to_settle = 7"


def ranged(*, sequential: bool = True, level_1: int | None = 30, level_2: int | None = None,
           base: str = SPEC_CONFIG) -> str:
    """SPEC_CONFIG with days_to on levels 1 and 2 (None: no range), sequential or not."""
    edits = {}
    if level_1 is not None:
        edits[LEVEL_1] = f"{LEVEL_1}\n  days_to = {level_1}"
    if level_2 is not None:
        edits[LEVEL_2] = f"{LEVEL_2}\n  days_to = {level_2}"
    if not sequential:
        edits["sequential = true"] = "sequential = false"
    return with_config(edits, base)


def decision(outcome, doc_id: str) -> tuple:
    d = outcome.decisions[doc_id]
    return d["outcome"], d["reason"], d["level_before"], d["level_after"]


# ------------------------------------------------------------------ sequential advance


def test_sequential_an_item_beyond_level_1s_range_is_not_raised_and_gets_no_letter(scenario):
    # 40 days past due exceeds level 1's 7 (and level 2's 21), but 40 > days_to 30: level 1 does
    # not hold it, and a sequential policy cannot pass level 1. Alone, it makes no letter.
    outcome = scenario.run([item("A", 40)], config=ranged())
    assert decision(outcome, "A") == ("excluded", "beyond_level_range", 0, 0)
    assert outcome.letters == [] and outcome.levels_update == []


def test_sequential_an_item_within_level_1s_range_advances(scenario):
    # 20 days: exceeds 7, 20 <= 30 -> level 1. Exactly 30 days: 30 <= 30 still holds -> level 1.
    outcome = scenario.run([item("A", 20), item("B", 30, customer_id="C2")],
                           [customer("C1"), customer("C2")], config=ranged())
    assert decision(outcome, "A") == ("dunned", "advanced", 0, 1)
    assert decision(outcome, "B") == ("dunned", "advanced", 0, 1)
    assert sorted((r["customer_id"], r["level"]) for r in outcome.letters) == [("C1", 1), ("C2", 1)]


def test_sequential_a_level_1_item_beyond_level_2s_range_stays(scenario):
    # Level 1, 50 days past due, last letter 30 days ago (spacing 21 - 7 = 14 would be met):
    # the next level is 2, 50 > 21 but 50 > days_to 40 -> beyond_level_range, no letter,
    # although level 3 (45, no days_to) would hold it: sequential advance does not pass level 2.
    items = [item("A", 50, dunning_level=1, last_dunned_on=days_before(30))]
    outcome = scenario.run(items, config=ranged(level_1=None, level_2=40))
    assert decision(outcome, "A") == ("excluded", "beyond_level_range", 1, 1)
    assert outcome.letters == []


def test_without_a_range_the_same_items_advance_as_before(scenario):
    # the same items as the tests above, no days_to: 40 days -> 1, level 1 at 50 days -> 2
    items = [item("A", 40), item("B", 50, customer_id="C2", dunning_level=1, last_dunned_on=days_before(30))]
    outcome = scenario.run(items, [customer("C1"), customer("C2")])
    assert decision(outcome, "A") == ("dunned", "advanced", 0, 1)
    assert decision(outcome, "B") == ("dunned", "advanced", 1, 2)


# ------------------------------------------------------------------ non-sequential advance


def test_non_sequential_an_item_beyond_level_1s_range_jumps_to_level_2(scenario):
    # 40 days: level 1 (7, days_to 30) does not hold it, level 2 (21, no days_to) does -> 2;
    # the letter is a level-2 letter (fee 5.00 EUR).
    outcome = scenario.run([item("A", 40)], config=ranged(sequential=False))
    assert decision(outcome, "A") == ("dunned", "advanced", 0, 2)
    [letter] = outcome.letters
    assert letter["level"] == 2 and str(letter["fee"]) == "5.00"


def test_non_sequential_400_days_past_due_goes_to_the_level_without_a_range(scenario):
    # level 1 days_to 30, level 2 days_to 60, level 3 none: 400 days is beyond 1 and 2, held by 3
    outcome = scenario.run([item("A", 400)], config=ranged(sequential=False, level_2=60))
    assert decision(outcome, "A") == ("dunned", "advanced", 0, 3)
    assert [r["level"] for r in outcome.letters] == [3]


def test_non_sequential_beyond_every_range_above_its_level_stays(scenario):
    # Level 1 item, 50 days, last letter 30 days ago; level 2 days_to 40 and level 3 given
    # days_to 48: 50 exceeds 21 and 45 but is beyond both ranges -> beyond_level_range.
    config = ranged(sequential=False, level_1=None, level_2=40).replace(LEVEL_3, f"{LEVEL_3}\n  days_to = 48")
    outcome = scenario.run([item("A", 50, dunning_level=1, last_dunned_on=days_before(30))], config=config)
    assert decision(outcome, "A") == ("excluded", "beyond_level_range", 1, 1)


# ------------------------------------------------------------------ piggyback (grouping customer)


def test_a_level_0_item_beyond_level_1s_range_rides_along_at_level_0(scenario):
    # T (10 days) advances to 1 and triggers C1's letter. P (5 days, below level 1's 7, within
    # its range) piggybacks to level 1. B (40 days, beyond level 1's 30) is listed in the same
    # letter at level 0.
    outcome = scenario.run([item("T", 10), item("P", 5, "50.00"), item("B", 40, "70.00")], config=ranged())
    assert decision(outcome, "T") == ("dunned", "advanced", 0, 1)
    assert decision(outcome, "P") == ("dunned", "piggyback", 0, 1)
    assert decision(outcome, "B") == ("listed", "listed", 0, 0)
    [letter] = outcome.letters
    assert letter["level"] == 1
    assert str(letter["overdue_total"]) == "220.00"    # 100.00 + 50.00 + 70.00: B is on the letter
    assert {d: outcome.decisions[d]["letter_id"] for d in "TPB"} == dict.fromkeys("TPB", letter["letter_id"])
    assert [(r["doc_id"], r["level_after"]) for r in outcome.levels_update] == [("P", 1), ("T", 1)]
    # SPEC §8.4 (level_after = level_before + 1 in sequential policies) and the rest still hold
    assert [(c.name, c.ok) for c in reconcile(outcome.out) if not c.ok] == []


# ------------------------------------------------------------------ config errors


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The command line as a user runs it, with relative paths from `cwd`."""
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


RUN = ("run", "--config", "config.toml", "--open-items", "open_items.csv", "--customers", "customers.csv",
       "--as-of", AS_OF.isoformat(), "--out", "out", "--no-pdf")


HOLDS = ": the level holds items more than days_past_due and at most days_to days past due"


@pytest.mark.parametrize("value, problem", [
    ("7", "must be more than the level's days_past_due 7, not 7" + HOLDS),
    ("5", "must be more than the level's days_past_due 7, not 5" + HOLDS),
    ("-1", "must not be negative, not -1"),
    ('"30"', "must be a whole number, not '30'"),
])
def test_a_bad_days_to_stops_the_run_naming_the_key_policy_and_level(scenario, value, problem):
    config_path, _, _ = scenario.files([item("A", 10)], None, with_config({LEVEL_1: f"{LEVEL_1}\n  days_to = {value}"}))
    done = cli(config_path.parent, *RUN)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"config.toml: [[policy]] 'standard' level 1 key 'days_to': {problem}"]
    assert not (config_path.parent / "out").exists()


# ------------------------------------------------------------------ explain


def test_explain_says_in_words_that_an_item_is_beyond_a_levels_range(scenario):
    config_path, _, _ = scenario.files([item("T", 10), item("B", 180, "70.00")], None, ranged(level_1=90))
    folder = config_path.parent
    assert cli(folder, *RUN).returncode == 0
    done = cli(folder, "explain", "out", "B")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:6] == [
        "  Outcome: listed (listed), level stays at 0.",
        "  180 days past due exceeds level 1's threshold of 7 days (policy standard).",
        "  180 days past due is beyond level 1's range (days_to = 90): it is not raised to level 1.",
        "  Policy standard is sequential: an item advances one level per run and cannot pass level 1, "
        "so it stays at level 0.",
        f"  It is listed at its level 0 in letter {letter_of(folder / 'out', 'B')}, which T triggered.",
    ]


def test_explain_names_the_level_a_non_sequential_item_jumped_past(scenario):
    # 40 days, level 1 days_to 30: advanced to level 2, past level 1's range
    config_path, _, _ = scenario.files([item("A", 40)], None, ranged(sequential=False))
    folder = config_path.parent
    assert cli(folder, *RUN).returncode == 0
    done = cli(folder, "explain", "out", "A")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:5] == [
        "  Outcome: dunned (advanced), level 0 -> 2.",
        "  40 days past due exceeds level 2's threshold of 21 days (policy standard).",
        "  40 days past due is beyond level 1's range (days_to = 30): it is not raised to level 1.",
        "  Policy standard is not sequential: it goes straight to the highest level it exceeds whose range "
        "holds it.",
    ]


def letter_of(out: Path, doc_id: str) -> str:
    con = duckdb.connect()
    try:
        return con.execute("SELECT letter_id FROM read_parquet($p) WHERE doc_id = $d",
                           {"p": str(out / "decisions.parquet"), "d": doc_id}).fetchone()[0]
    finally:
        con.close()


# ------------------------------------------------------------------ off unless configured


def test_the_range_columns_are_written_only_when_a_level_sets_days_to(scenario):
    def columns(out: Path, name: str) -> list[str]:
        con = duckdb.connect()
        try:
            return [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet($p)",
                                              {"p": str(out / name)}).fetchall()]
        finally:
            con.close()

    off = scenario.run([item("A", 40)])
    on = scenario.run([item("A", 40)], config=ranged())
    assert "days_to" not in columns(off.out, "cfg_levels.parquet")
    assert not {"range_level", "range_days_to"} & set(columns(off.out, "item_details.parquet"))
    assert "range_level" not in (off.out / "views.sql").read_text()
    assert columns(on.out, "cfg_levels.parquet")[-1] == "days_to"
    details = on._rows("SELECT range_level, range_days_to, advance_reason FROM item_details")
    assert details == [{"range_level": 1, "range_days_to": 30, "advance_reason": "beyond_level_range"}]
