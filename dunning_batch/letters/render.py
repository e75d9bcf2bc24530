"""Letters -> PDF files, each letter's pages written as `pdf/LETTER_ID.pdf`: drawn directly
(direct.py) where the direct renderer can, else laid out by WeasyPrint, one letter a document
(render_batch); bench/render.py still lays out many letters as one WeasyPrint document, the
path before the direct renderer.

Laying out a batch as one document spreads a document's fixed costs (the stylesheet, fonts)
over its letters. Each letter's PDF is written from its own pages, its fonts subset to its own
glyphs: its bytes do not depend on the letters laid out beside it, and it is about a sixth of
the size of a PDF cut from the batch's one PDF, which carried the whole batch's font subset.
A letter longer than one layout may hold (batches.BATCH_LINES) is alone in its batch and is
laid out in parts instead, whose pages are written into its PDF part by part (streamed_pdf.py).

"Page 1 of 2" needs a letter's total, which CSS cannot give per letter (counter(pages) counts
the whole document): the batch is laid out with each letter's total as guessed from its
lines, and the letters guessed wrong are laid out again knowing their total (the number is
in margin boxes, so the body's layout and the pages are the same); a letter's PDF is written
from the layout that numbered it right. A one-page letter carries no page number.
"""

from __future__ import annotations

import calendar
import contextlib
import copy
import datetime as dt
import gc
import io
import math
import os
from pathlib import Path
from typing import Any, Iterator

from weasyprint import CSS, HTML
from weasyprint.formatting_structure.boxes import TextBox
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from . import batches
from .batches import PRINTED_LINES, printed_lines
from .direct import render_direct
from .payment_codes import EPC_IMAGE_URL, EPC_SIZE_MM
from .streamed_pdf import StreamedPdf
from .templating import TEMPLATES_DIR, environment


class RefuseAll(URLFetcher):
    """Loads nothing: styles are inlined and fonts come from the system, so no URL a
    customer's data might smuggle in (file://, http://) is ever opened. The one URL it reads
    is a data: URL of a PNG, which carries its content and opens nothing: the payment code's
    image (payment_codes.epc_png; a customer's text is escaped, so it cannot add one)."""

    refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith(EPC_IMAGE_URL):
            return super().fetch(url, headers)
        RefuseAll.refused.append(url)
        raise ValueError(f"dunning_batch loads no external resources (refused {url})")


def letters_html(letters: list[dict[str, Any]], sender: dict[str, Any], first_page: int = 1,
                 pages: dict[str, int] | None = None) -> str:
    """The HTML of a document of `letters`; `pages` (letter id -> total pages) numbers the pages
    of those letters ("Page 1 of 2"), the others have none."""
    return environment().get_template("document.html.j2").render(letters=letters, sender=sender,
                                                                  first_page=first_page, pages=pages or {})


# The EPC code and its caption float beside the bank details (payment.css). Where the float
# would run past the page's end while the text beside it fits, WeasyPrint keeps the closing
# block on the page and cuts the float off: the code runs into the footer and the caption is
# lost. Such a letter is laid out again with the bank details at least as tall as the code, its
# caption (three lines at most in the catalogues) and margins, so the closing block goes to the
# next page with what it takes along, as the direct renderer places it (direct_letter.py).
KEEP_CODE_WHOLE = f".bank {{ min-height: {EPC_SIZE_MM + 14}mm; }}"


def _layout(letters: list[dict[str, Any]], sender: dict[str, Any], fonts: FontConfiguration,
            first_page: int = 1, pages: dict[str, int] | None = None) -> Any:
    """One document of `letters`; a letter alone whose EPC code was cut off at a page's end is
    laid out again keeping it whole (KEEP_CODE_WHOLE). In a document of several letters the
    rule would move the others' blocks too: bench/render.py's batched path keeps the cut."""
    html = HTML(string=letters_html(letters, sender, first_page, pages), base_url=str(TEMPLATES_DIR),
                url_fetcher=RefuseAll())
    document = html.render(font_config=fonts)
    if len(letters) == 1 and code_cut_off(document.pages):
        document = html.render(font_config=fonts, stylesheets=[CSS(string=KEEP_CODE_WHOLE)])
    return document


def code_cut_off(pages: list[Any]) -> bool:
    """Whether the laid-out `pages` hold an EPC code without its caption. WeasyPrint's page box
    (a private attribute) is the one place that says what was placed."""
    codes = [box for page in pages for box in page._page_box.descendants()
             if getattr(box, "element_tag", None) == "div" and getattr(box, "element", None) is not None
             and "epc-code" in (box.element.get("class") or "").split()]
    return bool(codes) and not any(isinstance(box, TextBox) and box.text.strip()
                                   for code in codes for box in code.descendants())


def render_batch(letters: list[dict[str, Any]], sender: dict[str, Any], pdf_dir: Path,
                 direct: bool = True) -> list[tuple[str, int]]:
    """Write one PDF per letter: each letter the direct renderer can draw (direct.py) and of at
    most BATCH_LINES printed lines, the others laid out by WeasyPrint one letter a document (a
    longer letter in parts). With `direct` False (bench/render.py: the path before the direct
    renderer) WeasyPrint lays out all `letters` as one document. Returns (letter_id, pages) in
    the order of `letters`."""
    pages = {}
    if direct:  # a letter longer than a layout holds is laid out in parts, in bounded memory
        pages = {letter["letter_id"]: drawn for letter in letters if printed_lines(letter) <= batches.BATCH_LINES
                 and (drawn := render_direct(letter, sender, pdf_dir))}
    rest = [letter for letter in letters if letter["letter_id"] not in pages]
    # what the direct renderer leaves (a few letters a night) is laid out one letter a document:
    # in a batch, the EPC code's caption that WeasyPrint cuts off a page's end lands on the next
    # letter's first page (README Semantics, "Drawn directly or laid out by WeasyPrint")
    for part in ([[letter] for letter in rest] if direct else [rest] if rest else []):
        pages.update(_render_with_weasyprint(part, sender, pdf_dir))
    return [(letter["letter_id"], pages[letter["letter_id"]]) for letter in letters]


def _render_with_weasyprint(letters: list[dict[str, Any]], sender: dict[str, Any],
                            pdf_dir: Path) -> list[tuple[str, int]]:
    """Lay `letters` out as one document and write one PDF per letter."""
    with _source_date(letters[0]["run_date"]), _no_cycle_collection():
        if len(letters) == 1 and printed_lines(letters[0]) > batches.BATCH_LINES:
            return [_render_in_parts(parts_of(letters[0]), sender, pdf_dir)]
        return _render_document(letters, sender, pdf_dir)


def _render_document(letters: list[dict[str, Any]], sender: dict[str, Any], pdf_dir: Path) -> list[tuple[str, int]]:
    """render_batch's one document; its layout is garbage once this returns."""
    fonts = FontConfiguration()
    guessed = {letter["letter_id"]: guess_pages(letter) for letter in letters}
    document = _layout(letters, sender, fonts, pages=_numbered(guessed))
    pages_of = _pages_by_letter(document.pages)
    totals = {letter_id: len(pages) for letter_id, pages in pages_of.items()}
    right, guess = _numbered(totals), _numbered(guessed)
    wrong = [letter for letter in letters if right.get(letter["letter_id"]) != guess.get(letter["letter_id"])]
    if wrong:  # lay out again with the right total: the margin boxes change, the pages do not
        again = _pages_by_letter(_layout(wrong, sender, fonts, pages=right).pages)
        if any(len(again[letter["letter_id"]]) != totals[letter["letter_id"]] for letter in wrong):
            raise RuntimeError(f"numbering the pages changed the layout of {sorted(again)}")
        pages_of.update(again)
    return [_write_letter(document, letter["letter_id"], pages_of[letter["letter_id"]], pdf_dir) for letter in letters]


def _write_letter(document: Any, letter_id: str, pages: list[Any], pdf_dir: Path) -> tuple[str, int]:
    """Write one letter's pages as `pdf_dir/LETTER_ID.pdf`, titled with its id. Its fonts are
    subset to its own glyphs, so its bytes do not depend on the letters laid out beside it."""
    letter = document.copy(pages)
    letter.metadata = copy.copy(document.metadata)
    letter.metadata.title = letter_id
    letter.write_pdf(pdf_dir / f"{letter_id}.pdf")
    return letter_id, len(pages)


def _numbered(pages: dict[str, int]) -> dict[str, int]:
    """The letters whose pages carry numbers, with their totals: those of two or more pages."""
    return {letter_id: total for letter_id, total in pages.items() if total > 1}


# The guess of a letter's pages, in rows of its table (letter.css): an interest line is about
# 0.7 of a row, a heading or a block's margins a row or two, the final notice's box 4 rows,
# a row of the totals one (a fee row is taken as there).
# Page 1 holds 23 rows with the totals and payment block, pages 1 and 2 together 75, every
# further page 52 more. A wrong guess costs time only: that letter is laid out again.
PAGE_1_ROWS, PAGES_1_2_ROWS, PAGE_ROWS = 23, 75, 52


def guess_pages(letter: dict[str, Any]) -> int:
    """How many pages `letter` will take, guessed from its lines (see PAGE_1_ROWS)."""
    interest = [letter[key] for key in ("interest_lines", "late_interest_lines", "compensation_lines")]
    rows = (len(letter["lines"]) + 0.7 * sum(len(lines) for lines in interest)
            + 1.6 * sum(1 for lines in interest if lines)
            + (1.3 * letter["sections"] if letter["sections"] > 1 else 0)
            + (4 + len(letter["actions"]) if letter["actions"] else 0)
            + 1 + sum(1 for key in ("credit_total", "interest_total", "compensation_total") if letter[key]))
    if rows <= PAGE_1_ROWS:
        return 1
    return 2 + max(0, math.ceil((rows - PAGES_1_2_ROWS) / PAGE_ROWS))


def _pages_by_letter(pages: list[Any]) -> dict[str, list[Any]]:
    """A document's pages by the letter they belong to, in order."""
    by_letter: dict[str, list[Any]] = {}
    for page in pages:
        by_letter.setdefault(_page_owner(page.anchors), []).append(page)
    return by_letter


def parts_of(letter: dict[str, Any]) -> list[dict[str, Any]]:
    """A long letter as parts of BATCH_LINES printed lines each, in the order the PDF prints
    them (its table, then the interest, late-interest and compensation lines); `part` tells
    the template which part opens the letter and which closes it with the totals."""
    total, size = printed_lines(letter), batches.BATCH_LINES
    parts = []
    for start in range(0, total, size):
        stop = start + size
        part = dict(letter, part={"first": start == 0, "last": stop >= total})
        offset = 0
        for key in PRINTED_LINES:
            part[key] = letter[key][max(0, start - offset):max(0, stop - offset)]
            offset += len(letter[key])
        parts.append(part)
    return parts


def _render_in_parts(parts: list[dict[str, Any]], sender: dict[str, Any], pdf_dir: Path) -> tuple[str, int]:
    """Lay out each part as a document of its own and write its pages into the letter's PDF
    at once, so that memory holds one part, not the letter: each part starts a new page and
    numbers its pages on from the part before. The pages are counted first (each part laid
    out and let go), for "Page 3 of 40". Returns (letter_id, pages)."""
    letter_id = parts[0]["letter_id"]
    total = 0
    for part in parts:
        total += len(_layout([part], sender, FontConfiguration()).pages)
        gc.collect(0)  # each part's layout is garbage here: free it before the next
    with StreamedPdf(pdf_dir / f"{letter_id}.pdf", {"/Title": letter_id}) as letter:
        for part in parts:
            document = _layout([part], sender, FontConfiguration(), first_page=letter.pages + 1,
                               pages={letter_id: total})
            letter.append(io.BytesIO(document.write_pdf()))
            del document
            gc.collect(0)
    if letter.pages != total:
        raise RuntimeError(f"{letter_id}: counted {total} pages, laid out {letter.pages}")
    return letter_id, letter.pages


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a batch is rendered: WeasyPrint builds hundreds of
    thousands of long-lived boxes, and every full collection would walk them all again (about
    a sixth of the render time). One collection afterwards frees the batch. It runs once the
    batch's layout is garbage (render_batch's callee has returned): a collection while the
    layout is still referenced walks it all and frees none of it. It collects the youngest
    generation only, where the paused collector left everything the batch made: a full one
    would also walk every long-lived object of the process, in a run of 100,000 letters their
    contexts (about 0.1-0.2 s a batch)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect(0)


@contextlib.contextmanager
def _source_date(run_date: dt.date) -> Iterator[None]:
    """fontTools stamps subset fonts with "now" unless SOURCE_DATE_EPOCH is set: use the run
    date, so that reruns give byte-identical PDFs (SPEC §4.11)."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(calendar.timegm(run_date.timetuple()))
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def _page_owner(anchors: dict[str, Any]) -> str:
    """The letter a page belongs to: the id of its letter section (the only anchor we set)."""
    ids = [a for a in anchors if a.startswith("DL-")]
    if len(ids) != 1:
        raise RuntimeError(f"a rendered page belongs to {len(ids)} letters ({ids}); letters must start on new pages")
    return ids[0]
