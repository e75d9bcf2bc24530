"""The print batch (SPEC §10.3): the letters whose channel includes print, merged with pypdf
into `print/print_batch.pdf` in postal order, and its index `print/print_batch.csv`
(letter_id, first_page, pages, and the sha256 of the letter's PDF that went in, so that
`reconcile` can tell a batch made from other PDFs than pdf/ holds).

Each letter starts on an odd page: after a letter with an odd page count comes a blank
page, so a duplex printer never puts two customers on one sheet.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

from ..outputs.folder import connect_views
from ..outputs.layout import DELIVERY_FILES
from ..pipeline import SQL_DIR

PRINT_DIR = "print"
BATCH_PDF = f"{PRINT_DIR}/print_batch.pdf"
BATCH_CSV = DELIVERY_FILES["print_batch"]
INDEX_COLUMNS = ["letter_id", "first_page", "pages", "pdf_sha256"]


def write_print_batch(folder: Path, into: Path | None = None) -> int:
    """Write the batch PDF (when any letter goes to print) and its index; returns the letters.

    With `into`, the letters are the folder's but the PDFs are those of `into/pdf/`, and the
    batch is written into `into/print/` (`render` rebuilds it beside the folder's own)."""
    into = into or folder
    letters = print_letters(folder)
    (into / PRINT_DIR).mkdir(exist_ok=True)
    writer = PdfWriter()
    index = [append_letter(writer, into / letter["pdf_path"], letter["letter_id"]) for letter in letters]
    if index:
        with (into / BATCH_PDF).open("wb") as handle:
            writer.write(handle)
    write_index(into / BATCH_CSV, index)
    return len(index)


def print_letters(folder: Path) -> list[dict[str, Any]]:
    """The letters whose channel includes print, in (country, postal_code, letter_id) order."""
    sql = (SQL_DIR / "delivery" / "print_letters.sql").read_text(encoding="utf-8")
    return connect_views(folder).sql(sql).to_arrow_table().to_pylist()


def append_letter(writer: PdfWriter, pdf: Path, letter_id: str) -> dict[str, Any]:
    """Append one letter, padded to an even page count; returns its row of the index."""
    first_page = len(writer.pages) + 1
    data = pdf.read_bytes()
    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    writer.append(reader)
    if pages % 2:
        last = reader.pages[-1].mediabox
        writer.add_blank_page(width=last.width, height=last.height)
    return {"letter_id": letter_id, "first_page": first_page, "pages": pages,
            "pdf_sha256": hashlib.sha256(data).hexdigest()}


def page_count(pdf: Path) -> int:
    return len(PdfReader(pdf).pages)


def write_index(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=INDEX_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
