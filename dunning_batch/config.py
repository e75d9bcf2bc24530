"""TOML config -> a checked, immutable `Config` (SPEC §3); every key is checked (§3.4)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from . import currencies
from .errors import ConfigError

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
)
# The optional --payments input of SPEC §9.5: parts of documents that were settled.
PAYMENT_COLUMNS = (
    "payment_id", "customer_id", "doc_id", "currency", "due_date", "paid_on", "amount", "branch",
    "interest_charged",
)
RATE_DECIMALS = 6  # rates are carried as DECIMAL(18,6) percent
FEE_TIER_MODES = ("single", "accumulated")
COMPENSATION_KINDS = ("eu", "uk")
EU_COMPENSATION = {"EUR": Decimal("40.00")}  # SPEC §9.2: Directive 2011/7/EU art. 6, BGB §288(5)

MISSING = object()


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


@dataclass(frozen=True)
class InputFormat:
    columns: dict[str, str] = field(default_factory=dict)  # standard name -> export's name
    doc_types: dict[str, str] = field(default_factory=dict)  # export's value -> standard type
    date_format: str = "%Y-%m-%d"
    decimal_comma: bool = False
    delimiter: str = ","
    encoding: str = "utf-8"

    def source_column(self, standard: str) -> str:
        return self.columns.get(standard, standard)


@dataclass(frozen=True)
class RunSettings:
    grouping: str = "customer"
    consolidate_branches: bool = True
    include_not_due: bool = False
    include_credits: bool = False
    include_disputed: bool = False
    default_language: str = "en"
    strict: bool = True


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

    def policy(self, name: str) -> Policy:
        return next(p for p in self.policies if p.name == name)

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
        }
        return frozenset(name for name, on in rules.items() if on)


class _Table:
    """One TOML table being read: typed getters that record problems, then unknown keys."""

    def __init__(self, data: Any, where: str, problems: list[str], file: str):
        self.where, self.problems, self.file = where, problems, file
        if not isinstance(data, dict):
            self._problem("", f"must be a table, not {type(data).__name__}")
            data = {}
        self.data, self.seen = data, set()

    def _problem(self, key: str, what: str) -> None:
        name = f" key '{key}'" if key else ""
        self.problems.append(f"{self.file}: {self.where}{name}: {what}")

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, kind: str, default: Any = MISSING, choices: tuple = ()) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if default is MISSING:
                self._problem(key, "is required")
                return None
            return default
        value = self.data[key]
        checked = _check_kind(value, kind)
        if checked is MISSING:
            self._problem(key, f"must be {_KIND_WORDS[kind]}, not {value!r}")
            return None if default is MISSING else default
        if choices and checked not in choices:
            self._problem(key, f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
            return None if default is MISSING else default
        return checked

    def money(self, key: str) -> dict[str, Decimal] | None:
        """A per-currency amount table; absent means none (no fee / no minimum)."""
        raw = self.get(key, "table", None)
        if raw is None:
            return None
        out = {}
        for code, value in raw.items():
            amount = _check_kind(value, "decimal")
            if not currencies.is_known(code):
                self._problem(key, f"names unknown currency code {code!r} (ISO 4217, upper case)")
            elif amount is MISSING or amount < 0:
                self._problem(key, f"{code} must be an amount of 0 or more, not {value!r}")
            elif not currencies.fits_minor_unit(code, amount):
                self._problem(key, f"{code} {value} has more decimals than {code} allows")
            else:
                out[code] = amount
        return out

    def nonneg_int(self, key: str, default: Any = MISSING) -> int | None:
        value = self.get(key, "int", default)
        if isinstance(value, int) and value < 0:
            self._problem(key, f"must not be negative, not {value}")
        return value

    def done(self) -> None:
        for key in self.data:
            if key not in self.seen:
                self._problem(key, "is not a known key (check its spelling against SPEC §3)")


_KIND_WORDS = {
    "str": "a string", "bool": "true or false", "int": "a whole number",
    "decimal": "a number", "table": "a table", "list[str]": "a list of strings",
    "list[table]": "a list of tables", "str_table": "a table of strings",
}


def _check_kind(value: Any, kind: str) -> Any:
    ok = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "decimal": isinstance(value, (int, Decimal)) and not isinstance(value, bool),
        "table": isinstance(value, dict),
        "list[str]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "list[table]": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        "str_table": isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
    }[kind]
    if not ok:
        return MISSING
    if kind == "decimal":
        value = Decimal(value)
        if not value.is_finite():
            return MISSING
    return value


def load_config(path: str | Path) -> Config:
    """Read and check the TOML at `path`; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    problems: list[str] = []
    file = str(path)
    top = _Table(data, "top level", problems, file)
    run = _read_run(_Table(top.get("run", "table", {}), "[run]", problems, file))
    sender = _read_sender(_Table(top.get("sender", "table", {}), "[sender]", problems, file))
    global_interest = _Table(top.get("interest", "table", {}), "[interest]", problems, file)
    interest = _read_interest(global_interest, Interest(), path)
    inputs = _Table(top.get("input", "table", {}), "[input]", problems, file)
    open_items = _read_format(inputs, "open_items", OPEN_ITEM_COLUMNS, problems, file)
    customer_fmt = _read_format(inputs, "customers", CUSTOMER_COLUMNS, problems, file)
    payments_fmt = _read_format(inputs, "payments", PAYMENT_COLUMNS, problems, file)
    inputs.done()
    policies = [
        _read_policy(_Table(p, f"[[policy]] #{i}", problems, file), interest, path)
        for i, p in enumerate(top.get("policy", "list[table]", []), start=1)
    ]
    top.done()
    _check_policies(policies, problems, file)
    _check_money_rules(policies, run, problems, file)
    if problems:
        raise ConfigError(problems)
    return Config(
        path=path, sha256=hashlib.sha256(raw_bytes).hexdigest(), run=run, sender=sender,
        policies=tuple(policies), open_items=open_items, customers=customer_fmt, payments=payments_fmt,
    )


def _read_run(t: _Table) -> RunSettings:
    run = RunSettings(
        grouping=t.get("grouping", "str", "customer", GROUPINGS),
        consolidate_branches=t.get("consolidate_branches", "bool", True),
        include_not_due=t.get("include_not_due", "bool", False),
        include_credits=t.get("include_credits", "bool", False),
        include_disputed=t.get("include_disputed", "bool", False),
        default_language=t.get("default_language", "str", "en"),
        strict=t.get("strict", "bool", True),
    )
    t.done()
    return run


def _read_sender(t: _Table) -> dict[str, Any]:
    sender = {
        "name": t.get("name", "str"),
        "address": t.get("address", "list[str]", []),
        "email": t.get("email", "str", ""),
        "iban": t.get("iban", "str", ""),
        "bic": t.get("bic", "str", ""),
    }
    t.done()
    return sender


def _read_interest(t: _Table, base: Interest, config_path: Path) -> Interest:
    """Reads an interest table over `base`: key by key, but a named rate source replaces base's."""
    values = {
        "basis": t.get("basis", "str", base.basis, BASES),
        "calculate_to": t.get("calculate_to", "str", base.calculate_to, CALCULATE_TO),
        "include_in_total": t.get("include_in_total", "bool", base.include_in_total),
        "min_amount": t.money("min_amount") if t.has("min_amount") else base.min_amount,
    }
    fixed = t.get("fixed_rate", "decimal", None)
    reference = t.get("reference_rates", "str", None)
    margin = t.get("margin", "decimal", None)
    if fixed is not None and reference is not None:
        t._problem("fixed_rate", "and 'reference_rates' are two rate sources; keep one")
    if fixed is not None and fixed < 0:
        t._problem("fixed_rate", f"must not be negative, not {fixed}")
    for key, rate in (("fixed_rate", fixed), ("margin", margin)):
        if rate is not None and -rate.as_tuple().exponent > RATE_DECIMALS:
            t._problem(key, f"has more than {RATE_DECIMALS} decimals")
    if fixed is not None or reference is not None:
        values.update(fixed_rate=fixed, reference_rates=None, reference_path=None,
                      margin=margin if margin is not None else Decimal(0))
        if reference is not None:
            rates_path = (config_path.parent / reference)
            values.update(reference_rates=_read_rates(rates_path, t), reference_path=str(rates_path))
    else:
        values.update(fixed_rate=base.fixed_rate, reference_rates=base.reference_rates,
                      reference_path=base.reference_path,
                      margin=margin if margin is not None else base.margin)
    t.done()
    return Interest(**values)


def _read_rates(path: Path, t: _Table) -> tuple[tuple[dt.date, Decimal], ...]:
    """A reference-rate table: effective_from (ISO date), rate_percent; one row per change."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        t._problem("reference_rates", f"cannot read {path} ({exc})")
        return ()
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip() for c in rows[0]] != ["effective_from", "rate_percent"]:
        t._problem("reference_rates", f"{path} must have the header 'effective_from,rate_percent'")
        return ()
    rates: list[tuple[dt.date, Decimal]] = []
    for number, row in enumerate(rows[1:], start=2):
        try:
            day, rate = dt.date.fromisoformat(row[0].strip()), Decimal(row[1].strip())
            if not rate.is_finite() or -rate.as_tuple().exponent > RATE_DECIMALS:
                raise InvalidOperation
        except (ValueError, IndexError, InvalidOperation):
            t.problems.append(f"{path}:{number}: expected an ISO date and a percent, got {','.join(row)!r}")
            continue
        if rates and day <= rates[-1][0]:
            t.problems.append(f"{path}:{number}: effective_from {day} must come after {rates[-1][0]}")
        rates.append((day, rate))
    if not rates:
        t._problem("reference_rates", f"{path} has no rates")
    return tuple(rates)


def _read_format(inputs: _Table, name: str, columns: tuple[str, ...], problems: list[str], file: str) -> InputFormat:
    t = _Table(inputs.get(name, "table", {}), f"[input.{name}]", problems, file)
    mapping = t.get("columns", "str_table", {})
    for standard in mapping:
        if standard not in columns:
            t._problem("columns", f"maps {standard!r}, which is not a column of SPEC §2 ({', '.join(columns)})")
    doc_types = t.get("doc_types", "str_table", {}) if name == "open_items" else {}
    for export_value, standard in doc_types.items():
        if standard not in DOC_TYPES:
            t._problem("doc_types", f"maps {export_value!r} to {standard!r}; use one of {', '.join(DOC_TYPES)}")
    fmt = InputFormat(
        columns=mapping, doc_types=doc_types,
        date_format=t.get("date_format", "str", "%Y-%m-%d"),
        decimal_comma=t.get("decimal_comma", "bool", False),
        delimiter=t.get("delimiter", "str", ","),
        encoding=t.get("encoding", "str", "utf-8"),
    )
    probe = dt.date(2026, 12, 31)
    try:
        if dt.datetime.strptime(probe.strftime(fmt.date_format), fmt.date_format).date() != probe:
            raise ValueError
    except ValueError:
        t._problem("date_format", f"{fmt.date_format!r} does not read back a full date (day, month, year)")
    if len(fmt.delimiter) != 1 or fmt.delimiter in ('"', "\n", "\r"):
        t._problem("delimiter", f"must be one character other than a quote or newline, not {fmt.delimiter!r}")
    try:
        codecs.lookup(fmt.encoding)
    except LookupError:
        t._problem("encoding", f"{fmt.encoding!r} is not an encoding Python knows (e.g. 'utf-8', 'cp1252')")
    t.done()
    return fmt


def _read_policy(t: _Table, global_interest: Interest, config_path: Path) -> Policy:
    name = t.get("name", "str")
    if name:
        t.where = f"[[policy]] {name!r}"
    interest_table = _Table(t.get("interest", "table", {}), f"{t.where} [policy.interest]", t.problems, t.file)
    levels = []
    raw_levels = t.get("level", "list[table]", [])
    for number, raw in enumerate(raw_levels, start=1):
        lt = _Table(raw, f"{t.where} level {number}", t.problems, t.file)
        levels.append(Level(
            number=number,
            days_past_due=lt.nonneg_int("days_past_due"),
            days_to_settle=lt.nonneg_int("days_to_settle", 0),
            fee=lt.money("fee"),
            interest=lt.get("interest", "bool", False),
            template=lt.get("template", "str"),
            credit_hold=lt.get("credit_hold", "bool", False),
            payment_term=lt.get("payment_term", "str", None),
            **_read_level_money_rules(lt),
        ))
        lt.done()
    policy = Policy(
        name=name,
        default=t.get("default", "bool", False),
        customer_classes=tuple(t.get("customer_classes", "list[str]", [])),
        sequential=t.get("sequential", "bool", True),
        min_days_between_letters=t.nonneg_int("min_days_between_letters", 0),
        min_amount=t.money("min_amount"),
        levels=tuple(levels),
        interest=_read_interest(interest_table, global_interest, config_path),
        **_read_policy_money_rules(t, levels),
    )
    if not levels:
        t._problem("level", "is missing: a policy needs at least one [[policy.level]]")
    thresholds = [lv.days_past_due for lv in levels]
    if all(isinstance(d, int) for d in thresholds) and any(b <= a for a, b in zip(thresholds, thresholds[1:])):
        t._problem("level", f"days_past_due must rise strictly from level to level, got {thresholds}")
    if any(lv.interest for lv in levels) and not policy.interest.has_rate_source:
        t._problem("interest", "a level charges interest but no rate source is set "
                   "(fixed_rate or reference_rates in [interest] or [policy.interest])")
    t.done()
    return policy


def _check_policies(policies: list[Policy], problems: list[str], file: str) -> None:
    names = [p.name for p in policies if p.name]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{file}: [[policy]]: two policies are named {name!r}")
    defaults = [p.name for p in policies if p.default]
    if len(defaults) > 1:
        problems.append(f"{file}: [[policy]]: {len(defaults)} policies say default = true "
                        f"({', '.join(map(repr, defaults))}); keep one")
    owner: dict[str, str] = {}
    for p in policies:
        for cls in p.customer_classes:
            if cls in owner and owner[cls] != p.name:
                problems.append(f"{file}: [[policy]] {p.name!r}: customer class {cls!r} is already "
                                f"in policy {owner[cls]!r}")
            owner.setdefault(cls, p.name)


# ---------------------------------------------------------------- SPEC §9: money rules

def _percent(t: _Table, key: str, value: Any, what: str = "") -> Decimal | None:
    """A percent from 0 to 100 with at most RATE_DECIMALS decimals; None (and a problem) otherwise."""
    if value is None:
        return None
    if not 0 <= value <= 100:
        t._problem(key, f"{what}must be a percent from 0 to 100, not {value}")
        return None
    if -value.as_tuple().exponent > RATE_DECIMALS:
        t._problem(key, f"{what}has more than {RATE_DECIMALS} decimals")
        return None
    return value


def _read_level_money_rules(lt: _Table) -> dict[str, Any]:
    """The level keys of SPEC §9.1, §9.2, §9.4, §9.5, checked one by one and together."""
    fee_percent = _percent(lt, "fee_percent", lt.get("fee_percent", "decimal", None))
    fee_tiers = _read_fee_tiers(lt) if lt.has("fee_tiers") else None
    lt.get("fee_tiers", "table", None)  # marks the key as read; its content was checked above
    mode = lt.get("fee_tier_mode", "str", None, FEE_TIER_MODES)
    fee_min, fee_max = lt.money("fee_min"), lt.money("fee_max")
    given = [k for k in ("fee", "fee_percent", "fee_tiers") if lt.has(k)]
    if len(given) > 1:
        lt._problem(given[1], f"a level sets at most one of 'fee', 'fee_percent' and 'fee_tiers' "
                              f"(SPEC §9.1); this one sets {' and '.join(map(repr, given))}")
    if lt.has("fee_tiers") and not lt.has("fee_tier_mode"):
        lt._problem("fee_tier_mode", "is required with 'fee_tiers': \"single\" (the highest tier reached "
                                     "applies) or \"accumulated\" (every tier reached adds its part)")
    if lt.has("fee_tier_mode") and not lt.has("fee_tiers"):
        lt._problem("fee_tier_mode", "is set but the level has no 'fee_tiers'")
    for key in ("fee_min", "fee_max"):
        if lt.has(key) and not (lt.has("fee_percent") or lt.has("fee_tiers")):
            lt._problem(key, "clamps a percentage or tiered fee; the level has neither "
                             "'fee_percent' nor 'fee_tiers'")
    for code in sorted(set(fee_min or {}) & set(fee_max or {})):
        if fee_min[code] > fee_max[code]:
            lt._problem("fee_min", f"{code} {fee_min[code]} is above fee_max {code} {fee_max[code]}")
    interest = lt.data.get("interest") is True
    post = lt.get("post_interest", "bool", False)
    late = lt.get("late_payment_interest", "bool", False)
    for key, on in (("post_interest", post), ("late_payment_interest", late)):
        if on and not interest:
            lt._problem(key, "needs interest = true on the same level (it is interest the level charges)")
    return {
        "fee_percent": fee_percent, "fee_tiers": fee_tiers, "fee_tier_mode": mode,
        "fee_min": fee_min, "fee_max": fee_max,
        "compensation": lt.get("compensation", "str", None, COMPENSATION_KINDS),
        "post_interest": post, "late_payment_interest": late,
    }


def _read_fee_tiers(lt: _Table) -> dict[str, tuple[FeeTier, ...]] | None:
    """fee_tiers = { EUR = [ {over = 0.00, fixed = 5.00}, {over = 1000.00, percent = 1.0} ] }."""
    raw = lt.data["fee_tiers"]
    if not isinstance(raw, dict):
        return None  # lt.get reports the wrong type
    tiers: dict[str, tuple[FeeTier, ...]] = {}
    for code, steps in raw.items():
        if not currencies.is_known(code):
            lt._problem("fee_tiers", f"names unknown currency code {code!r} (ISO 4217, upper case)")
            continue
        if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
            lt._problem("fee_tiers", f"{code} must be a non-empty list of tables such as "
                                     f"{{over = 0.00, fixed = 5.00}}, not {steps!r}")
            continue
        parsed = []
        for number, step in enumerate(steps, start=1):
            st = _Table(step, f"{lt.where} key 'fee_tiers' {code} tier {number}", lt.problems, lt.file)
            over, fixed = st.get("over", "decimal"), st.get("fixed", "decimal", Decimal(0))
            percent = _percent(st, "percent", st.get("percent", "decimal", Decimal(0)))
            st.done()
            for key, amount in (("over", over), ("fixed", fixed)):
                if amount is not None and amount < 0:
                    st._problem(key, f"must not be negative, not {amount}")
                elif amount is not None and not currencies.fits_minor_unit(code, amount):
                    st._problem(key, f"{code} {amount} has more decimals than {code} allows")
            if over is not None and fixed is not None and percent is not None:
                parsed.append(FeeTier(over=over, fixed=fixed, percent=percent))
        if len(parsed) == len(steps):
            overs = [tier.over for tier in parsed]
            if overs[0] != 0 or any(b <= a for a, b in zip(overs, overs[1:])):
                lt._problem("fee_tiers", f"{code}: 'over' must start at 0.00 and rise strictly from tier to "
                                         f"tier, got {', '.join(map(str, overs))}")
            tiers[code] = tuple(parsed)
    return tiers


def _read_policy_money_rules(t: _Table, levels: list[Level]) -> dict[str, Any]:
    """The policy keys of SPEC §9.2, §9.3 and §9.6."""
    min_percent = _percent(t, "min_percent", t.get("min_percent", "decimal", None))
    pre_due_days = t.get("pre_due_days", "int", None)
    if pre_due_days is not None and not 1 <= pre_due_days <= 99:
        t._problem("pre_due_days", f"must be a number of days from 1 to 99, not {pre_due_days}")
        pre_due_days = None
    eu = any(lv.compensation == "eu" for lv in levels)
    amounts = t.money("compensation_amount")
    if amounts is not None and not eu:
        t._problem("compensation_amount", "is set but no level of the policy has compensation = \"eu\"")
    return {"min_percent": min_percent, "pre_due_days": pre_due_days,
            "compensation_amount": (amounts if amounts is not None else dict(EU_COMPENSATION)) if eu else None}


def _check_money_rules(policies: list[Policy], run: RunSettings, problems: list[str], file: str) -> None:
    """Checks across tables: rules that need a grouping or an interest setting of the policy."""
    for p in policies:
        for lv in p.levels:
            where = f"{file}: [[policy]] {p.name!r} level {lv.number}"
            if lv.late_payment_interest and run.grouping != "customer":
                problems.append(f"{where} key 'late_payment_interest': needs [run] grouping = \"customer\" "
                                f"(SPEC §9.5), not {run.grouping!r}")
            if lv.post_interest and not p.interest.include_in_total:
                problems.append(f"{where} key 'post_interest': posted interest is a receivable, so the "
                                f"letter's total due must include it; set include_in_total = true")
