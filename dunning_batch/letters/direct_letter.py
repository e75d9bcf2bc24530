"""The blocks of a letter (letter.html.j2, payment_block.html.j2) placed as letter.css and
payment.css place them: the letterhead, the address field and the info block beside it, the
subject and paragraphs, the final notice's box, the items table, the interest blocks, the
totals, and the payment block with the EPC code floated right. Each block's values are the
stylesheets' (mm and pt as they write them); direct_layout.py holds the page and its lines.
"""

from __future__ import annotations

from dataclasses import replace

from .direct_html import Element
from .direct_layout import (BODY, BOTTOM, FACTOR, FOOTER, GREY, ITEM_COLUMNS, LEFT, MARK_COLOR, MARK_WIDTH, MARKS, MM,
                            PT, TOP, WIDTH, Block, Page, Plan, pieces_of)
from .direct_text import Unsupported, break_lines, fonts, line_metrics

SENDER = Block(size=8 * PT, align="right", pre_line=True)
RETURN = Block(size=6.5 * PT, factor=None, fixed=3 * MM, wrap=False)
RECIPIENT = Block(size=9.5 * PT, factor=None, fixed=4.4 * MM, pre_line=True)
INFO = Block(size=8 * PT, pre_line=True)
H1 = Block(size=11.5 * PT, bold=True)
PARAGRAPH = Block()
INTEREST = Block(size=7.5 * PT, factor=1.2, color=GREY, pre_line=True)
BANK = Block(size=8.5 * PT, factor=1.25, pre_line=True)
CAPTION = Block(size=7 * PT, align="center", color=GREY)


def lay_out(section: Element) -> Plan:
    """The pages of a letter; Unsupported for a letter WeasyPrint must lay out. A letter of
    two or more pages numbers them only when its section says so (`numbered`, with the
    total): lay it out, then again from the template given the total (direct.py)."""
    page = Page()
    before = None    # (the block placed last, the layout before it)
    for child in section.elements():
        kind = child.kind
        place = BLOCKS.get(kind)
        if place is None:
            raise Unsupported(f"<{child.tag} class={child.attrs.get('class')!r}> in a letter")
        state = page.snapshot()
        place(page, child)
        if kind == ("div", "closing") and _bottom(page) > BOTTOM:
            _take_along(page, before, child)
        # only a table and an interest block break across pages: any other block past the page's end is WeasyPrint's
        if _bottom(page) > BOTTOM:
            raise Unsupported("a block does not fit on its page")
        before = (child, kind, state)
    total = len(page.plan.pages)
    for number, sheet in enumerate(page.plan.pages, start=1):
        margins = Page()
        margins.plan.pages, margins.layer = [sheet], 3
        if section.has("numbered") and total > 1:
            _page_number(margins, section, number)
        _footer(margins, section.attrs.get("data-legal", ""))
        for x, y, width in MARKS:
            margins.rule(x, y, width, MARK_WIDTH, MARK_COLOR)
    return page.in_paint_order()


def _bottom(page: Page) -> float:
    """Where the content placed so far ends (the float's margin included); a hair either side of
    the page's end, or the float's 2 mm bottom margin across it, is WeasyPrint's to decide."""
    bottom = max(page.y, page.float_box[1] if page.float_box else 0)
    if abs(bottom - BOTTOM) < 0.3 * MM or (page.float_box and page.float_box[1] - 2 * MM < BOTTOM < bottom):
        raise Unsupported("a block ends a hair from the page's end")
    return bottom


def _take_along(page: Page, before: tuple | None, closing: Element) -> None:
    """The totals and payment block do not fit under what comes before them, and may neither
    break (break-inside: avoid) nor stand alone on the next page (break-before: avoid): as
    WeasyPrint does, the page breaks at the last place before them it may, and what follows
    that place goes along: the last two lines of an interest block (widows: 2), all of a
    shorter one, or the items table's last row."""
    if before is None or before[1] not in (("div", "interest"), ("table", "items")):
        raise Unsupported("the closing block would take along what this layout does not move")
    element, kind, state = before
    page.restore(state)
    if kind == ("table", "items"):
        _items(page, element, last_rows_on_next_page=1)
    else:
        _interest(page, element, last_lines_on_next_page=2)
    _closing(page, closing)


def _page_number(page: Page, section: Element, number: int) -> None:
    """"Page 1 of 2" at the top right of every page, the letter id and customer number at the
    top left of pages 2..n (letter.css's @page numbered): 7.5 pt #444, at the bottom of the
    top margin less 6 mm, one line each."""
    normal = (fonts().ascent + fonts().descent) * 7.5 * PT   # `font: 7.5pt ...` sets line-height: normal
    block = Block(size=7.5 * PT, factor=None, fixed=normal, color="#444")
    boxes = [(section.attrs.get("data-page-before", "") + str(number) + section.attrs.get("data-page-after", ""),
              LEFT + WIDTH - 40 * MM, 40 * MM, "right")]
    if number > 1:   # painted first, as @top-left comes before @top-right
        boxes.insert(0, (section.attrs.get("data-continued", ""), LEFT, 125 * MM, "left"))
    for text, x, width, align in boxes:
        aligned = replace(block, align=align)
        pieces = pieces_of(Element("div", {}, [text]), aligned)
        if page.text(pieces, aligned, x, width, 14 * MM - block.fixed) > block.fixed + 1e-6:
            raise Unsupported("a page's number or heading takes two lines")


def _head(page: Page, head: Element) -> None:
    """The letterhead (25 mm), the address field (45 mm from the top, 85 x 45 mm) and the info
    block 125 mm from the left edge from 50 mm; the head is 71 mm high whatever it holds."""
    sender, window, info = _children(head, ("div", "sender"), ("div", "window"), ("p", "info"))
    if page.text(pieces_of(sender, SENDER, bold_size=12 * PT), SENDER, LEFT, WIDTH, TOP) > 25 * MM:
        raise Unsupported("the letterhead is higher than its 25 mm")
    zone, recipient = _children(window, ("div", "zone"), ("div", "recipient"))
    (line,) = _children(zone, ("div", "return"))
    page.layer = 2   # the address field clips what it holds (overflow: hidden): painted after the flow
    page.text(pieces_of(line, RETURN), RETURN, LEFT, 85 * MM, 58.6 * MM)
    page.rule(LEFT, 61.6 * MM, 85 * MM, 0.3 * PT, "#444")
    if page.text(pieces_of(recipient, RECIPIENT), RECIPIENT, LEFT, 85 * MM, 62.7 * MM) > 27.3 * MM:
        raise Unsupported("the address has more lines than the window shows")
    page.layer = 1
    if page.text(pieces_of(info, INFO), INFO, LEFT + 100 * MM, 65 * MM, 50 * MM) > 41 * MM:
        raise Unsupported("the info block runs past the head's 71 mm")
    page.y = TOP + 71 * MM


def _heading(page: Page, h1: Element) -> None:
    top = page.advance()
    page.y = top + page.text(pieces_of(h1, H1), H1, LEFT, WIDTH, top)
    page.margin = 3 * MM


def _paragraph(page: Page, p: Element, block: Block = PARAGRAPH, x: float = LEFT, width: float = WIDTH,
               margin: float = 2.5 * MM) -> None:
    top = page.advance()
    page.y = top + page.text(pieces_of(p, block), block, x, width, top, narrowed=True)
    page.margin = margin


def _final(page: Page, box: Element) -> None:
    """The final notice's consequences: a box with a 0.8 pt border and 1.5 mm x 3 mm padding."""
    top, border = page.advance(), 0.8 * PT
    inner = Page()
    inner.y = top + border + 1.5 * MM
    x, width = LEFT + border + 3 * MM, WIDTH - 2 * (border + 3 * MM)
    for p in box.elements():
        if p.tag != "p":
            raise Unsupported(f"<{p.tag}> in the final notice's box")
        inner.y = inner.y + inner.margin
        inner.margin = 0.0
        inner.y += inner.text(pieces_of(p, PARAGRAPH), PARAGRAPH, x, width, inner.y)
        inner.margin = 1 * MM
    bottom = inner.y + inner.margin + 1.5 * MM + border   # the last p's margin stays inside the padding
    page.page.runs.extend(inner.page.runs)
    for y in (top, bottom - border):
        page.rule(LEFT, y, WIDTH, border, "#000")
    for x_rule in (LEFT, LEFT + WIDTH - border):
        page.rule(x_rule, top, border, bottom - top, "#000")
    page.y, page.margin = bottom, 2.5 * MM


def _items(page: Page, table: Element, last_rows_on_next_page: int = 0) -> None:
    """The items table: fixed column widths (% of the body's width, each cell 1.5 mm padded
    left and right), collapsed borders: 0.6 pt under the head, 0.2 pt #bbb under each row
    (none under a section heading). It breaks between rows onto the next page, where the
    head is repeated; a row near the page's end either way is WeasyPrint's to place."""
    widths = [share * WIDTH / 100 for share in ITEM_COLUMNS[table.has("converted")]]
    children = table.elements()
    heads = [row for group in children if group.tag == "thead" for row in group.elements()]
    # the template writes its rows straight into the table (HTML's parser would add a tbody)
    body = [row for child in children if child.tag != "thead"
            for row in (child.elements() if child.tag == "tbody" else [child])]
    if len(heads) != 1 or any(row.tag != "tr" for row in heads + body):
        raise Unsupported("an items table of another shape")
    (head,) = heads
    head_line = 0.6 * PT
    y = page.advance(1 * MM)
    y += _row(page, head, True, widths, y, 0.0, head_line)
    above, on_page = head_line, 0       # the grid line over the next row; rows on this page
    for index, row in enumerate(body):
        line = 0.0 if row.has("section") else 0.2 * PT
        scratch = Page()
        height = _row(scratch, row, False, widths, 0.0, above, line)
        if abs(y + height - BOTTOM) < 0.3 * MM:
            raise Unsupported("a table row ends a hair from the page's end")
        if y + height > BOTTOM or index == len(body) - last_rows_on_next_page:
            if on_page == 0:
                raise Unsupported("no row of the table fits under its head")
            # the head is repeated on the next page; the row keeps its grid line of the page
            # before (the row above's), the head over it has its own
            page.new_page()
            y, on_page = TOP + _row(page, head, True, widths, TOP, 0.0, head_line), 0
        page.page.runs.extend(replace(run, y=run.y + y) for run in scratch.page.runs)
        page.page.rules.extend(replace(rule, y=rule.y + y) for rule in scratch.page.rules)
        y, above, on_page = y + height, line, on_page + 1
    page.y, page.margin = y + above / 2, 3 * MM


def _row(page: Page, row: Element, head: bool, widths: list[float], y: float, above: float,
         below: float) -> float:
    """Draw a row of the items table from `y` between grid lines `above` and `below` (drawn
    here); returns its height, from the middle of the line above to the middle of the one below."""
    section = row.has("section")
    pad_top = 0.8 * MM if head else (1.5 * MM if section else 0.35 * MM)
    pad_bottom = 0.8 * MM if head else 0.35 * MM
    cells = row.elements()
    if section:
        spans = [(LEFT, sum(widths) + (len(widths) - 1) * 3 * MM)]
    else:
        if len(cells) != len(widths):
            raise Unsupported("an items row of another number of cells")
        spans, x = [], LEFT
        for width in widths:
            spans.append((x, width))
            x += width + 3 * MM
    content_top = y + above / 2 + pad_top
    height = FACTOR * (8 * PT if head else BODY)   # an empty row holds a strut
    for cell, (x, width) in zip(cells, spans):
        number = cell.has("num")
        block = Block(size=8 * PT if head else BODY, bold=head or section, align="right" if number else "left",
                      wrap=not number)
        height = max(height, page.text(pieces_of(cell, block), block, x + 1.5 * MM, width, content_top))
    bottom = content_top + height + pad_bottom + below / 2   # rows meet on a grid line's middle
    if below:
        page.rule(LEFT, bottom - below / 2, sum(widths) + len(widths) * 3 * MM, below, "#000" if head else "#bbb")
    return bottom - y


def _interest(page: Page, div: Element, last_lines_on_next_page: int = 0) -> None:
    """An interest block: its lines break across pages, two at least on each (orphans and
    widows: 2), else the whole block goes to the next page."""
    top = page.advance()
    pieces = pieces_of(div, INTEREST)
    lines = break_lines(pieces, lambda _: WIDTH, True)
    pitch = INTEREST.factor * INTEREST.size
    fit = len(lines) - last_lines_on_next_page if last_lines_on_next_page else int((BOTTOM - top) // pitch)
    if abs(top + min(fit, len(lines)) * pitch - BOTTOM) < 0.3 * MM:
        raise Unsupported("an interest line ends a hair from the page's end")
    if fit >= len(lines):
        page.y, page.margin = top + page.text(pieces, INTEREST, LEFT, WIDTH, top), 3 * MM
        return
    if fit < 2 or len(lines) - fit < 2:      # orphans, widows
        fit = min(fit, len(lines) - 2)
        if fit < 2:
            fit = 0
    if fit == 0 and not page.page.runs:
        raise Unsupported("an interest block higher than a page")
    for part, start in ((lines[:fit], top), (lines[fit:], None)):
        if start is None:
            page.new_page()
            start = TOP
        y = start
        for line in part:
            height, baseline = line_metrics(line, INTEREST.size, INTEREST.factor, None)
            page.draw(line, INTEREST, LEFT, WIDTH, y + baseline)
            y += height
        page.y = y
    page.margin = 3 * MM


def _closing(page: Page, closing: Element) -> None:
    for child in closing.elements():
        if (child.tag, child.classes) == ("table", ("totals",)):
            _totals(page, child)
        elif (child.tag, child.classes) == ("div", ("bank",)):
            _bank(page, child)
        else:
            raise Unsupported(f"<{child.tag}> in the closing block")


def _totals(page: Page, table: Element) -> None:
    """95 mm at the right: a label column of 55 mm and the amount, each 8 mm padded left;
    0.25 mm padding above and below; the total due bold under a 0.6 pt rule."""
    rows = [row for group in table.elements() for row in (group.elements() if group.tag == "tbody" else [group])]
    lines = [0.6 * PT if row.has("due") else 0.0 for row in rows] + [0.0]
    x0, top = LEFT + WIDTH - 95 * MM, page.advance()
    y = top + lines[0] / 2   # an outer border is the table's half and the row's half: all inside
    for index, row in enumerate(rows):
        cells = row.elements()
        if row.tag != "tr" or len(cells) != 2:
            raise Unsupported("a totals row of another shape")
        content_top = y + lines[index] / 2 + 0.25 * MM
        height = 0.0
        for cell, (x, width) in zip(cells, ((x0 + 8 * MM, 55 * MM), (x0 + 71 * MM, 24 * MM))):
            block = Block(bold=row.has("due"), align="right" if cell.has("num") else "left", wrap=not cell.has("num"))
            height = max(height, page.text(pieces_of(cell, block), block, x, width, content_top))
        if lines[index]:
            page.rule(x0, y - lines[index] / 2, 95 * MM, lines[index], "#000")
        y = content_top + height + 0.25 * MM + lines[index + 1] / 2
    page.y, page.margin = y + lines[-1] / 2, 3 * MM


def _bank(page: Page, bank: Element) -> None:
    """The bank details, the reference and the closing words, with the EPC code (32 mm, its
    caption under it) floated right beside them: 6 mm from the text, 2 mm above what follows."""
    for child in bank.elements():
        if child.tag == "div" and child.has("epc-code"):
            top = page.advance()
            images = [c for c in child.elements() if c.tag == "img"]
            if len(images) != 1:
                raise Unsupported("an EPC code block without its one image")
            left = LEFT + WIDTH - 32 * MM
            page.page.images.append((left, top, 32 * MM, 32 * MM, images[0].attrs.get("src", "")))
            caption = Element("div", {}, [c for c in child.children if not (isinstance(c, Element) and c.tag == "img")])
            page.layer = 0   # a float is painted before the flow
            height = page.text(pieces_of(caption, CAPTION), CAPTION, left, 32 * MM, top + 33 * MM)
            page.layer = 1
            page.float_box = (top, top + 33 * MM + height + 2 * MM, left - 6 * MM)
        elif child.tag == "p":
            _paragraph(page, child, BANK, margin=1.8 * MM)
        else:
            raise Unsupported(f"<{child.tag}> in the payment block")


def _footer(page: Page, legal: str) -> None:
    """The legal lines in the bottom margin, 2 mm under the body's end (@bottom-left)."""
    if not legal.strip():
        return
    block = Block(size=FOOTER["size"], factor=FOOTER["factor"], color=FOOTER["color"], pre_line=True)
    page.text(pieces_of(Element("div", {}, [legal]), block), block, LEFT, WIDTH, FOOTER["top"])


def _children(element: Element, *expected: tuple[str, str]) -> list[Element]:
    children = element.elements()
    if [c.kind for c in children] != list(expected):
        raise Unsupported(f"<{element.tag}> holds other elements than the template writes")
    return children


BLOCKS = {("div", "head"): _head, ("h1", ""): _heading, ("p", ""): _paragraph, ("div", "final"): _final,
          ("table", "items"): _items, ("div", "interest"): _interest, ("div", "closing"): _closing}
