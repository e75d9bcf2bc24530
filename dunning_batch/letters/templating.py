"""The Jinja2 environment of the letters: templates, message catalogues and Babel formatting.

Wording lives in `templates/messages/<language>.toml`; this module only finds and formats it.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_currency, format_decimal
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..errors import UserError
from .payment_codes import grouped_iban, grouped_reference, payment_code

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
MESSAGES_DIR = TEMPLATES_DIR / "messages"
FALLBACK_LANGUAGE = "en"


@lru_cache(maxsize=None)
def catalog(language: str) -> dict:
    """The message catalogue of `language`, or English where the language has none."""
    path = MESSAGES_DIR / f"{language}.toml"
    if not path.is_file():
        path = MESSAGES_DIR / f"{FALLBACK_LANGUAGE}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


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


def _locale(language: str) -> str:
    return language if (MESSAGES_DIR / f"{language}.toml").is_file() else FALLBACK_LANGUAGE


def money(amount: Decimal, currency: str, language: str) -> str:
    return format_currency(amount, currency, locale=_locale(language))


def date(day: dt.date, language: str) -> str:
    return format_date(day, format="medium", locale=_locale(language)) if day else ""


def percent(rate: Decimal, language: str) -> str:
    return format_decimal(rate, format="#,##0.00####", locale=_locale(language))


def fill(text: str, **values: object) -> str:
    """A catalogue text with its {placeholders} filled in."""
    return text.format_map(values)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    env.filters.update(money=money, date=date, percent=percent, fill=fill, payment_term=payment_term)
    env.filters.update(iban=grouped_iban, reference=grouped_reference)  # issue 19: groups of four
    env.globals.update(catalog=catalog, payment_code=payment_code)
    return env


def template_names() -> set[str]:
    """Level kinds that have a template: `templates/<kind>.html.j2` other than the layouts
    and the run's summary page (summary.html.j2, not a letter)."""
    layouts = {"document", "letter", "summary"}
    return {p.name.removesuffix(".html.j2") for p in TEMPLATES_DIR.glob("*.html.j2")} - layouts
