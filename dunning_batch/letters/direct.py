"""The direct renderer: a one-page letter drawn without a layout engine, about five times
faster than WeasyPrint lays it out (README "Performance and scale").

A letter's HTML comes from the same templates as WeasyPrint's; direct_letter.py places it
as letter.css and payment.css do, direct_pdf.py writes it. A letter it cannot place exactly
as WeasyPrint would (two or more pages, the Swiss QR-bill, a word that may break inside at
a line's end, a script that needs bidi or marks) is left to WeasyPrint (render.py), as is
every letter when the stylesheets are not those direct_layout.STYLESHEETS_SHA256 names.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

from .direct_html import letter_sections
from .direct_layout import STYLESHEETS_SHA256
from .direct_letter import lay_out
from .direct_pdf import write_pdf
from .direct_text import Unsupported
from .templating import TEMPLATES_DIR, environment

STYLESHEETS = ("letter.css", "payment.css")


def stylesheets_sha256() -> str:
    """The digest of the stylesheets as they are now."""
    return hashlib.sha256(b"".join((TEMPLATES_DIR / name).read_bytes() for name in STYLESHEETS)).hexdigest()


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether this process renders letters directly: HarfBuzz's binding is there and the
    stylesheets are the ones the layout follows."""
    if importlib.util.find_spec("uharfbuzz") is None:
        return False
    return stylesheets_sha256() == STYLESHEETS_SHA256


@lru_cache(maxsize=1)
def letter_template():
    """One letter's section: the level's template, as document.html.j2 includes it."""
    return environment().from_string('{% include letter.template ~ ".html.j2" %}')


def render_direct(letter: dict[str, Any], sender: dict[str, Any], pdf_dir: Path) -> int | None:
    """Write `pdf_dir/LETTER_ID.pdf` directly and return its pages, or None for a letter
    WeasyPrint must render."""
    if not available():
        return None
    try:
        plan = lay_out(letter_section(letter, sender, {}))
        total = len(plan.pages)
        if total > 1:   # "Page 1 of 2" needs the total the template is given: the body stays as it was
            plan = lay_out(letter_section(letter, sender, {letter["letter_id"]: total}))
            if len(plan.pages) != total:
                raise Unsupported("numbering the pages changed the layout")
    except Unsupported:
        return None
    write_pdf(plan, letter["letter_id"], pdf_dir / f"{letter['letter_id']}.pdf")
    return len(plan.pages)


def letter_section(letter: dict[str, Any], sender: dict[str, Any], pages: dict[str, int]):
    """The section of `letter` the templates write; `pages`: the totals of numbered letters."""
    (section,) = letter_sections(letter_template().render(letter=letter, sender=sender, pages=pages))
    return section
