"""A realistic synthetic AR export of any size, generated vectorised with Polars.

It is shaped as a night of config/example.toml: each customer is given a state (a letter
tonight, at the last level already, dunned and waiting for the next level, or current) and
its first item the level, days past due and last letter that state needs; the printed aim is
what a run of that config makes of it.

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
# config/example.toml's policies per customer class: each level's days_past_due and the least
# days between two letters, so that the levels and last-letter dates written here are ones its
# earlier nights could have set, and tonight's advances are the ones aimed at
THRESHOLDS = {"B2B": (7, 21, 45), "B2C": (14, 30)}
MIN_DAYS_BETWEEN = {"B2B": 0, "B2C": 14}
B2B_SHARE = 0.7
# the level of tonight's letters: most customers pay after the first reminder
LETTER_LEVEL_MIX = {"B2B": (0.60, 0.25, 0.15), "B2C": (0.75, 0.25)}
# of the customers not aimed at a letter tonight: a few whose last letter has been sent (their
# claims are with collection: an item at the last level), some dunned on an earlier night and
# not yet due for their next letter; the rest are current (nothing overdue past a threshold)
FINAL_SHARE = 0.04
WAITING_SHARE = 0.12
STATES = ("letter", "final", "waiting", "current")
CUSTOMER_COLUMNS = ["customer_id", "name", "address", "country", "language", "email", "customer_class", "policy",
                    "dunning_blocked", "grace_until", "interest_rate"]


def _uniform(index: pl.Expr, seed: int, salt: int) -> pl.Expr:
    """A deterministic pseudo-random float in [0, 1) per row."""
    return (index.hash(seed * 1_000_003 + salt) % 1_000_000_007).cast(pl.Float64) / 1_000_000_007


def _steps() -> pl.DataFrame:
    """One row per customer class and level c (0 = never dunned): the days of level c, of the
    first and of the next level, and the least days from a letter of level c to the next."""
    rows = []
    for klass, days in THRESHOLDS.items():
        for level in range(len(days) + 1):
            following = days[level] if level < len(days) else None
            spacing = max(following - days[level - 1], MIN_DAYS_BETWEEN[klass]) if level and following else 0
            rows.append({"customer_class": klass, "lead_level": level, "days_here": days[level - 1] if level else 0,
                         "days_next": following, "days_first": days[0], "spacing": spacing})
    return pl.DataFrame(rows, schema={"customer_class": pl.String, "lead_level": pl.Int64, "days_here": pl.Int64,
                                      "days_next": pl.Int64, "days_first": pl.Int64, "spacing": pl.Int64})


def _pick(u: pl.Expr, shares: dict[str, float]) -> pl.Expr:
    """The key whose slice of [0, 1) holds u (the shares in order, the last one takes the rest)."""
    keys, bound, expr = list(shares), 0.0, None
    for key in keys[:-1]:
        bound += shares[key]
        expr = (pl.when(u < bound) if expr is None else expr.when(u < bound)).then(pl.lit(key))
    return pl.lit(keys[-1]) if expr is None else expr.otherwise(pl.lit(keys[-1]))


def _letter_level(klass: pl.Expr, u: pl.Expr) -> pl.Expr:
    """Tonight's level of a customer aimed at a letter, drawn from LETTER_LEVEL_MIX of its class."""
    expr = None
    for name, mix in LETTER_LEVEL_MIX.items():
        bound = 0.0
        for level, share in enumerate(mix[:-1], start=1):
            bound += share
            cond = (klass == name) & (u < bound)
            expr = (pl.when(cond) if expr is None else expr.when(cond)).then(level)
        expr = expr.when(klass == name).then(len(mix))
    return expr.otherwise(1)


def customer_states(count: int, seed: int, letters_share: float) -> pl.DataFrame:
    """Per customer: its state tonight (letter, final, waiting, current) and its lead item's
    level, days past due and days since its last letter, consistent with THRESHOLDS."""
    i = pl.col("i")
    rest = 1.0 - letters_share
    shares = {"letter": letters_share, "final": rest * FINAL_SHARE, "waiting": rest * WAITING_SHARE,
              "current": rest * (1 - FINAL_SHARE - WAITING_SHARE)}
    klass = pl.col("customer_class")
    base = pl.DataFrame({"i": pl.int_range(0, count, eager=True, dtype=pl.Int64)}).with_columns(
        customer_class=pl.when(_uniform(i, seed, 2) < B2B_SHARE).then(pl.lit("B2B")).otherwise(pl.lit("B2C")),
        state=_pick(_uniform(i, seed, 7), shares),
    )
    last = pl.col("customer_class").replace_strict({k: len(v) for k, v in THRESHOLDS.items()},
                                                   return_dtype=pl.Int64)
    # a waiting customer's lead item sits at a level below the last, evenly spread
    waiting_level = 1 + (_uniform(i, seed, 8) * (last - 1)).cast(pl.Int64)
    base = base.with_columns(
        lead_level=pl.when(pl.col("state") == "letter").then(_letter_level(klass, _uniform(i, seed, 8)) - 1)
        .when(pl.col("state") == "final").then(last)
        .when(pl.col("state") == "waiting").then(waiting_level)
        .otherwise(0).cast(pl.Int64),
    ).join(_steps(), on=["customer_class", "lead_level"], how="left", maintain_order="left")
    # days past due on the night of its last letter, and the days since that night
    then = pl.col("days_here") + 1 + (_uniform(i, seed, 9) * 7).cast(pl.Int64)
    ago = (pl.when(pl.col("state") == "letter").then(pl.col("spacing") + (_uniform(i, seed, 19) * 8).cast(pl.Int64))
           .when(pl.col("state") == "waiting")
           .then(1 + (_uniform(i, seed, 19) * (pl.col("spacing") - 1)).cast(pl.Int64))  # too soon for the next
           .otherwise(1 + (_uniform(i, seed, 19) * 60).cast(pl.Int64)))
    first_letter = pl.col("days_next") + 1 + (_uniform(i, seed, 9) * 7).cast(pl.Int64)
    return base.with_columns(
        lead_days=pl.when(pl.col("state") == "current").then(None)
        .when(pl.col("lead_level") == 0).then(first_letter)
        .otherwise(then + ago),
        lead_ago=pl.when(pl.col("lead_level") > 0).then(ago),
    )


def synth_customers(count: int, seed: int, letters_share: float = 0.15) -> pl.DataFrame:
    i = pl.col("i")
    lang = pl.lit(pl.Series(LANGUAGES)).get((_uniform(i, seed, 1) * 4).cast(pl.Int64))
    return (
        customer_states(count, seed, letters_share)
        .with_columns(language=lang)
        .select(
            customer_id=pl.format("C{}", (i + 1).cast(pl.String).str.zfill(8)),
            name=pl.format("Customer {} {}", (i + 1), pl.col("language").str.to_uppercase()),
            address=pl.format("Street {}\n{} City", (i % 200) + 1, (i % 90000) + 10000),
            country=pl.col("language").replace_strict(COUNTRIES),
            language=pl.col("language"),
            email=pl.format("ar{}@example.com", i + 1),
            customer_class="customer_class",
            policy=pl.lit(None, dtype=pl.String),
            # a customer aimed at a letter or at the last level is not blocked: a block is tested
            # first (SPEC §4.2), so the printed aim would be missed for nothing
            dunning_blocked=(_uniform(i, seed, 3) < 0.005) & pl.col("state").is_in(["waiting", "current"]),
            grace_until=pl.lit(None, dtype=pl.Date),
            interest_rate=pl.lit(None, dtype=pl.Decimal(18, 6)),
            currency=pl.when(_uniform(i, seed, 4) < 0.8).then(pl.lit("EUR"))
                       .when(_uniform(i, seed, 4) < 0.92).then(pl.lit("USD")).otherwise(pl.lit("PLN")),
            branch=pl.when(_uniform(i, seed, 5) < 0.6).then(pl.lit("NORTH")).otherwise(pl.lit("SOUTH")),
            # long tail: most customers have a few open items, some have hundreds
            item_count=(1 + (_uniform(i, seed, 6) ** 12 * 60)).cast(pl.Int64),
            state="state", lead_level="lead_level", lead_days="lead_days", lead_ago="lead_ago",
            days_first="days_first",
        )
    )


def synth_items(customers: pl.DataFrame, seed: int, as_of: dt.date) -> pl.DataFrame:
    """Each customer's items: its first is the lead item its state sets (an invoice at its
    level, days past due and last letter), unless the customer is current; every other raising
    item is at level 0, not yet due or overdue below the first level's days."""
    j = pl.col("j")
    rows = (
        customers.select("customer_id", "currency", "branch", "item_count", "state", "lead_level", "lead_days",
                         "lead_ago", "days_first")
        .with_columns(k=pl.int_ranges(0, pl.col("item_count")))
        .explode("k")
        .with_row_index("j")
        .with_columns(j=pl.col("j").cast(pl.Int64), lead=(pl.col("k") == 0) & (pl.col("state") != "current"))
    )
    kind = _uniform(j, seed, 10)
    doc_type = (pl.when(pl.col("lead")).then(pl.lit("invoice"))
                .when(kind < 0.84).then(pl.lit("invoice")).when(kind < 0.87).then(pl.lit("debit_memo"))
                .when(kind < 0.89).then(pl.lit("fee")).when(kind < 0.90).then(pl.lit("refund"))
                .when(kind < 0.95).then(pl.lit("credit_memo")).when(kind < 0.99).then(pl.lit("payment"))
                .otherwise(pl.lit("prepayment")))
    terms = pl.lit(pl.Series([14, 30, 60])).get((_uniform(j, seed, 11) * 3).cast(pl.Int64))
    age = (_uniform(j, seed, 12) ** 4 * 365).cast(pl.Int64)  # recent credits and payments are more common
    # not yet due (up to its terms ahead) or overdue by at most the first level's days
    spread = (1 - pl.col("terms") + _uniform(j, seed, 18) * (pl.col("terms") + pl.col("days_first"))).cast(pl.Int64)
    cents = (500 + _uniform(j, seed, 13) ** 3 * 2_000_000).cast(pl.Int64)
    partial = pl.when(_uniform(j, seed, 14) < 0.1).then(pl.col("cents") * 4 // 10).otherwise(pl.col("cents"))
    aimed = pl.col("lead") & (pl.col("state") == "letter")
    d = pl.lit(as_of)
    items = rows.with_columns(doc_type=doc_type, terms=terms, cents=cents).with_columns(
        raising=pl.col("doc_type").is_in(["invoice", "debit_memo", "fee", "refund"]),
    ).with_columns(
        # the lead invoice of a customer aimed at a letter is unpaid, above any minimum and above the
        # customer's credits, so that its letter is not suppressed (SPEC §4.5)
        cents=pl.when(aimed).then(pl.col("cents") + 4500 + pl.col("cents").filter(~pl.col("raising")).sum()
                                  .over("customer_id")).otherwise(pl.col("cents")),
    ).with_columns(
        open_cents=pl.when(aimed).then(pl.col("cents")).otherwise(partial),
        days_past_due=pl.when(pl.col("lead")).then(pl.col("lead_days")).otherwise(spread),
    ).with_columns(
        due_date=pl.when(pl.col("raising")).then(d - pl.duration(days=pl.col("days_past_due")))
        .otherwise(d - pl.duration(days=age)),
        dunning_level=pl.when(pl.col("lead")).then(pl.col("lead_level")).otherwise(0),
    ).with_columns(
        doc_date=pl.when(pl.col("raising")).then(pl.col("due_date") - pl.duration(days=pl.col("terms")))
        .otherwise(pl.col("due_date")),
    )
    sign = pl.when(pl.col("raising")).then(1).otherwise(-1)
    return items.select(
        doc_id=pl.format("D{}", (j + 1).cast(pl.String).str.zfill(10)),
        customer_id="customer_id",
        doc_type="doc_type",
        doc_date="doc_date",
        due_date="due_date",
        currency="currency",
        amount=(pl.col("cents") * sign).cast(pl.Decimal(18, 0)) / 100,
        open_amount=(pl.col("open_cents") * sign).cast(pl.Decimal(18, 0)) / 100,
        dunning_level="dunning_level",
        last_dunned_on=pl.when(pl.col("dunning_level") > 0).then(d - pl.duration(days=pl.col("lead_ago"))),
        # the lead item of a customer aimed at a letter is neither blocked nor disputed
        blocked=(_uniform(j, seed, 16) < 0.005) & ~aimed,
        disputed=(_uniform(j, seed, 17) < 0.01) & ~aimed,
        grace_until=pl.lit(None, dtype=pl.Date),
        branch="branch",
    ).with_columns(pl.col("amount", "open_amount").cast(pl.Decimal(18, 2)))


def write_synthetic(out: Path, customers: int, seed: int, as_of: dt.date, fmt: str = "parquet",
                    force: bool = False, letters_share: float = 0.15) -> dict:
    """Write open_items and customers in `fmt` into `out`; returns the row counts and the aim
    (see `aimed`).

    An existing folder that holds anything is refused unless `force`, and then only the two
    files written here are replaced; each is written beside its name and renamed into place,
    so a failure (a full disk) leaves no half-written export.
    """
    if not 0 <= letters_share <= 1:
        raise UserError(f"--letters-share {letters_share}: must be a fraction from 0 to 1, e.g. 0.15")
    names = {name: f"{name}.{fmt}" for name in ("customers", "open_items")}
    check_synth_target(out, force, tuple(names.values()))
    cust = synth_customers(customers, seed, letters_share)
    items = synth_items(cust, seed, as_of)
    aim = aimed(cust)
    cust = cust.select(CUSTOMER_COLUMNS)
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
    return {"customers": cust.height, "open_items": items.height, **aim}


def aimed(customers: pl.DataFrame) -> dict:
    """What the export aims at under config/example.toml: the customers per state
    (letter, final, waiting, current) and tonight's letters per level ({level: customers})."""
    states = dict(customers.group_by("state").len().iter_rows())
    levels = (customers.filter(pl.col("state") == "letter").group_by("lead_level").len()
              .sort("lead_level").iter_rows())
    return {**{state: states.get(state, 0) for state in STATES},
            "letter_levels": {level + 1: n for level, n in levels}}


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


def synth_aim(counts: dict) -> str:
    """The lines `synth` prints after writing: what the export aims at under config/example.toml."""
    total = max(counts["customers"], 1)

    def part(n: int) -> str:
        return f"{n:,} ({n / total:.1%})"

    levels = ", ".join(f"level {level} {n:,}" for level, n in counts["letter_levels"].items()) or "none"
    return (f"aimed at, with config/example.toml: {part(counts['letter'])} customers with a letter tonight "
            f"({levels}); {part(counts['final'])} already at the last level; {part(counts['waiting'])} dunned "
            f"before and not yet due for the next letter; {part(counts['current'])} current")
