"""The print batch (SPEC §10.3): the letters whose channel includes print, joined into
`print/print_batch.pdf` in postal order, and its index `print/print_batch.csv` (letter_id,
first_page, pages, and the sha256 of the letter's PDF that went in, so that `reconcile` can
tell a batch made from other PDFs than pdf/ holds).

Each letter starts on an odd page: after a letter with an odd page count comes a blank
page, so a duplex printer never puts two customers on one sheet. Letters are read from the
query and written to both files one at a time (letters/streamed_pdf.py), so memory does not
grow with the number of letters.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..outputs.folder import connect_views
from ..outputs.layout import DELIVERY_FILES
from ..sql_runner import relation

if TYPE_CHECKING:
    from ..letters.streamed_pdf import StreamedPdf

PRINT_DIR = "print"
BATCH_PDF = f"{PRINT_DIR}/print_batch.pdf"
BATCH_CSV = DELIVERY_FILES["print_batch"]
INDEX_COLUMNS = ["letter_id", "first_page", "pages", "pdf_sha256"]
FETCH_ROWS = 1000  # letters fetched from the query at a time


def write_print_batch(folder: Path, into: Path | None = None) -> int:
    """Write the batch PDF (when any letter goes to print) and its index; returns the letters.

    With `into`, the letters are the folder's but the PDFs are those of `into/pdf/`, and the
    batch is written into `into/print/` (`render` rebuilds it beside the folder's own)."""
    # here, not at the top: every command imports this module (for its file names), and
    # StreamedPdf brings pypdf (with fontTools and PIL), which only writing a batch needs
    from ..letters.streamed_pdf import StreamedPdf

    into = into or folder
    letters_to_print = print_letters(folder)
    (into / PRINT_DIR).mkdir(exist_ok=True)
    batch: StreamedPdf | None = None
    letters = 0
    with (into / BATCH_CSV).open("w", newline="", encoding="utf-8") as handle, contextlib.ExitStack() as stack:
        index = csv.DictWriter(handle, fieldnames=INDEX_COLUMNS, lineterminator="\n")
        index.writeheader()
        for letter in letters_to_print:
            if batch is None:  # no PDF when nothing goes to print
                batch = stack.enter_context(StreamedPdf(into / BATCH_PDF))
            index.writerow(append_letter(batch, into / letter["pdf_path"], letter["letter_id"]))
            letters += 1
    return letters


def print_letters(folder: Path) -> Iterator[dict[str, Any]]:
    """The letters whose channel includes print, in (country, postal_code, letter_id) order.

    The query runs now, before the caller creates print/ files that the folder's views
    would otherwise try to read half-written; its rows are fetched as the caller iterates."""
    con = connect_views(folder, relations=("letters", "recipients"))
    reader = relation(con, "delivery/print_letters").to_arrow_reader(FETCH_ROWS)

    def rows() -> Iterator[dict[str, Any]]:
        with con:  # the connection lives as long as the reader
            for batch in reader:
                yield from batch.to_pylist()
    return rows()


def append_letter(batch: StreamedPdf, pdf: Path, letter_id: str) -> dict[str, Any]:
    """Append one letter, padded to an even page count; returns its row of the index."""
    first_page = batch.pages + 1
    data = pdf.read_bytes()
    width, height = batch.append(io.BytesIO(data))
    pages = batch.pages - first_page + 1
    if pages % 2:
        batch.add_blank_page(width, height)
    return {"letter_id": letter_id, "first_page": first_page, "pages": pages,
            "pdf_sha256": hashlib.sha256(data).hexdigest()}


def page_count(pdf: Path) -> int:
    from pypdf import PdfReader  # here: every command imports this module, few count pages

    return len(PdfReader(pdf).pages)
