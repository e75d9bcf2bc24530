"""The Jinja2 environment of the letters: templates, message catalogues and Babel formatting.

Wording lives in `templates/messages/<language>.toml`; this module only finds and formats it.
A letter is worded by its customer's language (the catalogue of the language part of a locale
such as fr_FR) and formatted by its locale (letter_locale: the language with the region of the
locale or of the customer's country, where Babel knows that combination).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date
from babel.localedata import exists as locale_exists
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..errors import UserError
from .payment_codes import grouped_iban, grouped_reference, payment_code, scheme as payment_scheme

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
MESSAGES_DIR = TEMPLATES_DIR / "messages"
FALLBACK_LANGUAGE = "en"


def _parts(tag: str | None) -> tuple[str, str | None]:
    """(language, region) of a language tag as customers files write it: `fr`, `fr_FR`,
    `de-CH`, `en_in` (the stages keep it in lower case); region None when it has none."""
    language, _, region = (tag or "").strip().replace("-", "_").partition("_")
    return language.lower(), (region.upper() or None)


def catalog_language(language: str | None) -> str:
    """The language whose catalogue words a letter: the language part of `language` (a bare
    language or a locale), or English where that language has no catalogue."""
    base, _ = _parts(language)
    return base if base and (MESSAGES_DIR / f"{base}.toml").is_file() else FALLBACK_LANGUAGE


@lru_cache(maxsize=None)
def catalog(language: str) -> dict:
    """The message catalogue of `language` (a language or a locale: fr_FR is worded in fr),
    or English where the language has none."""
    path = MESSAGES_DIR / f"{catalog_language(language)}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def letter_locale(language: str | None, country: str | None = None) -> str:
    """The locale a letter formats numbers, dates and money by, as a BCP 47 tag (`en-GB`,
    also its HTML lang): the catalogue's language (catalog_language) with the region the
    customer's language names (en_IN), else the customer's country (en + GB), where Babel knows
    that locale; the bare language otherwise and where the region is the language's own
    default (en + US, de + DE: the formats of today, byte for byte)."""
    base = catalog_language(language)
    default_region = get_global("likely_subtags").get(base, "").rpartition("_")[2] or None
    for region in (_parts(language)[1], (country or "").strip().upper() or None):
        if region and region.isascii() and region.isalpha() and locale_exists(f"{base}_{region}"):
            return base if region == default_region else f"{base}-{region}"
    return base


@lru_cache(maxsize=None)
def _babel(locale: str) -> Locale:
    """The Babel locale of a tag: a letter_locale (`en-GB`), or an older folder's language."""
    base, region = _parts(locale)
    try:
        return Locale.parse(f"{base}_{region}" if region else base)
    except (ValueError, UnknownLocaleError):  # not a locale Babel knows: its catalogue's language
        return Locale.parse(catalog_language(locale))


def payment_term_wording(code: str, language: str) -> str | None:
    """The words for a configured payment term (the catalogues' [payment_terms], keyed by the
    config's code) in `language`, else in English; None when English has none either."""
    for lang in (language, FALLBACK_LANGUAGE):
        wording = catalog(lang).get("payment_terms", {}).get(code)
        if wording is not None:
            return wording
    return None


def payment_term(code: str, language: str) -> str:
    """Jinja filter: a payment term as the letter says it. Config load refuses a term English
    has no words for; a folder re-rendered after the catalogue lost one stops here."""
    wording = payment_term_wording(code, language)
    if wording is None:
        raise UserError(f"{MESSAGES_DIR / (FALLBACK_LANGUAGE + '.toml')}: [payment_terms] has no wording for the "
                        f"payment term {code!r}; add {code} = \"...\" there")
    return wording


def languages() -> list[str]:
    return sorted(p.stem for p in MESSAGES_DIR.glob("*.toml"))


def _locale(locale: str) -> Locale:
    """The Babel locale to format by: a letter_locale, or a bare language (its catalogue's)."""
    return _babel(letter_locale(locale))


def money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=_locale(locale))


def date(day: dt.date, locale: str) -> str:
    return format_date(day, format="medium", locale=_locale(locale)) if day else ""


def percent(rate: Decimal, locale: str) -> str:
    return format_decimal(rate, format="#,##0.00####", locale=_locale(locale))


def exchange_rate(rate: Decimal, locale: str) -> str:
    """An exchange rate (SPEC §11.1) with the decimals it was given (up to 10), by locale."""
    return format_decimal(rate, format="#,##0.##########", locale=_locale(locale))


def fill(text: str, **values: object) -> str:
    """A catalogue text with its {placeholders} filled in."""
    return text.format_map(values)


def window_lines(text: str | None) -> str:
    """Jinja filter: the lines of a name or address as the window shows them, without blank
    lines or the spaces around each: a name exported as "ACME\\n\\n\\n" must not push the
    address out of the window (sql/11_customer_problems counts its lines against the 6 it holds)."""
    lines = (line.strip() for line in (text or "").replace("\r\n", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    env.filters.update(money=money, date=date, percent=percent, fill=fill, payment_term=payment_term,
                       exchange_rate=exchange_rate, window_lines=window_lines)
    env.filters.update(iban=grouped_iban, reference=grouped_reference)  # issue 19: groups of four
    env.globals.update(catalog=catalog, payment_code=payment_code, payment_scheme=payment_scheme,
                       letter_locale=letter_locale)
    return env


def template_names() -> set[str]:
    """Level kinds that have a template: `templates/<kind>.html.j2` other than the layouts,
    the parts they include (the payment block) and the run's summary page (not a letter)."""
    layouts = {"document", "letter", "payment_block", "payment_part", "summary"}
    return {p.name.removesuffix(".html.j2") for p in TEMPLATES_DIR.glob("*.html.j2")} - layouts
