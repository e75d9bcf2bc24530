"""The checked config's shape: the names SPEC §2-§3 allow and the frozen records a run reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

GROUPINGS = ("customer", "customer_level", "document")
BASES = ("act/365", "act/360", "30e/360")
CALCULATE_TO = ("letter_date", "pay_by_date")
RAISING_TYPES = ("invoice", "debit_memo", "fee", "refund")
LOWERING_TYPES = ("credit_memo", "payment", "prepayment")
DOC_TYPES = RAISING_TYPES + LOWERING_TYPES
OPEN_ITEM_COLUMNS = (
    "doc_id", "customer_id", "doc_type", "doc_date", "due_date", "currency", "amount",
    "open_amount", "dunning_level", "last_dunned_on", "blocked", "disputed", "grace_until",
    "branch", "compensation_charged", "interest_paid_to",   # the last two: SPEC §9.2, §9.4
)
CUSTOMER_COLUMNS = (
    "customer_id", "name", "address", "country", "language", "email", "customer_class",
    "policy", "dunning_blocked", "grace_until", "interest_rate", "delivery", "postal_code",
    "contact_name", "contact_email", "sales_rep",   # SPEC §11.2
    "letter_currency",   # SPEC §11.1: the customer's letter currency, for policies with letter_currency = "customer"
)
# The optional --payments input of SPEC §9.5: parts of documents that were settled.
PAYMENT_COLUMNS = (
    "payment_id", "customer_id", "doc_id", "currency", "due_date", "paid_on", "amount", "branch",
    "interest_charged",
)
# The optional --rates input of SPEC §11.1: exchange rates, 1 from_currency = rate to_currency.
RATE_COLUMNS = ("rate_date", "from_currency", "to_currency", "rate")
EXCHANGE_RATE_DECIMALS = 10  # exchange rates are carried as DECIMAL(28,10)
# SPEC §11.1: the day a line's exchange rate is taken for, and the letter currency "customer"
RATE_DATES = ("run", "due_date")
CUSTOMER_LETTER_CURRENCY = "customer"
RATE_DECIMALS = 6  # rates are carried as DECIMAL(18,6) percent
PLAUSIBLE_YEARS = (1, 100)  # the range of [run] plausible_years
MAX_DAYS_TO_SETTLE = 3650   # a level's days_to_settle: the pay-by date is within ten years of the run
MAX_DAYS_TO = 2_147_483_647  # a level's days_to (SPEC §11.3): an INTEGER in cfg_levels
MAX_RATE_DAYS_BEFORE = 3650  # a policy's rate_days_before (SPEC §11.1): the rate day stays in the calendar
FEE_TIER_MODES = ("single", "accumulated")
# [run] stale_export: what a run does with items whose export lags the ledger (README "Running every night")
STALE_EXPORT = ("stop", "use_ledger", "use_export")
# [input.open_items] overpaid_invoice: a raising item with a negative open amount is an input error or a credit
OVERPAID_INVOICE = ("error", "credit")
# [input.customers] missing: a customer the items name that the customers file lacks is an input error or created
MISSING_CUSTOMERS = ("error", "create")
COMPENSATION_KINDS = ("eu", "uk")
EU_COMPENSATION = {"EUR": Decimal("40.00")}  # SPEC §9.2: Directive 2011/7/EU art. 6, BGB §288(5)
LEVELS_COLUMNS = ("standard", "export")  # [output.levels_update] columns (config/output.py reads it)


@dataclass(frozen=True)
class FeeTier:
    """One step of a tiered fee (SPEC §9.1): applies to the part of the overdue total above `over`."""

    over: Decimal
    fixed: Decimal = Decimal(0)
    percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class Level:
    number: int
    days_past_due: int
    days_to_settle: int
    fee: dict[str, Decimal] | None
    interest: bool
    template: str
    credit_hold: bool
    payment_term: str | None
    # SPEC §9: all None / False unless configured
    fee_percent: Decimal | None = None
    fee_tiers: dict[str, tuple[FeeTier, ...]] | None = None
    fee_tier_mode: str | None = None
    fee_min: dict[str, Decimal] | None = None
    fee_max: dict[str, Decimal] | None = None
    compensation: str | None = None
    post_interest: bool = False
    late_payment_interest: bool = False
    days_to: int | None = None             # SPEC §11.3: None unless configured

    @property
    def fee_kind(self) -> str | None:
        """How the level's fee is priced: 'fixed' (§4.7), 'percent' or 'tiers' (§9.1), or None."""
        if self.fee_percent is not None:
            return "percent"
        if self.fee_tiers is not None:
            return "tiers"
        return "fixed" if self.fee is not None else None


@dataclass(frozen=True)
class Interest:
    basis: str = "act/365"
    calculate_to: str = "letter_date"
    include_in_total: bool = True
    fixed_rate: Decimal | None = None
    reference_rates: tuple[tuple[dt.date, Decimal], ...] | None = None
    reference_path: str | None = None
    margin: Decimal = Decimal(0)
    min_amount: dict[str, Decimal] | None = None

    @property
    def has_rate_source(self) -> bool:
        return self.fixed_rate is not None or self.reference_rates is not None


@dataclass(frozen=True)
class Policy:
    name: str
    default: bool
    customer_classes: tuple[str, ...]
    sequential: bool
    min_days_between_letters: int
    min_amount: dict[str, Decimal] | None
    levels: tuple[Level, ...]
    interest: Interest
    # SPEC §9: None unless configured
    min_percent: Decimal | None = None
    pre_due_days: int | None = None
    compensation_amount: dict[str, Decimal] | None = None   # set when a level has compensation = "eu"
    # SPEC §11.1: None unless configured; an ISO 4217 code or "customer"
    letter_currency: str | None = None
    rate_date: str = "run"
    rate_days_before: int = 0


@dataclass(frozen=True)
class InputFormat:
    columns: dict[str, str] = field(default_factory=dict)  # standard name -> export's name
    doc_types: dict[str, str] = field(default_factory=dict)  # export's value -> standard type
    date_format: str = "%Y-%m-%d"
    decimal_comma: bool = False
    delimiter: str = ","
    encoding: str = "utf-8"
    # [input.open_items] only: the ISO 4217 currency of every row, for an export with no currency column
    currency: str | None = None
    # [input.open_items] only: an invoice, debit_memo, fee or refund with a negative open amount is an
    # input error ("error") or an open credit, decided as a credit_memo ("credit")
    overpaid_invoice: str = "error"
    # [input.customers] only: a customer the items name that the customers file lacks is an input error
    # ("error") or created with name = its id, no address and the default language ("create")
    missing: str = "error"
    # [input.customers] only: the language of a customer with none, by its country (ISO 3166-1 alpha-2,
    # upper case here), before [run] default_language
    language_by_country: dict[str, str] = field(default_factory=dict)

    def source_column(self, standard: str) -> str | None:
        """The export column `standard` is read from, None when it has none.

        A standard column that is not mapped reads the export column of its own name, unless
        a mapping gives that column to another standard column (`open_amount = "amount"`):
        an export column feeds one standard column (two explicit mappings to one column are
        refused when the config is read)."""
        if standard in self.columns:
            return self.columns[standard]
        return None if standard in self.columns.values() else standard


@dataclass(frozen=True)
class RunSettings:
    grouping: str = "customer"
    consolidate_branches: bool = True
    include_not_due: bool = False
    include_credits: bool = False
    include_disputed: bool = False
    default_language: str = "en"
    strict: bool = True
    # dates of the exports more than this many years from the run date are input errors
    # (a year typed 0206 for 2026); see README "Semantics"
    plausible_years: int = 20
    # the ledger file (relative to the config file) and what to do when the export lags it
    ledger: str | None = None
    stale_export: str = "stop"
    # the public holidays a pay-by date moves over, "DE" or "DE-BY" (config/holiday_calendar.py);
    # None: pay-by dates are as computed, weekends too (SPEC §4.8)
    pay_by_calendar: str | None = None


@dataclass(frozen=True)
class OutputSettings:
    """[output]: the layout of the files written for the ERP (config/output.py reads it)."""

    # [output.levels_update] columns: "standard" (SPEC §5 names, ISO dates) or "export" (the
    # open-items export's column names, date_format, delimiter and encoding, for the ERP to re-import)
    levels_update_columns: str = "standard"


@dataclass(frozen=True)
class SalesRep:
    """A [sales_rep.ID] table (SPEC §11.2): the person the letters of its customers name as their
    contact for questions, and the Reply-To of their emails."""

    rep_id: str
    name: str
    email: str
    phone: str = ""


@dataclass(frozen=True)
class Config:
    path: Path
    sha256: str
    run: RunSettings
    sender: dict[str, Any]
    policies: tuple[Policy, ...]
    open_items: InputFormat
    customers: InputFormat
    payments: InputFormat = field(default_factory=InputFormat)
    rates: InputFormat = field(default_factory=InputFormat)          # SPEC §11.1 (--rates)
    output: OutputSettings = field(default_factory=OutputSettings)
    sales_reps: tuple[SalesRep, ...] = ()   # SPEC §11.2, by rep_id

    def policy(self, name: str) -> Policy:
        return next(p for p in self.policies if p.name == name)

    def level_templates(self) -> list[tuple[str, int, str]]:
        """(policy, level, template) of every level: the templates a run renders with."""
        return [(p.name, lv.number, lv.template) for p in self.policies for lv in p.levels]

    def ledger_path(self) -> Path | None:
        """The [run] ledger file, relative to the config file's folder, or None."""
        return None if self.run.ledger is None else (Path(self.path).parent / self.run.ledger).absolute()

    def reference_rates_path(self, policy: str) -> str | None:
        """The file policy `policy` took its reference rates from (SPEC §3.4), if any."""
        return self.policy(policy).interest.reference_path

    def reference_rate_paths(self) -> set[str]:
        """Every reference-rate file the config names."""
        return {p.interest.reference_path for p in self.policies if p.interest.reference_path}

    @property
    def money_rules(self) -> frozenset[str]:
        """The rules of SPEC §9 this config switches on. Outputs gain columns and files only
        for these (`outputs.output_files`): with none, they are those of §5 byte for byte."""
        levels = [lv for p in self.policies for lv in p.levels]
        rules = {
            "fee_percent": any(lv.fee_percent is not None for lv in levels),
            "fee_tiers": any(lv.fee_tiers is not None for lv in levels),
            "compensation": any(lv.compensation for lv in levels),
            "min_percent": any(p.min_percent is not None for p in self.policies),
            "post_interest": any(lv.post_interest for lv in levels),
            "late_payment_interest": any(lv.late_payment_interest for lv in levels),
            "pre_due": any(p.pre_due_days is not None for p in self.policies),
            "level_range": any(lv.days_to is not None for lv in levels),   # SPEC §11.3
            "letter_currency": any(p.letter_currency is not None for p in self.policies),   # SPEC §11.1
        }
        return frozenset(name for name, on in rules.items() if on)
