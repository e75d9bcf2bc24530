"""The public holidays of `[run] pay_by_calendar` as the relation pay_by_holidays(day, name).

sql/50_letter_heads.sql moves a computed pay-by date off Saturdays, Sundays and these days;
this module only names the calendar's holidays (the `holidays` package) for the years a run
can reach, so that the rule stays in SQL and a rerun can say which days were closed.
"""

from __future__ import annotations

import datetime as dt

import holidays
import pyarrow as pa

from .model import Config

# The holiday names in one language whatever the machine's locale: `holidays` otherwise picks
# a translation from the environment (LANG), and run.json would differ between machines.
NAMES_LANGUAGE = "en_US"
# Days past the latest computed pay-by date that the next business day may lie (SQL looks this
# far): no calendar closes a month on end.
LOOKAHEAD_DAYS = 31
HOW_TO_FIND = ("codes are ISO 3166-1 alpha-2 countries, optionally with the `holidays` package's "
               "subdivision after a hyphen (\"DE\", \"DE-BY\", \"GB-ENG\"); list them with "
               "`python -c \"import holidays; print(holidays.list_supported_countries())\"`")


def parse(calendar: str) -> tuple[str, str | None]:
    """(country, subdivision or None) of a pay_by_calendar value, spelt as the holidays package
    spells them: "DE" -> ("DE", None), "de-by" -> ("DE", "BY"), "DE-augsburg" -> ("DE", "Augsburg")."""
    country, _, subdivision = calendar.strip().partition("-")
    country, subdivision = country.upper(), subdivision.strip()
    known = holidays.list_supported_countries(include_aliases=False).get(country, [])
    spelt = {s.upper(): s for s in known}
    return country, (spelt.get(subdivision.upper(), subdivision) or None)


def problem(calendar: str) -> str | None:
    """What is wrong with a pay_by_calendar value, in words; None when `holidays` knows it."""
    country, subdivision = parse(calendar)
    supported = holidays.list_supported_countries(include_aliases=False)
    if country not in supported:
        return f"names the country {country!r}, which the holidays package has no calendar for; {HOW_TO_FIND}"
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(f"{country}-{s}" for s in supported[country]) or f"none: write {country!r} alone"
        return f"names the subdivision {subdivision!r}, which {country} does not have (its subdivisions: {known})"
    return None


def _calendar(calendar: str, years: range) -> holidays.HolidayBase:
    country, subdivision = parse(calendar)
    probe = holidays.country_holidays(country, subdiv=subdivision)
    language = NAMES_LANGUAGE if NAMES_LANGUAGE in probe.supported_languages else None
    return holidays.country_holidays(country, subdiv=subdivision, years=years, language=language)


def reachable_years(as_of: dt.date, max_days_to_settle: int) -> range:
    """The years a pay-by date of this run can fall in, moved or not."""
    last = as_of + dt.timedelta(days=max_days_to_settle + LOOKAHEAD_DAYS)
    return range(as_of.year, last.year + 1)


def holiday_table(calendar: str | None, as_of: dt.date, max_days_to_settle: int) -> pa.Table:
    """pay_by_holidays: one row per holiday of `calendar` in the years the run can reach,
    in date order; no rows without a calendar (the pay-by dates are then as computed)."""
    days: list[dt.date] = []
    names: list[str] = []
    if calendar is not None:
        for day, name in sorted(_calendar(calendar, reachable_years(as_of, max_days_to_settle)).items()):
            days.append(day)
            names.append(name)
    return pa.table({"day": pa.array(days, pa.date32()), "name": pa.array(names, pa.string())})


def pay_by_holidays(config: Config, as_of: dt.date) -> pa.Table:
    """The relation pay_by_holidays of a run of `config` on `as_of` (holiday_table)."""
    settle = max((lv.days_to_settle for p in config.policies for lv in p.levels), default=0)
    return holiday_table(config.run.pay_by_calendar, as_of, settle)
