"""One PDF made of the pages of many others, written to disk as they come, in bounded memory.

pypdf's PdfWriter holds every page it is given until its one write at the end (in the print
batch about 170 KiB a letter). Here each source PDF is read with pypdf, its pages and the
objects they use are numbered on from the ones before and written out at once, and the
source is let go. What stays to the end is on disk too: the cross-reference table (20 bytes
an object, in a temporary file, addressed by object number) and the page list (a temporary
file), so memory holds one source PDF whatever the number of pages. Used for the print
batch (delivery/print_batch.py) and for a long letter laid out in parts (letters/render.py).

Layout: object 1 the catalog, object 2 the one page tree node (flat, as PdfWriter makes it),
object 3 the document information, written last; then every page and object in the order
numbered. Same inputs, same bytes.
"""

from __future__ import annotations

import tempfile
from collections import deque
from pathlib import Path
from typing import IO, Any, BinaryIO

from pypdf import PdfReader
from pypdf.generic import (ArrayObject, DictionaryObject, IndirectObject, NameObject, NullObject, PdfObject,
                           RectangleObject, TextStringObject)

CATALOG, PAGE_TREE, INFO = 1, 2, 3
XREF_ENTRY = 20  # bytes of one cross-reference entry: "oooooooooo ggggg n \n"


class StreamedPdf:
    """Append the pages of PDF files, then `close()`; use as a context manager. `info`: the
    document information (e.g. {"/Title": ...}), besides /Producer dunning_batch."""

    def __init__(self, path: Path, info: dict[str, str] | None = None):
        self._path = path
        self._out: BinaryIO = path.open("wb")
        self._xref: BinaryIO = tempfile.TemporaryFile()
        self._kids: BinaryIO = tempfile.TemporaryFile()
        self._info = {"/Producer": "dunning_batch", **(info or {})}
        self._next = INFO + 1
        self.pages = 0
        self._out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def __enter__(self) -> StreamedPdf:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            self.close()
        else:  # no half-written PDF is left behind
            self._out.close()
            self._xref.close()
            self._kids.close()
            self._path.unlink(missing_ok=True)

    def append(self, pdf: Path | IO[bytes]) -> tuple[float, float]:
        """Add every page of `pdf` (a file or its bytes); returns the (width, height) of its last page."""
        reader = PdfReader(pdf)
        pages = list(reader.pages)  # pages with inherited attributes (MediaBox, Resources) copied in
        numbers: dict[tuple[int, int], int] = {}
        queue: deque[IndirectObject] = deque()

        def number_of(reference: IndirectObject) -> int:
            key = (reference.idnum, reference.generation)
            if key not in numbers:
                numbers[key] = self._take_number()
                queue.append(reference)
            return numbers[key]

        def renumbered(value: PdfObject) -> PdfObject:
            """`value` with every reference into the source made a reference into this file."""
            if isinstance(value, IndirectObject):
                return IndirectObject(number_of(value), 0, None)
            if isinstance(value, DictionaryObject):  # streams too
                for key, item in list(dict.items(value)):  # dict's own: pypdf's would resolve references
                    dict.__setitem__(value, key, renumbered(item))
            elif isinstance(value, ArrayObject):
                for index, item in enumerate(list.__iter__(value)):
                    list.__setitem__(value, index, renumbered(item))
            return value

        for page in pages:  # the pages first, so that references to them (links) find their number
            numbers[(page.indirect_reference.idnum, page.indirect_reference.generation)] = self._take_number()
        for page in pages:
            dict.pop(page, NameObject("/Parent"), None)  # the source's page tree stays behind
            self._write_page(numbers[(page.indirect_reference.idnum, page.indirect_reference.generation)],
                             renumbered(page))
        while queue:
            reference = queue.popleft()
            value = reference.get_object()
            if isinstance(value, DictionaryObject) and dict.get(value, "/Type") in ("/Pages", "/Catalog"):
                raise RuntimeError(f"{pdf}: an object refers to the document's {dict.get(value, '/Type')}, "
                                   f"which a page of the print batch cannot take along")
            self._write_object(numbers[(reference.idnum, reference.generation)],
                               NullObject() if value is None else renumbered(value))
        box = pages[-1].mediabox
        return float(box.width), float(box.height)

    def add_blank_page(self, width: float, height: float) -> None:
        page = DictionaryObject({NameObject("/Type"): NameObject("/Page"),
                                 NameObject("/MediaBox"): RectangleObject([0, 0, width, height]),
                                 NameObject("/Resources"): DictionaryObject()})
        self._write_page(self._take_number(), page)

    def close(self) -> None:
        """Write the page tree, the catalog, the information, the cross-reference table and the trailer."""
        self._write_object(CATALOG, DictionaryObject({NameObject("/Type"): NameObject("/Catalog"),
                                                      NameObject("/Pages"): IndirectObject(PAGE_TREE, 0, None)}))
        self._write_object(INFO, DictionaryObject({NameObject(key): TextStringObject(value)
                                                   for key, value in sorted(self._info.items())}))
        self._mark(PAGE_TREE)
        self._out.write(b"%d 0 obj\n<< /Type /Pages /Count %d /Kids [" % (PAGE_TREE, self.pages))
        self._copy(self._kids)
        self._out.write(b"] >>\nendobj\n")
        start = self._out.tell()
        self._out.write(b"xref\n0 %d\n0000000000 65535 f \n" % self._next)
        self._copy(self._xref)
        self._out.write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                        % (self._next, CATALOG, INFO, start))
        self._out.close()
        self._xref.close()
        self._kids.close()

    def _take_number(self) -> int:
        self._next += 1
        return self._next - 1

    def _write_page(self, number: int, page: DictionaryObject) -> None:
        dict.__setitem__(page, NameObject("/Parent"), IndirectObject(PAGE_TREE, 0, None))
        self._write_object(number, page)
        self._kids.write(b"%d 0 R " % number)
        self.pages += 1

    def _write_object(self, number: int, value: PdfObject) -> None:
        self._mark(number)
        self._out.write(b"%d 0 obj\n" % number)
        value.write_to_stream(self._out)
        self._out.write(b"\nendobj\n")

    def _mark(self, number: int) -> None:
        """Record where object `number` starts: its fixed-width entry of the cross-reference table."""
        self._xref.seek((number - 1) * XREF_ENTRY)
        self._xref.write(b"%010d 00000 n \n" % self._out.tell())

    def _copy(self, source: BinaryIO) -> None:
        source.seek(0)
        while chunk := source.read(1 << 20):
            self._out.write(chunk)
