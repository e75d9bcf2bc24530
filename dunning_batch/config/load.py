"""TOML config -> a checked, immutable `Config` (SPEC §3); every key is checked (§3.4).

Each key's kind, default and allowed values come from keys.py (`Table.get(key)`), the same
entries docs/config.md is generated from."""

from __future__ import annotations

import codecs
import dataclasses
import csv
import datetime as dt
import hashlib
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .. import currencies
from . import holiday_calendar
from ..errors import ConfigError
from ..letters.templating import FALLBACK_LANGUAGE, MESSAGES_DIR, languages, payment_term_wording
from .model import (CUSTOMER_COLUMNS, DOC_TYPES, MAX_DAYS_TO_SETTLE, OPEN_ITEM_COLUMNS, PAYMENT_COLUMNS,
                    PLAUSIBLE_YEARS, RATE_COLUMNS, RATE_DECIMALS, Config, InputFormat, Interest, Level, Policy, RunSettings)
from .model import MAX_DAYS_TO  # SPEC §11.3
from .output import read_output
from .money_rules import check_money_rules, read_letter_currency, read_level_money_rules, read_policy_money_rules
from .sales_reps import read_sales_reps
from .sender import control_character, read_sender
from .toml_table import Table


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
    top = Table(data, "top level", problems, file, "top level")
    run = _read_run(Table(top.get("run"), "[run]", problems, file, "[run]"))
    sender = read_sender(Table(top.get("sender"), "[sender]", problems, file, "[sender]"))
    global_interest = Table(top.get("interest"), "[interest]", problems, file, "[interest]")
    interest = _read_interest(global_interest, Interest(), path)
    inputs = Table(top.get("input"), "[input]", problems, file, "[input]")
    open_items = _read_format(inputs, "open_items", OPEN_ITEM_COLUMNS, problems, file)
    customer_fmt = _read_format(inputs, "customers", CUSTOMER_COLUMNS, problems, file)
    payments_fmt = _read_format(inputs, "payments", PAYMENT_COLUMNS, problems, file)
    rates_fmt = _read_format(inputs, "rates", RATE_COLUMNS, problems, file)    # SPEC §11.1
    inputs.done()
    output = read_output(top, open_items)
    sales_reps = read_sales_reps(top)  # SPEC §11.2
    policies = [
        _read_policy(Table(p, f"[[policy]] #{i}", problems, file, "[[policy]]"), interest, path)
        for i, p in enumerate(top.get("policy"), start=1)
    ]
    top.done()
    _check_policies(policies, problems, file)
    check_money_rules(policies, run, problems, file)
    if problems:
        raise ConfigError(problems)
    return Config(
        path=path, sha256=hashlib.sha256(raw_bytes).hexdigest(), run=run, sender=sender,
        policies=tuple(policies), open_items=open_items, customers=customer_fmt, payments=payments_fmt,
        rates=rates_fmt, output=output, sales_reps=sales_reps,
    )


def _read_run(t: Table) -> RunSettings:
    # every field of RunSettings is the [run] key of its name (config/keys.py: type and default)
    run = RunSettings(**{f.name: t.get(f.name) for f in dataclasses.fields(RunSettings)})
    low, high = PLAUSIBLE_YEARS
    if isinstance(run.plausible_years, int) and not low <= run.plausible_years <= high:
        t.problem("plausible_years", f"must be a number of years from {low} to {high}, not {run.plausible_years}")
    if run.ledger is not None and (not run.ledger.strip() or control_character(run.ledger)):
        t.problem("ledger", f"must be the path of the ledger file (relative to this config), not {run.ledger!r}")
    if run.pay_by_calendar is not None:
        wrong = holiday_calendar.problem(run.pay_by_calendar)
        if wrong:
            t.problem("pay_by_calendar", wrong)
    t.done()
    return run


def _read_interest(t: Table, base: Interest, config_path: Path) -> Interest:
    """Reads an interest table over `base`: key by key, but a named rate source replaces base's."""
    values = {
        "basis": t.get("basis", inherit=base.basis),
        "calculate_to": t.get("calculate_to", inherit=base.calculate_to),
        "include_in_total": t.get("include_in_total", inherit=base.include_in_total),
        "min_amount": t.get("min_amount", inherit=base.min_amount),
    }
    fixed = t.get("fixed_rate", inherit=None)  # inherited below, as one rate source
    reference = t.get("reference_rates", inherit=None)
    margin = t.get("margin", inherit=None)
    if fixed is not None and reference is not None:
        t.problem("fixed_rate", "and 'reference_rates' are two rate sources; keep one")
    # a rate is a percent a year from 0 to 100: beyond it is a typing error (8000 for 8.000)
    if fixed is not None and not 0 <= fixed <= 100:
        t.problem("fixed_rate", f"must be a percent from 0 to 100, not {fixed}")
    if margin is not None and not -100 <= margin <= 100:
        t.problem("margin", f"must be a percent from -100 to 100, not {margin}")
    for key, rate in (("fixed_rate", fixed), ("margin", margin)):
        if rate is not None and -rate.as_tuple().exponent > RATE_DECIMALS:
            t.problem(key, f"has more than {RATE_DECIMALS} decimals")
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
    # the rate charged on a day is reference + margin: at most 100 percent, like any rate
    # (checked where the reference rates or the margin are set, once)
    for day, rate in (values["reference_rates"] or ()) if reference is not None or margin is not None else ():
        charged = rate + values["margin"]
        if charged > 100 and -100 <= values["margin"] <= 100:
            t.problem("margin" if margin is not None else "reference_rates",
                      f"the rate from {day} is {rate} + margin {values['margin']} = {charged}; a rate charged "
                      f"is at most 100 percent")
            break
    t.done()
    return Interest(**values)


def _read_rates(path: Path, t: Table) -> tuple[tuple[dt.date, Decimal], ...]:
    """A reference-rate table: effective_from (ISO date), rate_percent; one row per change."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        t.problem("reference_rates", f"cannot read {path} ({exc})")
        return ()
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip() for c in rows[0]] != ["effective_from", "rate_percent"]:
        t.problem("reference_rates", f"{path} must have the header 'effective_from,rate_percent'")
        return ()
    rates: list[tuple[dt.date, Decimal]] = []
    for number, row in enumerate(rows[1:], start=2):
        try:
            day, rate = dt.date.fromisoformat(row[0].strip()), Decimal(row[1].strip())
            if not rate.is_finite() or -rate.as_tuple().exponent > RATE_DECIMALS or not -100 <= rate <= 100:
                raise InvalidOperation
        except (ValueError, IndexError, InvalidOperation):
            t.problems.append(f"{path}:{number}: expected an ISO date and a percent from -100 to 100 "
                              f"(at most {RATE_DECIMALS} decimals), got {','.join(row)!r}")
            continue
        if rates and day <= rates[-1][0]:
            t.problems.append(f"{path}:{number}: effective_from {day} must come after {rates[-1][0]}")
        rates.append((day, rate))
    if not rates:
        t.problem("reference_rates", f"{path} has no rates")
    return tuple(rates)


def _read_format(inputs: Table, name: str, columns: tuple[str, ...], problems: list[str], file: str) -> InputFormat:
    t = Table(inputs.get(name), f"[input.{name}]", problems, file, f"[input.{name}]")
    mapping = t.get("columns")
    for standard in mapping:
        if standard not in columns:
            t.problem("columns", f"maps {standard!r}, which is not a column of SPEC §2 ({', '.join(columns)})")
    _check_one_source_each(t, mapping)
    doc_types = t.get("doc_types") if name == "open_items" else {}
    for export_value, standard in doc_types.items():
        if standard not in DOC_TYPES:
            t.problem("doc_types", f"maps {export_value!r} to {standard!r}; use one of {', '.join(DOC_TYPES)}")
    fmt = InputFormat(
        columns=mapping, doc_types=doc_types,
        date_format=t.get("date_format"),
        decimal_comma=t.get("decimal_comma"),
        delimiter=t.get("delimiter"),
        encoding=t.get("encoding"),
        **_read_export_defaults(t, name, mapping),
    )
    probe = dt.date(2026, 12, 31)
    try:
        if dt.datetime.strptime(probe.strftime(fmt.date_format), fmt.date_format).date() != probe:
            raise ValueError
    except ValueError:
        t.problem("date_format", f"{fmt.date_format!r} does not read back a full date (day, month, year)")
    if len(fmt.delimiter) != 1 or fmt.delimiter in ('"', "\n", "\r"):
        t.problem("delimiter", f"must be one character other than a quote or newline, not {fmt.delimiter!r}")
    try:
        codecs.lookup(fmt.encoding)
    except LookupError:
        t.problem("encoding", f"{fmt.encoding!r} is not an encoding Python knows (e.g. 'utf-8', 'cp1252')")
    t.done()
    return fmt


def _read_export_defaults(t: Table, name: str, mapping: dict[str, str]) -> dict[str, Any]:
    """The keys that stand in for what an export lacks (issue 18): [input.open_items] currency
    and overpaid_invoice, [input.customers] missing and language_by_country."""
    if name == "open_items":
        currency = t.get("currency")
        if currency is not None and not currencies.is_known(currency):
            t.problem("currency", f"{currency!r} is not a known ISO 4217 currency code (upper case, e.g. \"USD\")")
            currency = None
        if currency is not None and "currency" in mapping:
            t.problem("currency", f"gives every row the currency {currency}, but columns maps currency to the "
                                  f"export column {mapping['currency']!r}; keep one: remove the key or the mapping")
        return {"currency": currency,
                "overpaid_invoice": t.get("overpaid_invoice")}
    if name == "customers":
        return {"missing": t.get("missing"),
                "language_by_country": _language_by_country(t)}
    return {}


def _language_by_country(t: Table) -> dict[str, str]:
    """Country code (upper case) -> the language of a message catalogue: a language that has one
    (de), or a locale whose language has one (fr_FR -> fr: the letters are worded by catalogue)."""
    given = t.get("language_by_country")
    known = set(languages())
    out: dict[str, str] = {}
    for country, language in given.items():
        base = language.strip().lower().replace("-", "_").split("_")[0]
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            t.problem("language_by_country", f"names {country!r}, which is not an ISO 3166-1 alpha-2 country "
                                             f"code (two letters, e.g. DE)")
        elif country.upper() in out:
            t.problem("language_by_country", f"names the country {country.upper()} twice (codes are "
                                             f"case-insensitive); keep one")
        elif base not in known:
            t.problem("language_by_country", f"gives {country} the language {language!r}, which has no message "
                                             f"catalogue in templates/messages; use one of "
                                             f"{', '.join(sorted(known))} (or a locale of one, such as fr_FR)")
        else:
            out[country.upper()] = base
    return out


def _check_one_source_each(t: Table, mapping: dict[str, str]) -> None:
    """An export column feeds one standard column: two standard columns read from one export
    column would give the same values two meanings (an `amount` that is really the open amount)."""
    by_source: dict[str, list[str]] = {}
    for standard, source in mapping.items():
        by_source.setdefault(source, []).append(standard)
    for source, standards in by_source.items():
        if len(standards) > 1:
            names = " and ".join(map(repr, standards))
            t.problem("columns", f"maps {names} to the same export column {source!r}; an export column feeds "
                                 f"one standard column: keep the mapping that says what {source!r} holds and "
                                 f"remove the other (or map it to a column of its own)")


def _days_to(lt: Table) -> int | None:
    """A level's days_to (SPEC §11.3): more days past due than its days_past_due, which it ends."""
    days_to, start = lt.get("days_to"), lt.data.get("days_past_due")
    if not isinstance(days_to, int):
        return None
    if days_to < 0:
        lt.problem("days_to", f"must not be negative, not {days_to}")
    elif days_to > MAX_DAYS_TO:
        lt.problem("days_to", f"must be a number of days up to {MAX_DAYS_TO}, not {days_to}")
    elif isinstance(start, int) and not isinstance(start, bool) and days_to <= start:
        lt.problem("days_to", f"must be more than the level's days_past_due {start}, not {days_to}: the level "
                              f"holds items more than days_past_due and at most days_to days past due")
    else:
        return days_to
    return None


def _read_policy(t: Table, global_interest: Interest, config_path: Path) -> Policy:
    name = t.get("name")
    if name:
        t.where = f"[[policy]] {name!r}"
    interest_table = Table(t.get("interest"), f"{t.where} [policy.interest]", t.problems, t.file,
                           "[policy.interest]")
    levels = []
    raw_levels = t.get("level")
    for number, raw in enumerate(raw_levels, start=1):
        lt = Table(raw, f"{t.where} level {number}", t.problems, t.file, "[[policy.level]]")
        levels.append(Level(
            number=number,
            days_past_due=lt.nonneg_int("days_past_due"),
            days_to_settle=lt.nonneg_int("days_to_settle"),
            fee=lt.get("fee"),
            interest=lt.get("interest"),
            template=lt.get("template"),
            credit_hold=lt.get("credit_hold"),
            payment_term=_payment_term(lt),
            **read_level_money_rules(lt),
            days_to=_days_to(lt),
        ))
        if isinstance(levels[-1].days_to_settle, int) and levels[-1].days_to_settle > MAX_DAYS_TO_SETTLE:
            # the pay-by date must stay a date (and a letter's deadline within ten years)
            lt.problem("days_to_settle", f"must be a number of days from 0 to {MAX_DAYS_TO_SETTLE}, "
                                         f"not {levels[-1].days_to_settle}")
        lt.done()
    policy = Policy(
        name=name,
        default=t.get("default"),
        customer_classes=tuple(t.get("customer_classes")),
        sequential=t.get("sequential"),
        min_days_between_letters=t.nonneg_int("min_days_between_letters"),
        min_amount=t.get("min_amount"),
        levels=tuple(levels),
        interest=_read_interest(interest_table, global_interest, config_path),
        **read_policy_money_rules(t, levels),
        **read_letter_currency(t),
    )
    if not levels:
        t.problem("level", "is missing: a policy needs at least one [[policy.level]]")
    thresholds = [lv.days_past_due for lv in levels]
    if all(isinstance(d, int) for d in thresholds) and any(b <= a for a, b in zip(thresholds, thresholds[1:])):
        t.problem("level", f"days_past_due must rise strictly from level to level, got {thresholds}")
    if any(lv.interest for lv in levels) and not policy.interest.has_rate_source:
        t.problem("interest", "a level charges interest but no rate source is set "
                   "(fixed_rate or reference_rates in [interest] or [policy.interest])")
    t.done()
    return policy


def _payment_term(lt: Table) -> str | None:
    """A level's payment term: a code the letters word from the catalogues' [payment_terms]
    (English at least, the fallback of every language), the code itself for the ERP."""
    code = lt.get("payment_term")
    if code is not None and payment_term_wording(code, FALLBACK_LANGUAGE) is None:
        lt.problem("payment_term", f"{code!r} has no wording in {MESSAGES_DIR / (FALLBACK_LANGUAGE + '.toml')}: "
                                   f"add {code} = \"...\" under its [payment_terms] (and in the other "
                                   f"languages' catalogues, which fall back to English)")
    return code


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
