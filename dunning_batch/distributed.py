"""The nightly run on a Dask cluster: customers split into shards by a stable hash, one task
per shard, PDFs rendered on the workers, one output folder with the same bytes as a run on
one machine.

The coordinator validates the whole export first (a duplicate document id can span shards),
so every shard decides exactly the rows a single run would accept.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from .errors import UserError
from .letters.batches import batches_of, letter_contexts
from .letters.render import render_batch
from .outputs import OUTPUT_FILES
from .pipeline import DECISION_STAGES, PARSE_STAGES, REJECTION_STAGES, run_stages
from .run import (RunResult, Session, check_decisions, check_inputs, check_letter_ids, open_session,
                  write_folder)

SHARDS_PER_WORKER = 2   # small shards even out customers of very different sizes
RETRIES = 2             # a shard that fails is tried again before the run gives up
# Relations a shard hands back: every output but `rejected`, which the coordinator decides,
# and the letter keys, which the coordinator checks across shards (SPEC §5).
SHARD_RELATIONS = tuple(dict.fromkeys(f.relation for f in OUTPUT_FILES if f.relation != "rejected")) \
    + ("letter_keys",)


def connect_client(address: str):
    """A Dask client for ADDRESS, or for a LocalCluster of N workers with "local:N"."""
    try:  # an optional extra: a run on one machine needs neither package
        from dask.distributed import Client, LocalCluster
    except ImportError:  # its message spans lines (dask's own advice); ours names the extra
        raise UserError(f"--dask {address}: running on a Dask cluster needs the packages dask and distributed, "
                        f"which are not installed here; install them with: pip install 'dunning-batch[dask]'"
                        ) from None

    if address.startswith("local:"):
        try:
            workers = int(address.removeprefix("local:"))
        except ValueError:
            workers = 0
        if workers < 1:
            raise UserError(f"--dask {address!r}: give local:N with N workers, e.g. local:2")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout="10s")
    except OSError as exc:
        raise UserError(f"--dask {address}: no Dask scheduler answers there ({exc})") from None


def run_shard(config_path: str, open_items: str, customers: str, as_of: dt.date, shard: tuple[int, int],
              rejected: pa.Table, pdf: bool, payments: str | None = None) -> dict[str, Any]:
    """One shard's night: its customers' rows (items and payments), decided by the same stages;
    Arrow tables back."""
    session = open_session(config_path, open_items, customers, as_of, shard=shard, payments=payments,
                           stages=PARSE_STAGES)  # the coordinator found the problems
    session.params["render_pdf"] = pdf
    session.con.register("rejected_arrow", rejected)
    session.con.execute("CREATE TABLE rejected AS SELECT * FROM rejected_arrow")
    run_stages(session.con, DECISION_STAGES, session.params, session.log)  # `rejected` came with us
    # letter ids: the coordinator checks the keys of every shard together (a retry would not help)
    check_decisions(session, pdf, letter_ids=False)
    reader = session.con.cursor()  # a fresh cursor: the stages leave results open on the connection
    tables = {name: reader.sql(f"SELECT * FROM {name}").to_arrow_table() for name in SHARD_RELATIONS}
    return {"tables": tables, "rows": dict(session.log.rows)}


def run_distributed(address: str, config_path: str | Path, open_items: str | Path, customers: str | Path,
                    as_of: dt.date, out: Path, *, force: bool, strict: bool | None, pdf: bool,
                    on_stage: Callable | None = None, payments: str | Path | None = None,
                    force_sent: bool = False) -> RunResult:
    client = connect_client(address)
    try:
        session = open_session(config_path, open_items, customers, as_of, on_stage, payments=payments)
        check_inputs(session, strict, pdf)
        run_stages(session.con, REJECTION_STAGES, session.params, session.log)
        shards = max(1, SHARDS_PER_WORKER * len(client.scheduler_info()["workers"]))
        started = time.perf_counter()
        rejected = session.con.cursor().sql("SELECT * FROM rejected").to_arrow_table()
        futures = [client.submit(run_shard, str(config_path), str(open_items), str(customers), as_of,
                                 (k, shards), rejected, pdf, None if payments is None else str(payments),
                                 retries=RETRIES, pure=False)
                   for k in range(shards)]
        _assemble(session, client.gather(futures))
        # SPEC §5: each shard made its ids alone; two keys of different shards may share one
        check_letter_ids(session.con)
        session.log.seconds["shards"] = round(time.perf_counter() - started, 3)
        render = functools.partial(_render_on_workers, client, sender=session.config.sender)
        return write_folder(session, out, force, pdf, render, force_sent)
    finally:
        client.close()


def _assemble(session: Session, results: list[dict[str, Any]]) -> None:
    """The shards' relations as one table each, in file order, and their row counts summed per stage."""
    con = session.con
    order = {f.relation: f.order_by for f in OUTPUT_FILES} | {"letter_keys": "letter_id, letter_key"}
    for name in SHARD_RELATIONS:
        parts = [r["tables"][name] for r in results]
        con.register(f"{name}_parts", pa.concat_tables(parts))
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_parts ORDER BY {order[name]}")
        con.unregister(f"{name}_parts")
    for stage in DECISION_STAGES:
        session.log.rows[stage] = sum(r["rows"].get(stage, 0) for r in results)


def _render_on_workers(client, folder: Path, sender: dict[str, Any]) -> None:
    """The same batches as a local run (letter id order), so the PDFs have the same bytes."""
    contexts = letter_contexts(folder)
    futures = client.map(render_batch, batches_of(contexts), sender=sender, pdf_dir=folder / "pdf",
                         retries=RETRIES, pure=False)
    (folder / "pdf").mkdir(exist_ok=True)
    client.gather(futures)
