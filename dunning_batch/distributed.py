"""The driver of a run on a Dask cluster (`run --dask`): customers split into shards by a
stable hash, one task per shard deciding its night with the same stages, PDFs rendered on the
workers, one output folder with the same bytes as a run on one machine.

The coordinator validates the whole export first (a duplicate document id can span shards),
so every shard decides exactly the rows a single run would accept. Dask is an optional extra:
it is imported only when a run connects to a cluster.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pyarrow as pa

from .errors import UserError
from .guards import check_decisions, check_letter_ids
from .letters.batches import batches_of, letter_contexts
from .outputs import OUTPUT_FILES
from .ledger.nightly import OVERRIDES
from .pipeline import DECISION_STAGES, PARSE_STAGES, run_stages
from .session import Driver, RunOptions, Session, open_inputs
from .sql_runner import relation_arrow, table_from_arrow

SHARDS_PER_WORKER = 2   # small shards even out customers of very different sizes
RETRIES = 2             # a shard that fails is tried again before the run gives up
# Relations a shard hands back: every output but `rejected`, which the coordinator decides,
# and the letter keys, which the coordinator checks across shards (SPEC §5).
SHARD_RELATIONS = tuple(dict.fromkeys(f.relation for f in OUTPUT_FILES if f.relation != "rejected")) \
    + ("letter_keys",)
# Relations the coordinator decides and hands to every shard: the rejected rows, and the state
# a run with a ledger takes from it (ledger/nightly.py).
GIVEN_RELATIONS = ("rejected", *OVERRIDES)
# Their row order in the folder: the coordinator sorts the shards' rows once.
SHARD_ORDER = {f.relation: f.order_by for f in OUTPUT_FILES} | {"letter_keys": "letter_id, letter_key"}


def on_cluster(address: str) -> Driver:
    """The driver for the cluster at ADDRESS (a scheduler address, or local:N for a LocalCluster)."""
    return Driver(f"dask {address}", start=functools.partial(start_cluster, address=address), decide=decide_on_cluster,
                  render=functools.partial(render_on_workers, address=address))


def start_cluster(session: Session, address: str) -> None:
    """Step (dask): a client of the cluster, closed when the run ends (close_client). A run with
    PDFs checks here, before the night is decided, that every worker writes the same bytes."""
    client = connect_client(address)
    session.exits.callback(close_client, client, address)
    session.cluster = client
    if session.options.pdf:
        workers_pdf_environment(client, address)


def workers_pdf_environment(client, address: str) -> dict[str, Any]:
    """What fixes the PDFs' bytes on the cluster's workers (letters.environment.pdf_environment),
    which must be one environment: else a letter's bytes would depend on the worker that happened
    to render it. UserError naming two workers that differ."""
    from .letters.environment import describe, pdf_environment

    found = client.run(pdf_environment, on_error="return")
    if not found:
        raise UserError(f"--dask {address}: the cluster has no worker to render the letters; start one, "
                        f"or run with --no-pdf")
    failed = sorted(worker for worker, environment in found.items() if isinstance(environment, BaseException))
    if failed:  # e.g. a worker without WeasyPrint or its system libraries
        error = found[failed[0]]
        said = (str(error).splitlines() or [""])[0]
        raise UserError(f"--dask {address}: worker {failed[0]} cannot render letters ({type(error).__name__}: "
                        f"{said}); install dunning_batch and WeasyPrint's system libraries there as on this "
                        f"machine (README \"Set-up\"), or run with --no-pdf")
    first, *others = sorted(found)
    differing = [worker for worker in others if found[worker] != found[first]]
    if differing:
        other = differing[0]
        raise UserError(f"--dask {address}: the workers would write different PDF bytes ({first}: "
                        f"{describe(found[first])}; {other}: {describe(found[other])}); give every worker the "
                        f"same WeasyPrint, pydyf, font subsetter and fonts (README \"Set-up\"), or run without --dask")
    return found[first]


def close_client(client, address: str) -> None:
    """Close a client of connect_client(address) and, when it made its cluster itself (local:N),
    that cluster, so that no worker process outlives its maker."""
    made = client.cluster if address.startswith("local:") else None
    client.close()
    if made is not None:
        made.close()


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


def decide_on_cluster(session: Session) -> None:
    """Step (dask): the decision stages in shards on the workers, each handed the rejected rows
    and the state taken from the ledger (only this coordinator reads the ledger); their
    relations gathered into this session in file order."""
    client, options = session.cluster, session.options
    shards = max(1, SHARDS_PER_WORKER * len(client.scheduler_info()["workers"]))
    with session.log.timed("shards"):
        given = {name: relation_arrow(session.con, name) for name in GIVEN_RELATIONS}
        futures = [client.submit(run_shard, str(options.config_path), str(options.open_items),
                                 None if options.customers is None else str(options.customers),
                                 options.as_of, (k, shards), given, options.pdf,
                                 None if options.payments is None else str(options.payments),
                                 None if options.rates is None else str(options.rates),
                                 retries=RETRIES, pure=False)
                   for k in range(shards)]
        assemble(session, client.gather(futures))
        # SPEC §5: each shard made its ids alone; two keys of different shards may share one
        check_letter_ids(session.con)


def run_shard(config_path: str, open_items: str, customers: str | None, as_of: dt.date, shard: tuple[int, int],
              given: dict[str, pa.Table], pdf: bool, payments: str | None = None,
              rates: str | None = None) -> dict[str, Any]:
    """One shard's night (a task on a worker): its customers' rows (items and payments),
    decided by the same stages with every exchange rate (SPEC §11.1); Arrow tables back."""
    session = Session(RunOptions(config_path, open_items, customers, as_of, payments=payments, pdf=pdf,
                                 rates=rates))
    open_inputs(session, shard=shard)
    run_stages(session.con, PARSE_STAGES, session.params, session.log)  # the coordinator found the problems
    for name, table in given.items():
        table_from_arrow(session.con, name, table)
    run_stages(session.con, DECISION_STAGES, session.params, session.log)  # `rejected` came with us
    # letter ids: the coordinator checks the keys of every shard together (a retry would not help)
    check_decisions(session, letter_ids=False)
    tables = {name: relation_arrow(session.con, name) for name in SHARD_RELATIONS}
    return {"tables": tables, "rows": dict(session.log.rows)}


def assemble(session: Session, results: list[dict[str, Any]]) -> None:
    """The shards' relations as one table each, in file order, and their row counts summed per stage."""
    for name in SHARD_RELATIONS:
        order = tuple(column.strip() for column in SHARD_ORDER[name].split(","))
        table_from_arrow(session.con, name, pa.concat_tables(r["tables"][name] for r in results), order_by=order)
    for stage in DECISION_STAGES:
        session.log.rows[stage] = sum(r["rows"].get(stage, 0) for r in results)


def render_on_workers(session: Session, address: str) -> None:
    """Step (dask): the letters in batches as even as they come over the cluster's workers (a
    letter's PDF does not depend on its batch: the bytes are those of a local run)."""
    if not session.options.pdf:
        return
    from .letters.render import render_batch  # WeasyPrint is imported only by runs that render

    with session.log.timed("render_pdfs"):
        folder = session.folder.path
        workers = max(1, sum(session.cluster.nthreads().values()))
        futures = session.cluster.map(render_batch, batches_of(letter_contexts(folder), workers), sender=session.config.sender,
                                      pdf_dir=folder / "pdf", retries=RETRIES, pure=False)
        (folder / "pdf").mkdir(exist_ok=True)
        session.cluster.gather(futures)
        # after the letters: the workers that rendered them (one may have joined since the start)
        session.pdf_environment = workers_pdf_environment(session.cluster, address)
