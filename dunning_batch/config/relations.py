"""The checked config as small Arrow tables, so SQL joins business rules instead of branching on them.

Each cfg_* relation is described once (CFG_TABLES): the things it has a row for, and per
column its name, its Arrow type and how its value is read off the config. The pipeline
joins these tables, the output folder keeps them as cfg_<name>.parquet (outputs.layout),
and `reconcile` joins the folder's copies; the SQL stages rely on the types given here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, NamedTuple

import pyarrow as pa

from .. import currencies
from .model import DOC_TYPES, Config, FeeTier, Level, Policy, SalesRep

MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(18, 6)
TEXT, FLAG, NUMBER = pa.string(), pa.bool_(), pa.int32()


class At(NamedTuple):
    """What one row of a cfg table is about: a policy, one of its levels, a currency and the
    value given for it, ... (only the fields its table needs are set)."""

    policy: Policy | None = None
    level: Level | None = None
    currency: str | None = None
    amount: Decimal | None = None
    tier: FeeTier | None = None
    next_over: Decimal | None = None     # where a fee tier's part of the overdue total ends (NULL: top tier)
    day: dt.date | None = None
    text: str | None = None              # a customer class, an export's doc type value
    doc_type: str | None = None
    minor_unit: int | None = None
    rep: SalesRep | None = None          # SPEC §11.2: a [sales_rep.ID] table


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    value: Callable[[At], Any]


@dataclass(frozen=True)
class CfgTable:
    """A cfg_* relation: its name, the rows it has for a config, and its columns in order.
    Its leading columns are its key, so a file of it is written ORDER BY ALL."""

    name: str
    rows: Callable[[Config], Iterable[At]]
    columns: tuple[Column, ...]
    # a table of a rule of SPEC §11 (Config.money_rules): the pipeline always has it, an output
    # folder keeps it as a file only when the rule is configured (a config without it writes
    # the files it always wrote, byte for byte)
    rule: str | None = None

    def table(self, config: Config) -> pa.Table:
        rows = list(self.rows(config))
        return pa.table({c.name: pa.array([c.value(r) for r in rows], type=c.type) for c in self.columns})


# Columns several tables share.
POLICY = Column("policy", TEXT, lambda r: r.policy.name)
LEVEL = Column("level", NUMBER, lambda r: r.level.number)
CURRENCY = Column("currency", TEXT, lambda r: r.currency)


def _policies(config: Config) -> Iterable[At]:
    return (At(policy=p) for p in config.policies)


def _levels(config: Config) -> Iterable[At]:
    return (At(policy=p, level=lv) for p in config.policies for lv in p.levels)


def _per_level(amounts: Callable[[Level], dict[str, Decimal] | None]) -> Callable[[Config], Iterable[At]]:
    """Rows (policy, level, currency, amount) of a per-currency table of a level."""
    return lambda config: (At(policy=p, level=lv, currency=c, amount=a) for p in config.policies
                           for lv in p.levels for c, a in (amounts(lv) or {}).items())


def _per_policy(amounts: Callable[[Policy], dict[str, Decimal] | None]) -> Callable[[Config], Iterable[At]]:
    """Rows (policy, currency, amount) of a per-currency table of a policy."""
    return lambda config: (At(policy=p, currency=c, amount=a) for p in config.policies
                           for c, a in (amounts(p) or {}).items())


def _fee_tiers(config: Config) -> Iterable[At]:
    for p in config.policies:
        for lv in p.levels:
            for c, steps in (lv.fee_tiers or {}).items():
                nexts = [s.over for s in steps[1:]] + [None]
                yield from (At(policy=p, level=lv, currency=c, tier=s, next_over=n) for s, n in zip(steps, nexts))


def _fee_limits(config: Config) -> Iterable[At]:
    return (At(policy=p, level=lv, currency=c) for p in config.policies for lv in p.levels
            for c in sorted(set(lv.fee_min or {}) | set(lv.fee_max or {})))


def _reference_rates(config: Config) -> Iterable[At]:
    # The margin is folded in here: SQL sees the rate in force, reference + margin.
    return (At(policy=p, day=day, amount=rate + p.interest.margin)
            for p in config.policies for day, rate in (p.interest.reference_rates or ()))


def _doc_types(config: Config) -> Iterable[At]:
    # Standard type names are always understood (export_value NULL); the mapping adds the export's own.
    yield from (At(doc_type=t) for t in DOC_TYPES)
    yield from (At(text=k, doc_type=v) for k, v in config.open_items.doc_types.items())


CFG_TABLES = (
    CfgTable("cfg_policies", _policies, (
        POLICY,
        Column("is_default", FLAG, lambda r: r.policy.default),
        Column("sequential", FLAG, lambda r: r.policy.sequential),
        Column("min_days_between_letters", NUMBER, lambda r: r.policy.min_days_between_letters),
        Column("last_level", NUMBER, lambda r: len(r.policy.levels)),
        Column("has_min_amount", FLAG, lambda r: r.policy.min_amount is not None),
        Column("basis", TEXT, lambda r: r.policy.interest.basis),
        Column("calculate_to", TEXT, lambda r: r.policy.interest.calculate_to),
        Column("include_in_total", FLAG, lambda r: r.policy.interest.include_in_total),
        Column("fixed_rate", RATE, lambda r: r.policy.interest.fixed_rate),
        Column("uses_reference_rates", FLAG, lambda r: r.policy.interest.reference_rates is not None),
        Column("has_interest_min", FLAG, lambda r: r.policy.interest.min_amount is not None),
        Column("charges_interest", FLAG, lambda r: any(lv.interest for lv in r.policy.levels)),
        Column("min_percent", RATE, lambda r: r.policy.min_percent),          # SPEC §9.3
        Column("pre_due_days", NUMBER, lambda r: r.policy.pre_due_days),      # SPEC §9.6
    )),
    CfgTable("cfg_policy_classes",
             lambda config: (At(policy=p, text=c) for p in config.policies for c in p.customer_classes), (
        Column("customer_class", TEXT, lambda r: r.text),
        POLICY,
    )),
    CfgTable("cfg_levels", _levels, (
        POLICY, LEVEL,
        Column("days_past_due", NUMBER, lambda r: r.level.days_past_due),
        Column("days_to_settle", NUMBER, lambda r: r.level.days_to_settle),
        Column("interest", FLAG, lambda r: r.level.interest),
        Column("template", TEXT, lambda r: r.level.template),
        Column("credit_hold", FLAG, lambda r: r.level.credit_hold),
        Column("payment_term", TEXT, lambda r: r.level.payment_term),
        Column("is_last", FLAG, lambda r: r.level.number == len(r.policy.levels)),
        Column("has_fee_table", FLAG, lambda r: r.level.fee is not None),
        # SPEC §9.1, §9.2, §9.4, §9.5
        Column("fee_kind", TEXT, lambda r: r.level.fee_kind),
        Column("fee_percent", RATE, lambda r: r.level.fee_percent),
        Column("fee_tier_mode", TEXT, lambda r: r.level.fee_tier_mode),
        Column("has_fee_min_table", FLAG, lambda r: r.level.fee_min is not None),
        Column("has_fee_max_table", FLAG, lambda r: r.level.fee_max is not None),
        Column("compensation", TEXT, lambda r: r.level.compensation),
        Column("post_interest", FLAG, lambda r: r.level.post_interest),
        Column("late_payment_interest", FLAG, lambda r: r.level.late_payment_interest),
        Column("days_to", NUMBER, lambda r: r.level.days_to),                  # SPEC §11.3
    )),
    CfgTable("cfg_level_fees", _per_level(lambda lv: lv.fee), (
        POLICY, LEVEL, CURRENCY, Column("fee", MONEY, lambda r: r.amount),
    )),
    # SPEC §9.1: fee tiers and the clamps of percentage and tiered fees
    CfgTable("cfg_fee_tiers", _fee_tiers, (
        POLICY, LEVEL, CURRENCY,
        Column("over", MONEY, lambda r: r.tier.over),
        Column("fixed", MONEY, lambda r: r.tier.fixed),
        Column("percent", RATE, lambda r: r.tier.percent),
        Column("next_over", MONEY, lambda r: r.next_over),
    )),
    CfgTable("cfg_fee_limits", _fee_limits, (
        POLICY, LEVEL, CURRENCY,
        Column("fee_min", MONEY, lambda r: (r.level.fee_min or {}).get(r.currency)),
        Column("fee_max", MONEY, lambda r: (r.level.fee_max or {}).get(r.currency)),
    )),
    # SPEC §9.2: the EU compensation per currency of policies with a compensation = "eu" level
    CfgTable("cfg_compensation_amounts", _per_policy(lambda p: p.compensation_amount), (
        POLICY, CURRENCY, Column("amount", MONEY, lambda r: r.amount),
    )),
    CfgTable("cfg_min_amounts", _per_policy(lambda p: p.min_amount), (
        POLICY, CURRENCY, Column("min_amount", MONEY, lambda r: r.amount),
    )),
    CfgTable("cfg_interest_min_amounts", _per_policy(lambda p: p.interest.min_amount), (
        POLICY, CURRENCY, Column("min_amount", MONEY, lambda r: r.amount),
    )),
    CfgTable("cfg_reference_rates", _reference_rates, (
        POLICY,
        Column("effective_from", pa.date32(), lambda r: r.day),
        Column("rate_percent", RATE, lambda r: r.amount),
    )),
    CfgTable("cfg_doc_types", _doc_types, (
        Column("export_value", TEXT, lambda r: r.text),
        Column("doc_type", TEXT, lambda r: r.doc_type),
    )),
    # SPEC §11.1: the policies that write their letters in one currency, and which day's
    # exchange rate converts a line (rate_date "run" or "due_date", minus rate_days_before)
    CfgTable("cfg_letter_currencies",
             lambda config: (At(policy=p) for p in config.policies if p.letter_currency is not None), (
        POLICY,
        Column("letter_currency", TEXT, lambda r: r.policy.letter_currency),   # a code, or "customer"
        Column("rate_date", TEXT, lambda r: r.policy.rate_date),
        Column("rate_days_before", NUMBER, lambda r: r.policy.rate_days_before),
    ), rule="letter_currency"),
    CfgTable("cfg_currencies",
             lambda config: (At(currency=c, minor_unit=u) for c, u in currencies.minor_units().items()), (
        CURRENCY, Column("minor_unit", NUMBER, lambda r: r.minor_unit),
    )),
)


# SPEC §11.2: the [sales_rep.ID] tables, which 11_customer_problems checks the customers'
# sales_rep against and 75_recipients copies onto each letter. Not in CFG_TABLES, whose tables
# every folder keeps as files: a config without reps writes the files it wrote before §11, and
# recipients.parquet carries each letter's rep (what `render` needs).
CFG_SALES_REPS = CfgTable("cfg_sales_reps", lambda config: (At(rep=r) for r in config.sales_reps), (
    Column("rep_id", TEXT, lambda r: r.rep.rep_id),
    Column("name", TEXT, lambda r: r.rep.name),
    Column("email", TEXT, lambda r: r.rep.email),
    Column("phone", TEXT, lambda r: r.rep.phone),
))


def config_tables(config: Config) -> dict[str, pa.Table]:
    """cfg_* relations: policies, classes, levels, fees, minimums, reference rates, currencies
    (the files of a folder's config)."""
    return {t.name: t.table(config) for t in CFG_TABLES}


def run_tables(config: Config) -> dict[str, pa.Table]:
    """Every cfg_* relation a run joins: config_tables and cfg_sales_reps (SPEC §11.2)."""
    return config_tables(config) | {CFG_SALES_REPS.name: CFG_SALES_REPS.table(config)}
