"""The config keys of SPEC §9 (money rules), checked one by one and across tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import currencies
from .model import (CUSTOMER_LETTER_CURRENCY, EU_COMPENSATION, MAX_RATE_DAYS_BEFORE, RATE_DECIMALS, FeeTier, Level,
                    Policy, RunSettings)
from .toml_table import Table


def checked_percent(t: Table, key: str, value: Any, what: str = "") -> Decimal | None:
    """A percent from 0 to 100 with at most RATE_DECIMALS decimals; None (and a problem) otherwise."""
    if value is None:
        return None
    if not 0 <= value <= 100:
        t.problem(key, f"{what}must be a percent from 0 to 100, not {value}")
        return None
    if -value.as_tuple().exponent > RATE_DECIMALS:
        t.problem(key, f"{what}has more than {RATE_DECIMALS} decimals")
        return None
    return value


def read_level_money_rules(lt: Table) -> dict[str, Any]:
    """The level keys of SPEC §9.1, §9.2, §9.4, §9.5, checked one by one and together."""
    fee_percent = checked_percent(lt, "fee_percent", lt.get("fee_percent"))
    fee_tiers = read_fee_tiers(lt) if lt.has("fee_tiers") else None
    lt.get("fee_tiers")  # marks the key as read; its content was checked above
    mode = lt.get("fee_tier_mode")
    fee_min, fee_max = lt.get("fee_min"), lt.get("fee_max")
    given = [k for k in ("fee", "fee_percent", "fee_tiers") if lt.has(k)]
    if len(given) > 1:
        lt.problem(given[1], f"a level sets at most one of 'fee', 'fee_percent' and 'fee_tiers' "
                              f"(SPEC §9.1); this one sets {' and '.join(map(repr, given))}")
    if lt.has("fee_tiers") and not lt.has("fee_tier_mode"):
        lt.problem("fee_tier_mode", "is required with 'fee_tiers': \"single\" (the highest tier reached "
                                     "applies) or \"accumulated\" (every tier reached adds its part)")
    if lt.has("fee_tier_mode") and not lt.has("fee_tiers"):
        lt.problem("fee_tier_mode", "is set but the level has no 'fee_tiers'")
    for key in ("fee_min", "fee_max"):
        if lt.has(key) and not (lt.has("fee_percent") or lt.has("fee_tiers")):
            lt.problem(key, "clamps a percentage or tiered fee; the level has neither "
                             "'fee_percent' nor 'fee_tiers'")
    for code in sorted(set(fee_min or {}) & set(fee_max or {})):
        if fee_min[code] > fee_max[code]:
            lt.problem("fee_min", f"{code} {fee_min[code]} is above fee_max {code} {fee_max[code]}")
    interest = lt.data.get("interest") is True
    post = lt.get("post_interest")
    late = lt.get("late_payment_interest")
    for key, on in (("post_interest", post), ("late_payment_interest", late)):
        if on and not interest:
            lt.problem(key, "needs interest = true on the same level (it is interest the level charges)")
    return {
        "fee_percent": fee_percent, "fee_tiers": fee_tiers, "fee_tier_mode": mode,
        "fee_min": fee_min, "fee_max": fee_max,
        "compensation": lt.get("compensation"),
        "post_interest": post, "late_payment_interest": late,
    }


def read_fee_tiers(lt: Table) -> dict[str, tuple[FeeTier, ...]] | None:
    """fee_tiers = { EUR = [ {over = 0.00, fixed = 5.00}, {over = 1000.00, percent = 1.0} ] }."""
    raw = lt.data["fee_tiers"]
    if not isinstance(raw, dict):
        return None  # lt.get reports the wrong type
    tiers: dict[str, tuple[FeeTier, ...]] = {}
    for code, steps in raw.items():
        if not currencies.is_known(code):
            lt.problem("fee_tiers", f"names unknown currency code {code!r} (ISO 4217, upper case)")
            continue
        if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
            lt.problem("fee_tiers", f"{code} must be a non-empty list of tables such as "
                                     f"{{over = 0.00, fixed = 5.00}}, not {steps!r}")
            continue
        parsed = []
        for number, step in enumerate(steps, start=1):
            st = Table(step, f"{lt.where} key 'fee_tiers' {code} tier {number}", lt.problems, lt.file,
                       "fee tier")
            over, fixed = st.get("over"), st.get("fixed")
            percent = checked_percent(st, "percent", st.get("percent"))
            st.done()
            for key, amount in (("over", over), ("fixed", fixed)):
                if amount is not None and amount < 0:
                    st.problem(key, f"must not be negative, not {amount}")
                elif amount is not None and not currencies.fits_minor_unit(code, amount):
                    st.problem(key, f"{code} {amount} has more decimals than {code} allows")
            if over is not None and fixed is not None and percent is not None:
                parsed.append(FeeTier(over=over, fixed=fixed, percent=percent))
        if len(parsed) == len(steps):
            overs = [tier.over for tier in parsed]
            if overs[0] != 0 or any(b <= a for a, b in zip(overs, overs[1:])):
                lt.problem("fee_tiers", f"{code}: 'over' must start at 0.00 and rise strictly from tier to "
                                         f"tier, got {', '.join(map(str, overs))}")
            tiers[code] = tuple(parsed)
    return tiers


def read_policy_money_rules(t: Table, levels: list[Level]) -> dict[str, Any]:
    """The policy keys of SPEC §9.2, §9.3 and §9.6."""
    min_percent = checked_percent(t, "min_percent", t.get("min_percent"))
    pre_due_days = t.get("pre_due_days")
    if pre_due_days is not None and not 1 <= pre_due_days <= 99:
        t.problem("pre_due_days", f"must be a number of days from 1 to 99, not {pre_due_days}")
        pre_due_days = None
    eu = any(lv.compensation == "eu" for lv in levels)
    amounts = t.get("compensation_amount")
    if amounts is not None and not eu:
        t.problem("compensation_amount", "is set but no level of the policy has compensation = \"eu\"")
    return {"min_percent": min_percent, "pre_due_days": pre_due_days,
            "compensation_amount": (amounts if amounts is not None else dict(EU_COMPENSATION)) if eu else None}


def read_letter_currency(t: Table) -> dict[str, Any]:
    """The policy keys of SPEC §11.1: letter_currency (a known ISO 4217 code or "customer"),
    rate_date and rate_days_before, which only a policy with a letter currency may set."""
    code = t.get("letter_currency")
    rate_date, days_before = t.get("rate_date"), t.get("rate_days_before")
    if code is not None and code != CUSTOMER_LETTER_CURRENCY and not currencies.is_known(code):
        t.problem("letter_currency", f"{code!r} is neither a known ISO 4217 currency code (upper case, e.g. "
                                     f"\"EUR\") nor \"customer\" (the customers file's letter_currency column)")
        code = None
    if isinstance(days_before, int) and not 0 <= days_before <= MAX_RATE_DAYS_BEFORE:
        # beyond ten years the rate day leaves what a DATE holds (a crash at 9999999999 days)
        t.problem("rate_days_before", f"must be a number of days, 0 to {MAX_RATE_DAYS_BEFORE}, not {days_before}")
        days_before = 0
    for key in ("rate_date", "rate_days_before"):
        if t.has(key) and not t.has("letter_currency"):
            t.problem(key, "is set but the policy has no letter_currency: it says which day's exchange rate "
                           "converts a line into the letter currency (SPEC §11.1); set letter_currency or "
                           "remove the key")
    return {"letter_currency": code, "rate_date": rate_date, "rate_days_before": days_before}


def check_money_rules(policies: list[Policy], run: RunSettings, problems: list[str], file: str) -> None:
    """Checks across tables: rules that need a grouping of the run. (`post_interest` works with
    either `include_in_total`, SPEC §9.4: with false the posted interest is its own receivable,
    shown on the letter but not demanded in its total due.)"""
    for p in policies:
        for lv in p.levels:
            where = f"{file}: [[policy]] {p.name!r} level {lv.number}"
            if lv.late_payment_interest and run.grouping != "customer":
                problems.append(f"{where} key 'late_payment_interest': needs [run] grouping = \"customer\" "
                                f"(SPEC §9.5), not {run.grouping!r}")
