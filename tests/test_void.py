"""`void` undoes letters sent by mistake: levels restored, fees reversed, never twice."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, customer, days_before, item, with_config

from dunning_batch.checks.void import void_letters
from dunning_batch.cli import main

VOID_DAY = "2026-11-27"  # three days after the run (conftest.AS_OF): the day the letters are voided


def void(out, *args):
    """`dunning-batch void OUT ARGS --as-of VOID_DAY` in this process."""
    return CliRunner().invoke(main, ["void", str(out), *map(str, args), "--as-of", VOID_DAY])


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
    result = void(outcome.out, letter["letter_id"], "--out", target)
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
    first = void(outcome.out, letter["letter_id"])
    assert first.exit_code == 0, first.output
    second = void(outcome.out, letter["letter_id"])
    assert second.exit_code == 2
    assert "already voided" in second.output and "Traceback" not in second.output


def test_unknown_letter_is_refused_and_writes_nothing(scenario, tmp_path):
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    target = tmp_path / "void"
    result = void(outcome.out, "DL-20261124-0000000000000000", "--out", target)
    assert result.exit_code == 2
    assert "no letter 'DL-20261124-0000000000000000'" in result.output
    assert not target.exists() and not (outcome.out / "voids.jsonl").exists()


def test_the_run_still_reconciles_after_a_void(scenario):
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    assert void(outcome.out, letter["letter_id"]).exit_code == 0
    result = CliRunner().invoke(main, ["reconcile", str(outcome.out)])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------ customer actions and the void's day

def final_notice(doc_id: str = "INV-1", **fields):
    """An item at level 2, 50 days past due: it gets the final notice (level 3: fee 10.00,
    credit hold, payment term IMMEDIATE in conftest.SPEC_CONFIG)."""
    return item(doc_id, 50, "800.00", dunning_level=2, last_dunned_on=days_before(30), **fields)


def test_void_of_a_final_notice_undoes_its_customer_actions_and_dates_reversals_the_void_day(scenario, tmp_path):
    outcome = scenario.run([final_notice()])
    [letter] = outcome.letters
    lid = letter["letter_id"]
    assert [(a["action"], a["value"]) for a in outcome.actions] == [("credit_hold", "true"),
                                                                     ("payment_term", "IMMEDIATE")]
    target = tmp_path / "void"
    result = void(outcome.out, lid, "--out", target)
    assert result.exit_code == 0, result.output
    assert "voided on 2026-11-27" in result.output and "2 customer action(s) to undo" in result.output
    assert read_csv(target / "customer_actions_restore.csv") == [
        {"customer_id": "C1", "action": "credit_hold", "value": "true", "restore": "release", "letter_id": lid,
         "run_date": "2026-11-24", "void_date": VOID_DAY},
        {"customer_id": "C1", "action": "payment_term", "value": "IMMEDIATE", "restore": "previous",
         "letter_id": lid, "run_date": "2026-11-24", "void_date": VOID_DAY},
    ]
    record = json.loads((target / "void.json").read_text())
    assert record["void_date"] == VOID_DAY and record["run_date"] == "2026-11-24"
    assert record["customer_actions_restored"] == [
        {"customer_id": "C1", "action": "credit_hold", "value": "true", "restore": "release", "letter_id": lid},
        {"customer_id": "C1", "action": "payment_term", "value": "IMMEDIATE", "restore": "previous",
         "letter_id": lid}]
    [reversal] = read_csv(target / "fee_reversals.csv")
    assert (reversal["amount"], reversal["doc_date"], reversal["due_date"]) == ("-10.00", VOID_DAY, VOID_DAY)


def test_an_action_a_letter_still_in_force_sets_is_not_undone(scenario):
    # one letter per document: two final notices for C1, each setting the credit hold and the term
    config = with_config({'grouping = "customer"': 'grouping = "document"'})
    outcome = scenario.run([final_notice("INV-1"), final_notice("INV-2")], config=config)
    first, second = (x["letter_id"] for x in outcome.letters)
    assert void(outcome.out, first, "--out", scenario.tmp_path / "v1").exit_code == 0
    # the other letter still holds the customer: nothing to undo yet
    assert read_csv(scenario.tmp_path / "v1" / "customer_actions_restore.csv") == []
    assert void(outcome.out, second, "--out", scenario.tmp_path / "v2").exit_code == 0
    rows = read_csv(scenario.tmp_path / "v2" / "customer_actions_restore.csv")
    assert [(r["action"], r["restore"], r["letter_id"]) for r in rows] == [
        ("credit_hold", "release", second), ("payment_term", "previous", second)]


def test_void_needs_its_day_and_not_one_before_the_run(scenario):
    outcome = scenario.run([final_notice()])
    [letter] = outcome.letters
    missing = CliRunner().invoke(main, ["void", str(outcome.out), letter["letter_id"]])
    assert missing.exit_code == 2 and "Missing option '--as-of'" in missing.output
    early = CliRunner().invoke(main, ["void", str(outcome.out), letter["letter_id"], "--as-of", "2026-11-23"])
    assert early.exit_code == 2, early.output
    assert early.output.strip() == ("--as-of 2026-11-23: before the run date 2026-11-24 of "
                                    f"{outcome.out}; a letter is voided on or after the day it went out")
    assert not (outcome.out / "voids").exists() and not (outcome.out / "voids.jsonl").exists()


# ------------------------------------------------------------ the record: locked, whole, checked

# `dunning-batch ARGS` that waits for the file `go` once it has imported everything, so two of
# them start together; a slow disk (half a second to put the void's folder in place) keeps
# both inside the read-check-record of a void at once unless a lock keeps them apart
STARTER = """
import os, sys, time
from dunning_batch.checks import void
from dunning_batch.cli import main
commit = void.AtomicFolder.commit
def slow_commit(self):
    time.sleep(0.5)
    commit(self)
void.AtomicFolder.commit = slow_commit
open(f"ready-{os.getpid()}", "w").close()
while not os.path.exists("go"):
    time.sleep(0.001)
main()
"""


def test_two_voids_of_one_letter_started_together_reverse_it_once(scenario):
    outcome = scenario.run([item("INV-1", 30, "400.00", dunning_level=1, last_dunned_on=days_before(20))])
    [letter] = outcome.letters
    work = outcome.out.parent  # the commands run there, on relative paths, as a user types them
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", STARTER, "void", outcome.out.name, letter["letter_id"],
                                   "--out", f"void-{n}", "--as-of", VOID_DAY],
                                  cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for n in (1, 2)]
    deadline = time.monotonic() + 60
    while len(list(work.glob("ready-*"))) < 2 and time.monotonic() < deadline:  # both imported everything
        time.sleep(0.01)
    (work / "go").touch()
    results = [p.communicate(timeout=60) for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes == [0, 2], results
    [refused] = [err for p, (_, err) in zip(processes, results) if p.returncode == 2]
    assert f"letter {letter['letter_id']} was already voided by VOID-" in refused
    assert len((outcome.out / "voids.jsonl").read_text().splitlines()) == 1
    written = [work / f"void-{n}" for n in (1, 2) if (work / f"void-{n}").exists()]
    assert len(written) == 1                                      # one fee reversal in all
    assert [r["amount"] for r in read_csv(written[0] / "fee_reversals.csv")] == ["-5.00"]


@pytest.mark.parametrize("tamper", ["fee", "letters"])
def test_a_void_of_a_folder_whose_files_changed_since_the_run_reverses_nothing(scenario, tamper):
    """A fee of 5.00 edited to 500.00 in fee_documents.csv (or a deleted letters.parquet) made a
    reversal of -500.00 with exit 0: the void now checks the run's files against run.json first."""
    outcome = scenario.run([item("INV-1", 30, "400.00", dunning_level=1, last_dunned_on=days_before(20))])
    [letter] = outcome.letters
    fees = outcome.out / "fee_documents.csv"
    if tamper == "fee":
        fees.write_text(fees.read_text().replace(",5.00,", ",500.00,", 1))
    else:
        (outcome.out / "letters.parquet").unlink()
    result = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "void", ".",
                             letter["letter_id"], "--as-of", VOID_DAY],          # from inside the folder
                            cwd=outcome.out, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    changed = "fee_documents.csv changed since the run" if tamper == "fee" else "letters.parquet is missing"
    assert result.stderr == (f".: {changed} (run.json records the files as the run wrote them), so nothing was "
                             f"voided; restore the file from a backup, or run the night again into a new folder\n")
    assert not (outcome.out / "voids").exists() and not (outcome.out / "voids.jsonl").exists()


def test_voids_record_the_same_folder_from_anywhere(scenario):
    """voids.jsonl and void.json said where the void went relative to where `void` was run
    ("out/voids/VOID-..." from beside the folder, "voids/VOID-..." from inside it)."""
    outcome = scenario.run([item("INV-1", 30, "400.00"), item("INV-2", 30, "90.00", customer_id="C2")],
                           [customer("C1"), customer("C2")])
    first, second = (x["letter_id"] for x in outcome.letters)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for cwd, folder, letter in ((outcome.out.parent, outcome.out.name, first), (outcome.out, ".", second)):
        done = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "void", folder,
                               letter, "--as-of", VOID_DAY], cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in (outcome.out / "voids.jsonl").read_text().splitlines()]
    assert [e["folder"] for e in entries] == [f"voids/{e['void_id']}" for e in entries]
    runs = {json.loads((outcome.out / e["folder"] / "void.json").read_text())["run_folder"] for e in entries}
    assert runs == {str(outcome.out.resolve())}


@pytest.mark.parametrize("damage", [
    '{"void_id": "VOID-20261124-0123456789", "lett',   # cut short
    "9" * 5000,                                       # beyond Python's integer conversion (a probe: exit 3)
    "[" * 100_000 + "]" * 100_000,                    # deeper than the JSON parser goes
])
def test_a_damaged_voids_record_is_reported_in_one_sentence(scenario, damage):
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    (outcome.out / "voids.jsonl").write_text(damage + "\n")
    result = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "void",
                             outcome.out.name, letter["letter_id"], "--as-of", VOID_DAY],
                            cwd=outcome.out.parent, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{outcome.out.name}/voids.jsonl is damaged (not valid JSON) at line 1: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (outcome.out / "voids").exists()


def test_the_voids_record_is_replaced_whole_never_cut_short(scenario, monkeypatch):
    outcome = scenario.run([item("INV-1", 30, "400.00"), item("INV-2", 30, "50.00", customer_id="C2")],
                           [customer("C1", name="One"), customer("C2", name="Two")])
    first, second = (x["letter_id"] for x in outcome.letters)
    assert void(outcome.out, first).exit_code == 0
    before = (outcome.out / "voids.jsonl").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)  # the new record never reaches its place
    with pytest.raises(OSError, match="disk full"):
        void_letters(outcome.out, [second], as_of=outcome.letters[0]["run_date"])
    assert (outcome.out / "voids.jsonl").read_bytes() == before
    assert [p.name for p in (outcome.out / "voids").iterdir()] == [json.loads(before)["void_id"]]  # none of it
    assert [p.name for p in outcome.out.iterdir() if p.name.startswith(".voids.jsonl")] == []


def test_a_folder_void_may_read_but_not_write_is_one_sentence_and_nothing_is_voided(scenario, monkeypatch):
    """A probe ran `void` as a user who may read the run's folder but not write it: exit 3."""
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    real = Path.mkdir

    def refused(self, *args, **kwargs):
        if self.name.startswith(".voids") or self.parent == outcome.out:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refused)
    result = void(outcome.out, letter["letter_id"])
    assert result.exit_code == 2, result.output
    assert "cannot write (Permission denied); nothing was voided" in result.output
    assert not (outcome.out / "voids.jsonl").exists()


def test_an_existing_void_folder_is_refused_without_offering_a_force_void_lacks(scenario, tmp_path):
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    (tmp_path / "taken").mkdir()
    result = void(outcome.out, letter["letter_id"], "--out", tmp_path / "taken")
    assert result.exit_code == 2 and "exists; choose another --out" in result.output
    assert "--force" not in result.output


@pytest.mark.parametrize("where", ["pdf/v", "outbox/v", "voids", "other-run/v"])
def test_a_void_folder_inside_the_run_s_pdf_outbox_or_another_run_is_refused(scenario, tmp_path, where):
    """A probe's `void --out OUT/pdf/v` was accepted, and the next `render` deleted the void's
    files while voids.jsonl still named them; in outbox/ it stopped every later `send`."""
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    other = scenario.run([item("INV-2", 30, "400.00")]).out
    target = other / "v" if where.startswith("other-run") else outcome.out / where
    result = void(outcome.out, letter["letter_id"], "--out", target)
    assert result.exit_code == 2, result.output
    said = (f"inside {other}, the output folder of a run" if where.startswith("other-run")
            else f"inside {outcome.out} but not in its voids/")
    assert said in result.output and "nothing was voided" in result.output
    assert not target.exists() and not (outcome.out / "voids.jsonl").exists()


@pytest.mark.parametrize("odd", ["link", "file"])
def test_a_voids_folder_that_is_a_link_or_a_file_is_refused(scenario, tmp_path, odd):
    """A probe's OUT/voids linked to a folder elsewhere got the void's files written there (exit 0);
    a file in its place was exit 3."""
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    voids = outcome.out / "voids"
    voids.symlink_to(elsewhere) if odd == "link" else voids.write_text("x\n")
    result = void(outcome.out, letter["letter_id"])
    assert result.exit_code == 2, result.output
    assert f"{voids}: is {'a link' if odd == 'link' else 'not a folder'}, where the voids of" in result.output
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("odd", ["fifo", "folder", "link"])
def test_a_folder_lock_that_is_no_plain_file_is_refused_not_waited_on(scenario, tmp_path, odd):
    """A probe's OUT/.lock as a named pipe hung `void` and `render`, a folder was exit 3, and a
    link to a missing file made that file elsewhere."""
    outcome = scenario.run([item("INV-1", 30, "400.00")])
    [letter] = outcome.letters
    lock = outcome.out / ".lock"
    lock.unlink(missing_ok=True)
    {"fifo": os.mkfifo, "folder": Path.mkdir, "link": lambda p: p.symlink_to(tmp_path / "made-elsewhere")}[odd](lock)
    for args in (["void", str(outcome.out), letter["letter_id"], "--as-of", VOID_DAY], ["render", str(outcome.out)]):
        result = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                                cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert f"{lock}: is {'a link' if odd == 'link' else 'not a plain file'}, where the commands keep" \
            in result.stderr, result.stderr
    assert not (tmp_path / "made-elsewhere").exists()
