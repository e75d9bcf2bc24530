"""A realistic synthetic AR export of any size, generated vectorised with Polars.

Randomness comes from hashing (row index, seed), so the same seed gives the same export on
every machine. Amounts are generated as integer cents and written as exact decimals.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl

from .errors import UserError
from .outputs.guard import write_errors

LANGUAGES = ["en", "de", "fr", "pl"]
COUNTRIES = {"en": "GB", "de": "DE", "fr": "FR", "pl": "PL"}
# config/example.toml's thresholds per customer class, so existing levels are ones it could have set
THRESHOLDS = {"B2B": (7, 21, 45), "B2C": (14, 30)}


def _uniform(index: pl.Expr, seed: int, salt: int) -> pl.Expr:
    """A deterministic pseudo-random float in [0, 1) per row."""
    return (index.hash(seed * 1_000_003 + salt) % 1_000_000_007).cast(pl.Float64) / 1_000_000_007


def synth_customers(count: int, seed: int) -> pl.DataFrame:
    i = pl.col("i")
    lang = pl.lit(pl.Series(LANGUAGES)).get((_uniform(i, seed, 1) * 4).cast(pl.Int64))
    return (
        pl.DataFrame({"i": pl.int_range(0, count, eager=True, dtype=pl.Int64)})
        .with_columns(language=lang)
        .select(
            customer_id=pl.format("C{}", (i + 1).cast(pl.String).str.zfill(8)),
            name=pl.format("Customer {} {}", (i + 1), pl.col("language").str.to_uppercase()),
            address=pl.format("Street {}\n{} City", (i % 200) + 1, (i % 90000) + 10000),
            country=pl.col("language").replace_strict(COUNTRIES),
            language=pl.col("language"),
            email=pl.format("ar{}@example.com", i + 1),
            customer_class=pl.when(_uniform(i, seed, 2) < 0.7).then(pl.lit("B2B")).otherwise(pl.lit("B2C")),
            policy=pl.lit(None, dtype=pl.String),
            dunning_blocked=_uniform(i, seed, 3) < 0.005,
            grace_until=pl.lit(None, dtype=pl.Date),
            interest_rate=pl.lit(None, dtype=pl.Decimal(18, 6)),
            currency=pl.when(_uniform(i, seed, 4) < 0.8).then(pl.lit("EUR"))
                       .when(_uniform(i, seed, 4) < 0.92).then(pl.lit("USD")).otherwise(pl.lit("PLN")),
            branch=pl.when(_uniform(i, seed, 5) < 0.6).then(pl.lit("NORTH")).otherwise(pl.lit("SOUTH")),
            # long tail: most customers have a few open items, some have hundreds
            item_count=(1 + (_uniform(i, seed, 6) ** 12 * 60)).cast(pl.Int64),
        )
    )


def synth_items(customers: pl.DataFrame, seed: int, as_of: dt.date) -> pl.DataFrame:
    j = pl.col("j")
    rows = (
        customers.select("customer_id", "customer_class", "currency", "branch", "item_count")
        .with_columns(k=pl.int_ranges(0, pl.col("item_count")))
        .explode("k")
        .with_row_index("j")
        .with_columns(j=pl.col("j").cast(pl.Int64))
    )
    kind = _uniform(j, seed, 10)
    doc_type = (pl.when(kind < 0.84).then(pl.lit("invoice")).when(kind < 0.87).then(pl.lit("debit_memo"))
                .when(kind < 0.89).then(pl.lit("fee")).when(kind < 0.90).then(pl.lit("refund"))
                .when(kind < 0.95).then(pl.lit("credit_memo")).when(kind < 0.99).then(pl.lit("payment"))
                .otherwise(pl.lit("prepayment")))
    terms = pl.lit(pl.Series([14, 30, 60])).get((_uniform(j, seed, 11) * 3).cast(pl.Int64))
    age = (_uniform(j, seed, 12) ** 4 * 365).cast(pl.Int64)  # recent invoices are more common
    cents = (500 + _uniform(j, seed, 13) ** 3 * 2_000_000).cast(pl.Int64)
    partial = pl.when(_uniform(j, seed, 14) < 0.1).then(cents * 4 // 10).otherwise(cents)
    d = pl.lit(as_of)
    items = rows.with_columns(
        doc_type=doc_type,
        doc_date=d - pl.duration(days=age),
        terms=terms,
    ).with_columns(
        raising=pl.col("doc_type").is_in(["invoice", "debit_memo", "fee", "refund"]),
        due_date=pl.col("doc_date") + pl.duration(days=pl.col("terms")),
    ).with_columns(
        days_past_due=(d - pl.col("due_date")).dt.total_days(),
        last_run_ago=(1 + _uniform(j, seed, 15) * 12).cast(pl.Int64),
    ).with_columns(
        # the level earlier nightly runs gave it: thresholds passed on the last letter's day
        dunning_level=pl.when(~pl.col("raising")).then(0)
        .when(pl.col("customer_class") == "B2B").then(_levels_passed(THRESHOLDS["B2B"]))
        .otherwise(_levels_passed(THRESHOLDS["B2C"])),
    )
    sign = pl.when(pl.col("raising")).then(1).otherwise(-1)
    return items.select(
        doc_id=pl.format("D{}", (j + 1).cast(pl.String).str.zfill(10)),
        customer_id="customer_id",
        doc_type="doc_type",
        doc_date="doc_date",
        due_date=pl.when(pl.col("raising")).then(pl.col("due_date")).otherwise(pl.col("doc_date")),
        currency="currency",
        amount=(cents * sign).cast(pl.Decimal(18, 0)) / 100,
        open_amount=(partial * sign).cast(pl.Decimal(18, 0)) / 100,
        dunning_level="dunning_level",
        last_dunned_on=pl.when(pl.col("dunning_level") > 0)
                         .then(d - pl.duration(days=pl.col("last_run_ago"))),
        blocked=_uniform(j, seed, 16) < 0.005,
        disputed=_uniform(j, seed, 17) < 0.01,
        grace_until=pl.lit(None, dtype=pl.Date),
        branch="branch",
    ).with_columns(pl.col("amount", "open_amount").cast(pl.Decimal(18, 2)))


def _levels_passed(thresholds: tuple[int, ...]) -> pl.Expr:
    at_last_run = pl.col("days_past_due") - pl.col("last_run_ago")
    return sum((at_last_run > t).cast(pl.Int64) for t in thresholds)


def write_synthetic(out: Path, customers: int, seed: int, as_of: dt.date, fmt: str = "parquet",
                    force: bool = False) -> dict[str, int]:
    """Write open_items and customers in `fmt` into `out`; returns the row counts.

    An existing folder that holds anything is refused unless `force`, and then only the two
    files written here are replaced; each is written beside its name and renamed into place,
    so a failure (a full disk) leaves no half-written export.
    """
    names = {name: f"{name}.{fmt}" for name in ("customers", "open_items")}
    check_synth_target(out, force, tuple(names.values()))
    cust = synth_customers(customers, seed)
    items = synth_items(cust, seed, as_of)
    cust = cust.drop("currency", "branch", "item_count")
    with write_errors(out):
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in (("customers", cust), ("open_items", items)):
            target = out / names[name]
            partial = out / f".{target.name}.partial-{os.getpid()}"
            try:
                if fmt == "parquet":
                    frame.write_parquet(partial)
                else:
                    frame.write_csv(partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
    return {"customers": cust.height, "open_items": items.height}


def check_synth_target(out: Path, force: bool, names: tuple[str, ...]) -> None:
    """A new or empty folder; with `force`, one whose files of these names may be replaced."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; choose another --out")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise UserError(f"{out}: the folder exists and is not empty; choose another --out, or pass --force to "
                        f"replace its {' and '.join(names)} (nothing else in it is touched)")
    taken = [name for name in names if (out / name).exists() and not (out / name).is_file()]
    if taken:
        raise UserError(f"{out / taken[0]}: exists and is not a file, so --force cannot replace it; "
                        f"choose another --out")
