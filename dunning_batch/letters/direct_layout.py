"""The direct renderer's page: one letter's section (direct_html.py) laid out top to bottom
on A4 pages, its text broken into lines (direct_text.py) and kept as text runs, borders and
the payment code's image per page (Plan), which direct_pdf.py writes.

The stylesheets' values it needs are here and in direct_letter.py (the page and its margins,
the body's font, the marks, the footer, the tables' columns), not CSS in general. A letter it
cannot place exactly as WeasyPrint does raises `Unsupported` and is laid out by WeasyPrint.
STYLESHEETS_SHA256 is the digest of the stylesheets these values were taken from: with any
other, every letter goes to WeasyPrint (direct.py), and tests/test_direct_render.py compares
both renderers' characters and their positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .direct_html import Element, collapse
from .direct_text import Line, Piece, Unsupported, break_lines, check_script, line_metrics

MM = 96 / 25.4      # CSS px in a millimetre
PT = 4 / 3          # CSS px in a point

# letter.css and payment.css, as sha256 of their bytes joined: the values below are theirs
STYLESHEETS_SHA256 = "26c1ed558a0e8f43df39d34c72b8a3283bbaa53e308f61aaa76db29107135f26"

PAGE_W, PAGE_H = 210 * MM, 297 * MM
LEFT, TOP, WIDTH, BOTTOM = 25 * MM, 20 * MM, 165 * MM, 282 * MM
TEXT, GREY = "#111", "#333"
BODY = 9 * PT       # html { font: 9pt/1.28 }
FACTOR = 1.28
# the fold and punch marks: (left, top, width) of each border 0.25 mm thick (@page margin boxes)
MARKS = ((5 * MM, 104.875 * MM, 6 * MM), (5 * MM, 148.375 * MM, 8 * MM), (5 * MM, 209.875 * MM, 6 * MM))
MARK_COLOR, MARK_WIDTH = "#777", 0.25 * MM
FOOTER = {"top": 284 * MM, "size": 6.5 * PT, "factor": 1.3, "color": "#444"}
ITEM_COLUMNS = {False: (28, 16, 13, 17, 17), True: (21, 15, 11, 18, 17, 18)}   # % of the body's width


@dataclass(frozen=True)
class Run:
    """Text drawn with its baseline at (x, y), CSS px from the page's top left."""

    x: float
    y: float
    size: float
    bold: bool
    color: str
    text: str
    layer: int = 1   # the order WeasyPrint paints in (Page.layer), which is the order text is read back in


@dataclass(frozen=True)
class Rule:
    """A border: a line `height` thick across `width` (or `width` thick down `height`)."""

    x: float
    y: float
    width: float
    height: float
    color: str


@dataclass
class PagePlan:
    """What one page of a letter draws."""

    runs: list[Run] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    images: list[tuple[float, float, float, float, str]] = field(default_factory=list)  # x, y, w, h, src


@dataclass
class Plan:
    """What each page of a letter draws."""

    pages: list[PagePlan] = field(default_factory=lambda: [PagePlan()])


@dataclass(frozen=True)
class Block:
    """The text style of a block: size and line height (a factor, or fixed px), alignment,
    colour, white-space pre-line, wrapping."""

    size: float = BODY
    factor: float | None = FACTOR
    fixed: float | None = None
    align: str = "left"
    color: str = TEXT
    pre_line: bool = False
    wrap: bool = True
    bold: bool = False


def pieces_of(element: Element, block: Block, bold_size: float | None = None) -> list[Piece]:
    """The inline text of `element` in `block`'s style; <b> is bold (at `bold_size` where the
    stylesheet sizes it), <span> is plain. White space collapses across the pieces."""
    out: list[Piece] = []

    def visit(node: Element, size: float, bold: bool) -> None:
        for child in node.children:
            if isinstance(child, str):
                text = collapse(child, block.pre_line)
                check_script(text)
                if text.startswith(" ") and (not out or out[-1].text.endswith((" ", "\n"))):
                    text = text[1:]   # a space after a space collapses
                if text:
                    out.append(Piece(text, size, bold, block.color))
            elif child.tag == "b":
                visit(child, bold_size or size, True)
            elif child.tag == "span":
                visit(child, size, bold)
            else:
                raise Unsupported(f"<{child.tag}> inside a line")

    visit(element, block.size, block.bold)
    return _trimmed(out)


def _trimmed(pieces: list[Piece]) -> list[Piece]:
    """Spaces at the start and end of the block's text and around forced breaks go (CSS)."""
    text = "".join(p.text for p in pieces)
    lead, trail = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
    out, position = [], 0
    for piece in pieces:
        start, end = position, position + len(piece.text)
        position = end
        keep = piece.text[max(0, lead - start):len(piece.text) - max(0, end - (len(text) - trail))]
        keep = keep.replace(" \n", "\n").replace("\n ", "\n")
        if keep:
            out.append(Piece(keep, piece.size, piece.bold, piece.color))
    return out


class Page:
    """Lays out one letter's section top to bottom, collapsing vertical margins, onto the
    page it has reached (a table breaks between its rows: new_page)."""

    def __init__(self) -> None:
        self.plan = Plan()
        self.y = TOP
        self.margin = 0.0               # the bottom margin pending below the last block
        self.float_box: tuple[float, float, float] | None = None   # top, bottom, left edge
        # what is drawn now is painted: 0 floats, 1 the flow, 2 boxes that clip (the address
        # field), 3 the page's margin boxes; each page's runs are kept in that order (in_paint_order)
        self.layer = 1

    def in_paint_order(self) -> Plan:
        """The plan with each page's text in the order WeasyPrint paints it (and a reader of the
        PDF extracts it): floats, the flow, the address field, the margins."""
        for sheet in self.plan.pages:
            sheet.runs.sort(key=lambda run: run.layer)
        return self.plan

    @property
    def page(self) -> PagePlan:
        return self.plan.pages[-1]

    def new_page(self) -> None:
        """Go on at the top of the next page; a margin at a page break is truncated."""
        self.plan.pages.append(PagePlan())
        self.y, self.margin, self.float_box = TOP, 0.0, None

    def snapshot(self) -> tuple:
        """The layout so far, to go back to (a block that must take what came before it along)."""
        pages = [PagePlan(list(p.runs), list(p.rules), list(p.images)) for p in self.plan.pages]
        return pages, self.y, self.margin, self.float_box

    def restore(self, state: tuple) -> None:
        pages, self.y, self.margin, self.float_box = state
        self.plan.pages = [PagePlan(list(p.runs), list(p.rules), list(p.images)) for p in pages]

    def advance(self, margin_top: float = 0.0) -> float:
        """The top of the next block: the pending margin and `margin_top` collapse."""
        self.y += max(self.margin, margin_top)
        self.margin = 0.0
        return self.y

    def text(self, pieces: list[Piece], block: Block, x: float, width: float, top: float,
             narrowed: bool = False) -> float:
        """Lines of `pieces` from `top` in a box at `x` of `width`; returns their height. With
        `narrowed`, a line beside the float ends at the float's left edge."""
        pitch = self._line_height(block)

        def available(index: int) -> float:
            # a block beside the float has lines of one size: line `index` starts `index` pitches down
            if narrowed and self.float_box:
                line_top = top + index * pitch
                float_top, float_bottom, float_left = self.float_box
                if line_top < float_bottom and line_top + pitch > float_top:
                    return float_left - x
            return width

        lines = break_lines(pieces, available, block.wrap)
        y = top
        for index, line in enumerate(lines):
            height, baseline = line_metrics(line, block.size, block.factor, block.fixed)
            if narrowed and self.float_box and abs(height - pitch) > 1e-6:
                raise Unsupported("a line of another height beside the float")
            self.draw(line, block, x, available(index) if narrowed else width, y + baseline)
            y += height
        return y - top

    def _line_height(self, block: Block) -> float:
        return block.fixed if block.fixed is not None else block.factor * block.size

    def draw(self, line: Line, block: Block, x: float, width: float, baseline: float) -> None:
        """One line of `block` in a box at `x` of `width`, its baseline at `baseline`."""
        # a line wider than its box (white-space: nowrap) starts at the box's start, whatever its alignment
        align = block.align if line.width <= width else "left"
        start = {"left": x, "right": x + width - line.width, "center": x + (width - line.width) / 2}[align]
        for offset, piece in line.pieces:
            if piece.text.strip(" "):
                self.page.runs.append(Run(start + offset, baseline, piece.size, piece.bold, piece.color,
                                          piece.text, self.layer))

    def rule(self, x: float, y: float, width: float, height: float, color: str) -> None:
        self.page.rules.append(Rule(x, y, width, height, color))

