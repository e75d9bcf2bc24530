"""`void` undoes letters sent by mistake: levels restored, fees reversed, never twice."""

from __future__ import annotations

import csv
import json
from decimal import Decimal

from click.testing import CliRunner
from conftest import days_before, item

from dunning_batch.cli import main


def read_csv(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_void_restores_levels_and_reverses_the_fee(scenario, tmp_path):
    # INV-1 goes 1 -> 2 (fee 5.00); INV-2 is piggybacked 0 -> 1 in the same letter.
    outcome = scenario.run([
        item("INV-1", 30, "400.00", dunning_level=1, last_dunned_on=days_before(20)),
        item("INV-2", 3, "50.00"),
    ])
    [letter] = outcome.letters
    target = tmp_path / "void"
    result = CliRunner().invoke(main, ["void", str(outcome.out), letter["letter_id"], "--out", str(target)])
    assert result.exit_code == 0, result.output
    restore = {r["doc_id"]: r for r in read_csv(target / "levels_restore.csv")}
    assert restore["INV-1"]["level_before"] == "2" and restore["INV-1"]["level_after"] == "1"
    assert restore["INV-1"]["last_dunned_on"] == days_before(20)          # the date before the letter
    assert restore["INV-2"]["level_after"] == "0" and restore["INV-2"]["last_dunned_on"] == ""
    [reversal] = read_csv(target / "fee_reversals.csv")
    assert reversal["fee_doc_id"] == f"REV-FEE-{letter['letter_id']}"
    assert Decimal(reversal["amount"]) == Decimal("-5.00")
    record = json.loads((target / "void.json").read_text())
    assert record["letters"] == [letter["letter_id"]] and record["levels_restored"] == 2


def test_voiding_twice_is_refused(scenario):
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    first = CliRunner().invoke(main, ["void", str(outcome.out), letter["letter_id"]])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(main, ["void", str(outcome.out), letter["letter_id"]])
    assert second.exit_code == 2
    assert "already voided" in second.output and "Traceback" not in second.output


def test_unknown_letter_is_refused_and_writes_nothing(scenario, tmp_path):
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    target = tmp_path / "void"
    result = CliRunner().invoke(main, ["void", str(outcome.out), "DL-20261124-0000000000000000", "--out", str(target)])
    assert result.exit_code == 2
    assert "no letter 'DL-20261124-0000000000000000'" in result.output
    assert not target.exists() and not (outcome.out / "voids.jsonl").exists()


def test_the_run_still_reconciles_after_a_void(scenario):
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    assert CliRunner().invoke(main, ["void", str(outcome.out), letter["letter_id"]]).exit_code == 0
    result = CliRunner().invoke(main, ["reconcile", str(outcome.out)])
    assert result.exit_code == 0, result.output
