"""The run's side of the ledger (issue 17, README "Running every night"): a run compares the
export with what the ledger recorded, stops or takes the later state, records its folder, and
survives being killed between the folder and the ledger.

The world is tests/test_nights.py's: C1's INV-1 (8 000.00, level 1 since 2026-11-04, due
2026-10-25) and C2's INV-2 (3 000.00, level 0, due 2026-11-14), two late payments, a policy
with fees, posted interest, EU compensation and interest on late payments. Night 1 (D1,
2026-11-24) raises INV-1 to 2 and INV-2 to 1 and charges P-1's late interest; night 2 is D2,
2026-12-18.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, customer, write_csv
from test_nights import CONFIG, D1, D2

from dunning_batch.config import OPEN_ITEM_COLUMNS, PAYMENT_COLUMNS
from dunning_batch.errors import UserError
from dunning_batch.ledger.store import hold
from dunning_batch.run import run

OUTPUTS = ("letters.parquet", "letter_lines.parquet", "decisions.parquet", "levels_update.parquet",
           "fee_documents.csv", "compensation_documents.csv", "interest_documents.csv", "payments_charged.csv",
           "customer_actions.csv")


class Erp:
    """The ERP's export, and the re-import of a run's levels file and charged payments (only
    those: the fee documents stay out, so two worlds differ only by the levels file)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.items = {
            "INV-1": {"doc_id": "INV-1", "customer_id": "C1", "doc_type": "invoice", "currency": "EUR",
                      "due_date": "2026-10-25", "amount": "8000.00", "open_amount": "8000.00", "dunning_level": 1,
                      "last_dunned_on": "2026-11-04"},
            "INV-2": {"doc_id": "INV-2", "customer_id": "C2", "doc_type": "invoice", "currency": "EUR",
                      "due_date": "2026-11-14", "amount": "3000.00", "open_amount": "3000.00", "dunning_level": 0},
        }
        self.payments = {
            "P-1": {"payment_id": "P-1", "customer_id": "C1", "doc_id": "INV-0", "currency": "EUR",
                    "due_date": "2026-09-01", "paid_on": "2026-09-11", "amount": "2000.00"},
        }
        (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
        write_csv(folder / "customers.csv", [customer("C1"), customer("C2")], ("customer_id", "name", "address"))

    def export(self, day: dt.date) -> dict:
        """The night's export files, as keyword arguments of `run`."""
        items = write_csv(self.folder / f"items-{day}.csv", list(self.items.values()), OPEN_ITEM_COLUMNS)
        pays = write_csv(self.folder / f"payments-{day}.csv", list(self.payments.values()), PAYMENT_COLUMNS)
        return {"config_path": self.folder / "config.toml", "open_items": items,
                "customers": self.folder / "customers.csv", "payments": pays}

    def night(self, day: dt.date, out: str, **options) -> Path:
        target = self.folder / out
        run(as_of=day, out=target, pdf=False, **self.export(day), **options)
        return target

    def reimport(self, out: Path) -> None:
        con = duckdb.connect()
        for row in con.sql(f"SELECT * FROM read_parquet('{out}/levels_update.parquet')").fetchall():
            u = dict(zip(con.sql(f"SELECT * FROM read_parquet('{out}/levels_update.parquet')").columns, row))
            self.items[u["doc_id"]].update(
                dunning_level=u["level_after"], last_dunned_on=_iso(u["last_dunned_on"]),
                compensation_charged=str(u["compensation_charged"]).lower(),
                interest_paid_to=_iso(u["interest_paid_to"]))
        for (payment_id,) in con.sql(f"SELECT payment_id FROM read_csv('{out}/payments_charged.csv')").fetchall():
            self.payments[payment_id]["interest_charged"] = "true"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def ledger_rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def manifest(out: Path) -> dict:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


@pytest.fixture
def erp(tmp_path) -> Erp:
    return Erp(tmp_path)


def test_a_missed_reimport_stops_the_next_night_naming_items_and_levels_file(erp, tmp_path):
    ledger = tmp_path / "ledger.duckdb"
    night1 = erp.night(D1, "out-1", ledger=ledger)
    with pytest.raises(UserError) as stop:
        erp.night(D2, "out-2", ledger=ledger)  # the levels file of night 1 never reached the ERP
    message = str(stop.value)
    assert "2 item(s) and 1 charged late payment(s)" in message
    assert "INV-1: level 1 in the export, 2 after DL-20261124-" in message
    assert "INV-2: level 0 in the export, 1 after DL-20261124-" in message
    assert f"({night1 / 'levels_update.csv'} and payments_charged.csv) were not re-imported" in message
    assert "stale_export = \"use_ledger\"" in message and "nothing was written" in message
    assert not (tmp_path / "out-2").exists()
    assert ledger_rows(ledger, "SELECT run_date, status FROM runs") == [(D1, "finished")]

    erp.reimport(night1)  # what the message asks: then the night runs
    night2 = erp.night(D2, "out-2", ledger=ledger)
    assert manifest(night2)["ledger"]["lagging_items"] == 0


def test_use_ledger_decides_as_if_the_levels_file_had_been_reimported(tmp_path):
    # world A: the ERP re-imports night 1; world B: it does not, and night 2 takes the ledger's state
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, b = Erp(tmp_path / "a"), Erp(tmp_path / "b")
    a.reimport(a.night(D1, "out-1", ledger=tmp_path / "a" / "ledger.duckdb"))
    a2 = a.night(D2, "out-2", ledger=tmp_path / "a" / "ledger.duckdb")
    b.night(D1, "out-1", ledger=tmp_path / "b" / "ledger.duckdb")
    b2 = b.night(D2, "out-2", ledger=tmp_path / "b" / "ledger.duckdb", stale_export="use_ledger")
    for name in OUTPUTS:
        assert (a2 / name).read_bytes() == (b2 / name).read_bytes(), name
    report = manifest(b2)["ledger"]
    assert (report["stale_export"], report["lagging_items"], report["lagging_payments"]) == ("use_ledger", 2, 1)
    assert [row.split(":")[0] for row in report["first_lagging"]] == ["INV-1", "INV-2"]
    summary = (b2 / "summary.html").read_text()
    assert "2 item(s) and 1 late payment(s) lagged the ledger" in summary
    assert "the ledger's later state was taken, as if" in summary
    assert "The export agreed with the ledger." in (a2 / "summary.html").read_text()
    # no day of interest, no compensation, no fee charged twice: night 2 starts where night 1 ended
    lines = duckdb.sql(f"SELECT doc_id, line_type, interest_from, interest_to FROM '{b2}/letter_lines.parquet' "
                       f"WHERE line_type IN ('interest', 'late_interest', 'compensation') ORDER BY ALL").fetchall()
    assert lines == [("INV-1", "interest", dt.date(2026, 11, 25), D2),      # posted to D1 on night 1
                     ("INV-2", "compensation", None, None),                 # INV-2 reaches level 2 now
                     ("INV-2", "interest", dt.date(2026, 11, 15), D2)]      # P-1 was charged on night 1


def test_an_export_ahead_of_the_ledger_is_taken_and_noted(erp, tmp_path):
    ledger = tmp_path / "ledger.duckdb"
    erp.reimport(erp.night(D1, "out-1", ledger=ledger))
    # the ERP raised INV-2 by hand to level 2 on 2026-11-30
    erp.items["INV-2"].update(dunning_level=2, last_dunned_on="2026-11-30")
    night2 = erp.night(D2, "out-2", ledger=ledger)
    report = manifest(night2)["ledger"]
    assert (report["lagging_items"], report["ahead_items"]) == (0, 1)
    decisions = dict(duckdb.sql(f"SELECT doc_id, level_before FROM '{night2}/decisions.parquet'").fetchall())
    assert decisions["INV-2"] == 2


def test_use_export_takes_the_erp_state_and_records_it(erp, tmp_path):
    ledger = tmp_path / "ledger.duckdb"
    erp.reimport(erp.night(D1, "out-1", ledger=ledger))
    # on purpose: the ERP reset INV-1 to level 0 and blocked it (a dispute settled by phone)
    erp.items["INV-1"].update(dunning_level=0, last_dunned_on=None, blocked="true")
    with pytest.raises(UserError, match="1 item"):
        erp.night(D2, "out-2", ledger=ledger)
    night2 = erp.night(D2, "out-2", ledger=ledger, stale_export="use_export")
    assert manifest(night2)["ledger"]["lagging_items"] == 1
    assert ledger_rows(ledger, "SELECT doc_id, level_after, letter_id FROM item_states WHERE letter_id IS NULL") == [
        ("INV-1", 0, None)]
    erp.reimport(night2)
    night3 = erp.night(D2 + dt.timedelta(days=1), "out-3", ledger=ledger)  # stop, and nothing lags now
    assert manifest(night3)["ledger"]["lagging_items"] == 0


def test_a_night_run_again_marks_the_letters_a_server_took_as_sent(erp, tmp_path):
    ledger = tmp_path / "ledger.duckdb"
    first = erp.night(D1, "out-1", ledger=ledger)
    letters = sorted(r[0] for r in duckdb.sql(f"SELECT letter_id FROM '{first}/letters.parquet'").fetchall())
    con = duckdb.connect(str(ledger))
    con.execute("INSERT INTO sends VALUES ('s1', $letter, NULL, $folder, 'accepted', '250 ok', 1, now())",
                {"letter": letters[0], "folder": str(first)})
    con.close()
    again = erp.night(D1, "out-1b", ledger=ledger)  # the same night into a second folder
    assert manifest(again)["ledger"]["already_sent"] == [letters[0]]
    assert ledger_rows(ledger, "SELECT run_date, status FROM runs ORDER BY run_id") == [
        (D1, "finished"), (D1, "finished")]
    # the analysts' views: the second run is the night's latest; each item line once per run
    assert ledger_rows(ledger, "SELECT run_id, latest_of_night FROM night_runs ORDER BY run_id") == [
        (1, False), (2, True)]
    assert ledger_rows(ledger, "SELECT doc_id, level_after, latest_of_night FROM item_letters ORDER BY ALL") == [
        ("INV-1", 2, False), ("INV-1", 2, True), ("INV-2", 1, False), ("INV-2", 1, True)]
    assert ledger_rows(ledger, "SELECT letter_id, accepted, last_status FROM letter_deliveries") == [
        (letters[0], True, "accepted")]


def test_two_runs_on_one_ledger_the_second_stops(erp, tmp_path):
    ledger = tmp_path / "ledger.duckdb"
    with hold(ledger, "run", "night 2026-11-24 into /somewhere"):
        with pytest.raises(UserError, match=r"in use by another run \(pid \d+: night 2026-11-24 into /somewhere\)"):
            erp.night(D1, "out-1", ledger=ledger)
    assert not (tmp_path / "out-1").exists()


DYING_CHILD = """
import fcntl, json, sys, time
lock = open(sys.argv[1], "a+")
fcntl.flock(lock, fcntl.LOCK_EX)
lock.seek(0); lock.truncate()
lock.write(json.dumps({"pid": int(sys.argv[2]), "command": "run", "what": "night 2026-11-24 into /killed"}))
lock.flush()
print("held", flush=True)
time.sleep(float(sys.argv[3]))
"""


def dead_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("still_held, stops", [(0.5, False), (30, True)], ids=["comes-free", "stays-held"])
def test_a_lock_left_in_the_name_of_a_killed_run_is_waited_for_a_moment(erp, tmp_path, monkeypatch, still_held,
                                                                         stops):
    """A killed run is reaped before a child it was starting has finished dying with a copy of
    its descriptors (tests/test_ledger_nights.py saw it): the lock names a run that is gone.
    The next run waits a moment (5 s; 2 s here) for it to come free and runs; a lock that stays
    held still stops it (exit 2), naming the run."""
    monkeypatch.setattr("dunning_batch.ledger.store.DEAD_HOLDER_SECONDS", 2)
    ledger = tmp_path / "ledger.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", DYING_CHILD, str(ledger) + ".lock", str(dead_pid()),
                               str(still_held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        if stops:
            with pytest.raises(UserError, match=r"in use by another run \(pid \d+: night 2026-11-24 into /killed\)"):
                erp.night(D1, "out-1", ledger=ledger)
            assert not (tmp_path / "out-1").exists()
        else:
            erp.night(D1, "out-1", ledger=ledger)
            assert (tmp_path / "out-1" / "run.json").is_file()
    finally:
        holder.kill()
        holder.wait()


def test_a_file_that_is_no_ledger_is_refused(erp, tmp_path):
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    with pytest.raises(UserError, match="a DuckDB database but not a dunning_batch ledger"):
        erp.night(D1, "out-1", ledger=other)
    (tmp_path / "text.duckdb").write_text("hello")
    with pytest.raises(UserError, match="not a ledger this tool can open"):
        erp.night(D1, "out-1", ledger=tmp_path / "text.duckdb")


KILLED_RUN = """
import datetime as dt, os, sys
import dunning_batch.run as r
from dunning_batch.outputs.writer import AtomicFolder
if sys.argv[1] == "before_rename":
    AtomicFolder.commit = lambda self: os._exit(9)
else:
    r.record_finished = lambda session: os._exit(9)
r.run("config.toml", "items-2026-11-24.csv", "customers.csv", dt.date(2026, 11, 24), "out-1", pdf=False,
      payments="payments-2026-11-24.csv", ledger="ledger.duckdb")
"""


@pytest.mark.parametrize("moment", ["after_rename", "before_rename"])
def test_a_run_killed_between_folder_and_ledger_is_adopted_or_dropped(erp, tmp_path, moment):
    erp.export(D1)
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, moment], cwd=tmp_path, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert killed.returncode == 9, killed.stderr
    assert ledger_rows(tmp_path / "ledger.duckdb", "SELECT status FROM runs") == [("pending",)]
    assert (tmp_path / "out-1").exists() == (moment == "after_rename")
    ledger = tmp_path / "ledger.duckdb"
    if moment == "after_rename":
        # the folder is in place: its letters count, so the next night, not re-imported, stops
        with pytest.raises(UserError, match="2 item"):
            erp.night(D2, "out-2", ledger=ledger)
        assert ledger_rows(ledger, "SELECT status FROM runs") == [("finished",)]
    else:
        night2 = erp.night(D2, "out-2", ledger=ledger)  # nothing was issued: nothing lags
        assert any("never appeared, so it was dropped" in n for n in manifest(night2)["ledger"]["notes"])
        assert ledger_rows(ledger, "SELECT status FROM runs ORDER BY run_id") == [("dropped",), ("finished",)]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_the_cli_names_the_ledger_relative_to_the_config_and_warns_without_one(erp, tmp_path):
    (tmp_path / "nightly").mkdir()
    config = (tmp_path / "config.toml").read_text().replace('[run]\n', '[run]\nledger = "state/ledger.duckdb"\n', 1)
    (tmp_path / "nightly.toml").write_text(config)
    (tmp_path / "state").mkdir()
    erp.export(D1)
    common = ["--open-items", "../items-2026-11-24.csv", "--customers", "../customers.csv", "--payments",
              "../payments-2026-11-24.csv", "--as-of", "2026-11-24", "--no-pdf"]
    done = cli("run", "--config", "../nightly.toml", *common, "--out", "out-1", cwd=tmp_path / "nightly")
    assert done.returncode == 0, done.stderr
    assert f"ledger {tmp_path / 'state' / 'ledger.duckdb'}: recorded" in done.stdout
    assert "no ledger" not in done.stderr
    bare = cli("run", "--config", "../config.toml", *common, "--out", "out-2", cwd=tmp_path / "nightly")
    assert bare.returncode == 0, bare.stderr
    assert bare.stderr.startswith("no ledger: nothing stops a letter from being issued or sent twice")
    what_if = cli("run", "--config", "../nightly.toml", *common, "--out", "out-3", "--no-ledger",
                  cwd=tmp_path / "nightly")
    assert what_if.returncode == 0 and "no ledger" in what_if.stderr
    assert ledger_rows(tmp_path / "state" / "ledger.duckdb", "SELECT count(*) FROM runs") == [(1,)]
