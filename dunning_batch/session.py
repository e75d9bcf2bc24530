"""One run's state, shared by its steps (run.py) and by both drivers (this machine, a Dask
cluster: distributed.py): what the run was asked (RunOptions), what it holds (Session), and
the first step, `load`, that reads the config and the exports into a DuckDB connection.

A step is a function of the Session alone: it reads what earlier steps left there and adds
its own part, so the order of a run is the order of its list of steps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow as pa

from .config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS, Config, load_config
from .config.holiday_calendar import pay_by_holidays
from .config.relations import run_tables
from .errors import UserError
from .ledger.nightly import empty_overrides
from .optional_inputs import OPTIONAL_INPUTS, load_optional, optional_params
from .outputs import AtomicFolder
from .pipeline import INPUT_STAGES, define_macros, run_stages
from .readers import RawInput, load_raw
from .sql_runner import connect, one_thread, rename_relation, table_from_arrow, table_from_file
from .stage_log import StageLog

# The run dates a run takes (--as-of): every date computed from one, up to a century either
# side (plausible_years) and the pay-by dates, stays a date of every library it meets.
FIRST_RUN_DATE = dt.date(1900, 1, 1)
LAST_RUN_DATE = dt.date(2999, 12, 31)
# A night of fewer input rows than one DuckDB row group (122,880) is decided on one thread:
# its scans are one task each, and a second thread only costs scheduling (a one-item run
# took 12 % less CPU on one, 558 against 640 ms; bench/fixed_cost.py). Results do not depend on it.
ONE_THREAD_ROWS = 122_880
REQUIRED_ITEM_COLUMNS = ("doc_id", "customer_id", "currency", "open_amount")
REQUIRED_CUSTOMER_COLUMNS = ("customer_id", "name")
# The raw relations a shard keeps the rows of its customers of (keep_shard).
SHARDED_INPUTS = ("raw_customers", "raw_open_items", "raw_payments")


@dataclass(frozen=True)
class RunOptions:
    """What a run is asked to do: the options of `run` (and `validate`) as values.

    `payments` is the optional payments export of SPEC §9.5, `rates` the optional exchange
    rates of §11.1. `force` replaces an existing `out` only when it is an earlier run's folder
    (outputs/guard.py); one whose letters were sent or voided needs `force_sent` too.
    """

    config_path: str | Path
    open_items: str | Path
    customers: str | Path | None     # None: no customers file ([input.customers] missing = "create")
    as_of: dt.date
    out: Path | None = None
    payments: str | Path | None = None
    force: bool = False
    force_sent: bool = False
    strict: bool | None = None       # None: [run] strict of the config
    pdf: bool = True
    workers: int | None = None       # processes rendering PDFs on this machine
    memory_limit: str | None = None
    on_stage: Callable[[str, int, float], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    # the ledger (README "Running every night"): --ledger, else [run] ledger; none with no_ledger
    ledger: str | Path | None = None
    no_ledger: bool = False
    stale_export: str | None = None  # None: [run] stale_export of the config
    rates: str | Path | None = None  # SPEC §11.1: the exchange rates (--rates)

    @property
    def replaces(self) -> bool:
        """Whether an earlier run's folder at `out` may be replaced (`--force-sent` implies `--force`)."""
        return self.force or self.force_sent

    def input_paths(self) -> list[Path]:
        return [Path(p) for p in (self.config_path, self.open_items, self.customers, self.payments,
                                     self.rates) if p]


@dataclass
class Session:
    """One run: its options, the config, one DuckDB connection holding the config tables, the
    raw inputs and every stage, the stage log, and what the later steps make."""

    options: RunOptions
    config: Config = field(init=False)
    con: duckdb.DuckDBPyConnection = field(init=False)
    inputs: dict[str, RawInput] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    log: StageLog = field(default_factory=StageLog)
    # the connection's limits, set by the driver: a run on one machine may spill to disk
    memory_limit: str | None = None
    spill: Path | None = None
    cluster: Any = None                  # the Dask client of a run on a cluster
    helpers: Any = None                  # letters.pool.Helpers: the processes rendering beside this one
    folder: AtomicFolder | None = None   # the output folder being written, until it is committed
    manifest: dict[str, Any] = field(default_factory=dict)
    # what fixed the PDFs' bytes where they were rendered (letters.environment): this machine's,
    # or the Dask workers' one environment; None without PDFs
    pdf_environment: dict[str, Any] | None = None
    # (currency, items, open amount) of the open-items export as parsed (reports/input_totals),
    # taken before the decision drops the parsed items (pipeline.drop_spent)
    input_totals: list[tuple] = field(default_factory=list)
    night: Any = None                    # ledger.nightly.NightLedger of a run with a ledger
    # what the steps opened (a spill folder, a cluster client, the atomic folder): closed at the end
    exits: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


Step = Callable[[Session], None]


@dataclass(frozen=True)
class Driver:
    """Where a run decides its night and renders its letters: this machine (run.LOCAL) or a
    Dask cluster (distributed.on_cluster). `start` takes what the driver needs and leaves
    its release to `session.exits`."""

    name: str
    start: Step
    decide: Step
    render: Step


@dataclass
class RunResult:
    out: Path | None
    manifest: dict[str, Any] = field(default_factory=dict)


def load(session: Session) -> None:
    """Step: read the config and the exports, and run the input stages (typed relations and
    every problem in them, SPEC §2.3); raise on any file that cannot be read."""
    open_inputs(session)
    run_stages(session.con, INPUT_STAGES, session.params, session.log)


def open_inputs(session: Session, shard: tuple[int, int] | None = None) -> None:
    """The config tables, the macros and the raw inputs on a new connection, and the
    parameters the stages bind. With `shard` = (k, n), only the customers of shard k of n
    (and their items and payments) are kept."""
    options = session.options
    as_of = options.as_of
    if not FIRST_RUN_DATE <= as_of <= LAST_RUN_DATE:
        raise UserError(f"--as-of {as_of}: give a run date from {FIRST_RUN_DATE} to {LAST_RUN_DATE}")
    session.config = config = load_config(options.config_path)
    session.con = con = connect(session.memory_limit, session.spill)
    for name, table in run_tables(config).items():  # with cfg_sales_reps (SPEC §11.2)
        table_from_arrow(con, name, table)
    # [run] pay_by_calendar: the holidays sql/50_letter_heads moves a pay-by date over
    table_from_arrow(con, "pay_by_holidays", pay_by_holidays(config, as_of))
    define_macros(con)
    empty_overrides(con)  # a run with a ledger may replace them (ledger.nightly.compare_export)
    session.log.on_stage = options.on_stage
    with session.log.timed("read_inputs"):
        inputs = session.inputs
        load_customers(session)
        inputs["open_items"] = load_raw(con, options.open_items, "open_items", config.open_items,
                                        OPEN_ITEM_COLUMNS, required_item_columns(config))
        # SPEC §9.5 --payments, §11.1 --rates: each empty without its option
        optional = {kind: load_optional(con, kind, getattr(options, kind.role), config) for kind in OPTIONAL_INPUTS}
        inputs.update({kind.role: raw for kind, raw in optional.items() if raw is not None})
        if shard is not None:
            keep_shard(con, shard)
    if sum(raw.rows for raw in inputs.values()) < ONE_THREAD_ROWS:
        one_thread(con)
    session.params.update({
        "as_of": as_of,
        "grouping": config.run.grouping,
        "consolidate_branches": config.run.consolidate_branches,
        "include_not_due": config.run.include_not_due,
        "include_credits": config.run.include_credits,
        "include_disputed": config.run.include_disputed,
        "default_language": config.run.default_language,
        "pay_by_calendar": config.run.pay_by_calendar,  # NULL: pay-by dates as computed
        # dates further than plausible_years from the run date are input errors (sql/1x_*_problems)
        "plausible_years": config.run.plausible_years,
        "plausible_from": years_from(as_of, -config.run.plausible_years),
        "plausible_to": years_from(as_of, config.run.plausible_years),
        "items_date_format": config.open_items.date_format,
        "items_decimal_comma": config.open_items.decimal_comma,
        "items_currency": config.open_items.currency,            # NULL: each row's own currency column
        "overpaid_credit": config.open_items.overpaid_invoice == "credit",
        "customers_date_format": config.customers.date_format,
        "customers_decimal_comma": config.customers.decimal_comma,
        "items_file": str(inputs["open_items"].path),
        "customers_file": str(inputs["customers"].path) if "customers" in inputs else None,
        # [input.customers] missing and language_by_country (sql/01_customers_parsed)
        "create_customers": config.customers.missing == "create",
        # a run with PDFs needs each letter's postal address: a created customer has none
        # (sql/17_created_customer_problems); sql/60_letters names the PDF files
        "render_pdf": options.pdf,
        "language_countries": list(config.customers.language_by_country),
        "country_languages": list(config.customers.language_by_country.values()),
        **{name: value for kind, raw in optional.items() for name, value in optional_params(kind, config, raw).items()},
    })


def load_customers(session: Session) -> None:
    """The customers export as raw_customers; without one (--customers left out), an empty
    raw_customers, which only [input.customers] missing = "create" allows: every customer is
    then created from the items (sql/01_customers_parsed)."""
    options, config, con = session.options, session.config, session.con
    if options.customers is not None:
        session.inputs["customers"] = load_raw(con, options.customers, "customers", config.customers,
                                               CUSTOMER_COLUMNS, REQUIRED_CUSTOMER_COLUMNS)
        return
    if config.customers.missing != "create":
        raise UserError(f"{config.path}: no --customers export was given; give it with --customers FILE, or set "
                        f"missing = \"create\" under [input.customers] to create each customer the items name "
                        f"(name = its id, no address, the default language)")
    table_from_arrow(con, "raw_customers", pa.table(
        {c: pa.array([], pa.string()) for c in CUSTOMER_COLUMNS} | {"_row": pa.array([], pa.int64())}))


def required_item_columns(config: Config) -> tuple[str, ...]:
    """The columns an open-items export must have: not currency when [input.open_items] currency gives it."""
    if config.open_items.currency is not None:
        return tuple(c for c in REQUIRED_ITEM_COLUMNS if c != "currency")
    return REQUIRED_ITEM_COLUMNS


def years_from(day: dt.date, years: int) -> dt.date:
    """The same day `years` years later (earlier when negative); 29 February -> 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def keep_shard(con: duckdb.DuckDBPyConnection, shard: tuple[int, int]) -> None:
    """Keep only shard k of n: customers by a stable hash of their id, items and payments with
    them (sql/shards/keep_shard.sql); the whole relation stays as `<name>_all`."""
    k, n = shard
    for name in SHARDED_INPUTS:
        rename_relation(con, name, f"{name}_all")
        table_from_file(con, name, "shards/keep_shard", {"source": f"{name}_all", "n": n, "k": k})


def protected_paths(session: Session) -> list[Path]:
    """What the run read (config, exports, reference rates): `--force` never replaces a folder holding them."""
    return [Path(session.config.path), *(raw.path for raw in session.inputs.values()),
            *map(Path, sorted(session.config.reference_rate_paths()))]
