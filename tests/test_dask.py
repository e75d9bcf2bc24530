"""`run --dask`: shards of customers on a Dask cluster give the same folder as one machine."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import AS_OF, SPEC_CONFIG, customer, item, write_csv

distributed = pytest.importorskip("distributed")

from dunning_batch import distributed as dunning_distributed  # noqa: E402
from dunning_batch import session as dunning_session  # noqa: E402
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS  # noqa: E402
from dunning_batch.errors import LetterIdCollision, UserError  # noqa: E402
from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES, DEMO_PAYMENTS  # noqa: E402
from dunning_batch.run import run  # noqa: E402
from dunning_batch.synth import write_synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def assert_same_folder(a: Path, b: Path) -> None:
    """Every file byte for byte; run.json too, but for its timings."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for name in files_a:
        if name.name == "run.json":
            left, right = (json.loads((x / name).read_text()) for x in (a, b))
            left.pop("timings_seconds"), right.pop("timings_seconds")
            assert left == right
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local.scheduler_address


def test_demo_on_two_workers_equals_one_machine(cluster, demo_payments_run, tmp_path, monkeypatch):
    """The demo as `make demo` runs it: with its payments export (SPEC §9.5), sharded like the
    customers they belong to. One machine's folder is conftest's demo_payments_run (shared).
    run.json's pdf_environment is the workers', who rendered: this coordinator's WeasyPrint is
    made to say another version, which the folder does not show."""
    import weasyprint

    monkeypatch.setattr(weasyprint, "__version__", "0.0-coordinator")
    one = demo_payments_run
    run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, tmp_path / "dask", rates=DEMO_RATES, dask=cluster, payments=DEMO_PAYMENTS)
    assert (one / "pdf").is_dir()
    charged = duckdb.sql(f"SELECT count(*) FROM read_csv('{one / 'payments_charged.csv'}')").fetchall()
    assert charged[0][0] > 0                                  # the payments did change the night
    assert_same_folder(one, tmp_path / "dask")


def test_synthetic_export_on_two_workers_equals_one_machine(cluster, tmp_path):
    as_of = dt.date(2026, 11, 24)
    write_synthetic(tmp_path / "in", 3000, seed=5, as_of=as_of)
    args = (DEMO_CONFIG, tmp_path / "in" / "open_items.parquet", tmp_path / "in" / "customers.parquet", as_of)
    run(*args, tmp_path / "one", pdf=False)
    run(*args, tmp_path / "dask", pdf=False, dask=cluster)
    manifest = json.loads((tmp_path / "one" / "run.json").read_text())
    assert manifest["inputs"]["open_items"]["rows"] > 10_000 and manifest["letters_per_level"]
    assert_same_folder(tmp_path / "one", tmp_path / "dask")


@pytest.fixture
def threads_cluster():
    """Workers as threads of this process, so that a test can make a shard fail."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as local:
        yield local.scheduler_address


def test_a_shard_that_fails_once_is_retried(threads_cluster, tmp_path, monkeypatch):
    real, calls = dunning_distributed.run_shard, []

    def flaky(*args, **kwargs):
        calls.append(args[4])
        if calls.count(args[4]) == 1:
            raise OSError("worker lost its disk for a moment")
        return real(*args, **kwargs)

    monkeypatch.setattr(dunning_distributed, "run_shard", flaky)
    run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, tmp_path / "out", rates=DEMO_RATES, pdf=False, dask=threads_cluster)
    assert (tmp_path / "out" / "run.json").is_file()
    assert len(calls) == 2 * len(set(calls))  # every shard: one failure, one success


def test_a_shard_that_fails_for_good_leaves_no_folder(threads_cluster, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("this shard cannot be read")

    monkeypatch.setattr(dunning_distributed, "run_shard", broken)
    with pytest.raises(OSError):
        run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, tmp_path / "out", rates=DEMO_RATES, pdf=False, dask=threads_cluster)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))


def test_letter_ids_that_collide_across_shards_stop_the_run(threads_cluster, tmp_path, monkeypatch):
    """SPEC §5 across shards: each shard decides its own customers, so two keys of different
    shards sharing an id show only at the coordinator. The id is cut to 1 hex digit (at 16 no
    collision can be found) and the two customers are picked in different shards."""
    shards = dunning_distributed.SHARDS_PER_WORKER * 1           # one worker in threads_cluster

    def digit(customer_id: str) -> str:
        return hashlib.sha256(f"{customer_id}|EUR||".encode("utf-8")).hexdigest()[0]

    def shard(customer_id: str) -> int:                          # sql/00_macros.sql shard_of
        return int(hashlib.md5(customer_id.encode("utf-8")).hexdigest()[:8], 16) % shards

    other = next(c for c in (f"C{n}" for n in range(2, 500)) if digit(c) == digit("C1") and shard(c) != shard("C1"))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "config.toml").write_text(SPEC_CONFIG, encoding="utf-8")
    write_csv(folder / "open_items.csv", [item("INV-1", 10, "100.00"), item("INV-2", 10, "100.00", customer_id=other)],
              OPEN_ITEM_COLUMNS)
    write_csv(folder / "customers.csv", [customer("C1"), customer(other)], CUSTOMER_COLUMNS)
    args = (folder / "config.toml", folder / "open_items.csv", folder / "customers.csv", AS_OF)
    real = dunning_session.define_macros

    def one_hex_digit(con):
        real(con)
        con.execute("CREATE OR REPLACE MACRO letter_id_hex_digits() AS 1")

    monkeypatch.setattr(dunning_session, "define_macros", one_hex_digit)
    keys = " and ".join(repr(k) for k in sorted(["C1|EUR||", f"{other}|EUR||"]))
    with pytest.raises(LetterIdCollision, match=re.escape(keys)):
        run(*args, tmp_path / "out", pdf=False, dask=threads_cluster)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))
    monkeypatch.undo()                                           # 16 hex digits: two letters
    run(*args, tmp_path / "out", pdf=False, dask=threads_cluster)
    assert len(pq.read_table(tmp_path / "out" / "letters.parquet")) == 2


HIDDEN = "weasyprint hidden by test_dask"   # where a worker keeps its WeasyPrint while it is hidden


def weasyprint_says(version: str | None) -> str:
    """Runs on a worker: its WeasyPrint made to say `version`, as another installation would, or
    (None) made impossible to import, as on a machine without it; the version it said before."""
    import sys
    import weasyprint

    before = weasyprint.__version__
    if version is None:
        sys.modules[HIDDEN], sys.modules["weasyprint"] = weasyprint, None
    else:
        weasyprint.__version__ = version
    return before


def weasyprint_back(version: str) -> None:
    import sys

    module = sys.modules.pop(HIDDEN, None) or sys.modules["weasyprint"]
    sys.modules["weasyprint"], module.__version__ = module, version


@pytest.mark.parametrize("other_worker", ["another WeasyPrint", "no WeasyPrint"])
def test_workers_that_would_write_other_pdf_bytes_stop_the_run_before_it_decides(cluster, tmp_path, monkeypatch,
                                                                                  other_worker):
    """One worker of the two as if another WeasyPrint were installed there (a letter's bytes
    would depend on the worker that rendered it), or none: the run stops at its start (nothing
    decided, nothing written), naming the worker and what it has."""
    monkeypatch.setattr(dunning_distributed, "decide_on_cluster", lambda session: pytest.fail("the night was decided"))
    with distributed.Client(cluster) as client:
        first, other = sorted(client.scheduler_info()["workers"])
        [before] = client.run(weasyprint_says, "0.0-other" if other_worker == "another WeasyPrint" else None,
                              workers=[other]).values()
        try:
            with pytest.raises(UserError) as stopped:
                run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, tmp_path / "out", rates=DEMO_RATES, dask=cluster)
        finally:
            client.run(weasyprint_back, before, workers=[other])
    message = str(stopped.value)
    if other_worker == "another WeasyPrint":
        assert message.startswith(f"--dask {cluster}: the workers would write different PDF bytes ({first}: PDF "
                                  f"fonts subset by ")
        assert f"(WeasyPrint {before}, pydyf" in message and f"{other}: PDF fonts subset by " in message
        assert "(WeasyPrint 0.0-other, pydyf" in message
        assert message.endswith('give every worker the same WeasyPrint, pydyf, font subsetter and fonts '
                                '(README "Set-up"), or run without --dask')
    else:
        assert message.startswith(f"--dask {cluster}: worker {other} cannot render letters (ModuleNotFoundError: import of weasyprint halted")
        assert message.endswith("install dunning_batch and WeasyPrint's system libraries there as on this machine "
                                '(README "Set-up"), or run with --no-pdf')
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []                     # nothing written


@pytest.mark.parametrize("missing", [("distributed",), ("dask", "distributed")])
def test_without_the_dask_extra_the_user_is_told_what_to_install(tmp_path, missing):
    """As on a machine installed without the [dask] extra: the import is made to fail in the
    CLI's own process, which a user runs with a relative --out."""
    hide = "; ".join(f"sys.modules[{name!r}] = None" for name in missing)
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; {hide}; from dunning_batch.cli import main; main()",
         "run", "--config", str(DEMO_CONFIG), "--open-items", str(DEMO_ITEMS), "--customers", str(DEMO_CUSTOMERS),
         "--as-of", DEMO_AS_OF.isoformat(), "--out", "out", "--dask", "local:2"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("--dask local:2: running on a Dask cluster needs the packages dask and distributed")
    assert line.endswith("install them with: pip install 'dunning-batch[dask]'")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_with_a_ledger_only_the_coordinator_reads_it_and_shards_take_its_state(cluster, tmp_path):
    """The demo's night 1 recorded, its levels file not re-imported; night 2 with
    stale_export = use_ledger on the cluster gives the folder of one machine: the shards got
    the state the coordinator took from the ledger (they cannot open it: the run holds it)."""
    night2 = DEMO_AS_OF + dt.timedelta(days=14)
    for where in ("one", "dask"):
        ledger = tmp_path / f"{where}.duckdb"
        run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, tmp_path / f"{where}-1", rates=DEMO_RATES, payments=DEMO_PAYMENTS,
            pdf=False, ledger=ledger)
        run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, night2, tmp_path / where, rates=DEMO_RATES, payments=DEMO_PAYMENTS, pdf=False,
            ledger=ledger, stale_export="use_ledger", dask=cluster if where == "dask" else None)
    for name in ("letters.parquet", "letter_lines.parquet", "decisions.parquet", "levels_update.parquet",
                 "payments_charged.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    taken = json.loads((tmp_path / "dask" / "run.json").read_text())["ledger"]
    assert taken["lagging_items"] > 0 and taken["lagging_payments"] == 1
    levels = dict(duckdb.sql(f"SELECT doc_id, level_before FROM '{tmp_path / 'dask' / 'decisions.parquet'}'").fetchall())
    assert levels["DBM-40004"] == 2                           # 1 in the export, 2 after night 1 (the ledger)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.allow_skip("Linux only: reads processes from /proc")
def test_a_local_cluster_the_run_made_is_gone_when_the_run_returns(scenario):
    """run(..., dask="local:2") from Python (a scheduler that calls the job, or a test): the
    LocalCluster the run starts is closed with its client, so its two worker processes do not
    outlive the run (they did: the client was closed, the cluster left to the garbage collector)."""
    from test_render_environment import spawned_children

    before = set(spawned_children())
    scenario.run([item("INV-1", 30)], [customer("C1")], dask="local:2")
    assert set(spawned_children()) - before == set()
