"""Text for the direct renderer: the letters' two fonts shaped by HarfBuzz (as Pango shapes
them for WeasyPrint), a block's inline text broken into lines the way WeasyPrint breaks it,
and the height and baseline of each line by CSS's inline formatting rules.

Lines break at spaces only. Where WeasyPrint might break elsewhere (a word at a line's end
that is not plain: a hyphen, dash, slash or Unicode space in it; a word longer than the line;
a space UAX #14 does not break at) or a line fills its width to within a hair, `Unsupported`
is raised and the letter goes to WeasyPrint: a line this module breaks is one WeasyPrint
breaks the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .font_files import letter_fonts


class Unsupported(Exception):
    """A letter the direct renderer leaves to WeasyPrint, and why."""


@dataclass(frozen=True)
class Piece:
    """Inline text of one style: size in CSS px, weight, colour; "\\n" is a forced break."""

    text: str
    size: float
    bold: bool
    color: str


@dataclass(frozen=True)
class Glyphs:
    """A shaped text: glyph ids, the characters each stands for, their advances (font units)."""

    ids: tuple[int, ...]
    chars: tuple[str, ...]
    advances: tuple[int, ...]
    width: int


# A word the line breaking moves to the next line, or leaves at a line's end, must be plain:
# letters and digits of the alphabetic scripts and punctuation UAX #14 (and so Pango) breaks
# neither at nor around inside a word. A word with anything else there (a hyphen or dash, a
# slash, "|", a Unicode space, "?" before a digit) may break where this module would not: the
# letter is WeasyPrint's. So is a break at a space UAX #14 does not break at: before closing
# punctuation ("Foo !"), or after an opening one ("( Foo": LB14).
PLAIN_PUNCTUATION = frozenset(".,:;'\"@&+#*=_()€$£%°§«»„“”‚‘’·\u00a0\u202f")
STARTS_A_LINE = frozenset("([{„“‘‚«\"'€$£+#@&*=_§")
OPENING = frozenset("([{„“‘‚«")
# the smallest room, in CSS px, a line leaves or lacks for a break decision to be taken here
# (HarfBuzz's widths of a line are WeasyPrint's within 0.025 pt)
MARGIN_PX = 0.2


# the shaped words and runs a process keeps (about 200 bytes each)
SHAPED_KEPT = 50_000


class Fonts:
    """The regular and bold DejaVu Sans faces fontconfig resolves for the letters, shaped
    by HarfBuzz; shaped words are cached, since a night's letters share most of them."""

    def __init__(self) -> None:
        import uharfbuzz as hb

        self.hb = hb
        files = {("Bold" in font["asked"]): font["file"] for font in letter_fonts()}
        if not all(files.get(bold) for bold in (False, True)):
            raise Unsupported("fontconfig resolves no file for the letters' fonts")
        self.faces = {bold: hb.Face(hb.Blob.from_file_path(path)) for bold, path in files.items()}
        self.fonts = {bold: hb.Font(face) for bold, face in self.faces.items()}
        self.upem = self.faces[False].upem
        extents = self.fonts[False].get_font_extents("ltr")
        # CSS's inline box of a font: ascent and descent in ems (Pango reads them from hhea)
        self.ascent, self.descent = extents.ascender / self.upem, -extents.descender / self.upem
        self._shaped: dict[tuple[str, bool], Glyphs] = {}

    def shape(self, text: str, bold: bool) -> Glyphs:
        key = (text, bold)
        found = self._shaped.get(key)
        if found is None:
            if len(self._shaped) >= SHAPED_KEPT:   # a night's names and amounts are new words: memory stays bounded
                self._shaped.clear()
            hb = self.hb
            buffer = hb.Buffer()
            buffer.add_str(text)
            buffer.guess_segment_properties()
            hb.shape(self.fonts[bold], buffer, {"kern": True, "liga": True})
            infos, positions = buffer.glyph_infos, buffer.glyph_positions
            if any(info.codepoint == 0 for info in infos):
                raise Unsupported(f"a character of {text!r} is not in DejaVu Sans (WeasyPrint takes another font)")
            if any(p.x_offset or p.y_offset for p in positions):
                raise Unsupported(f"{text!r} has marks placed by the font")
            advances = tuple(p.x_advance for p in positions)
            # a glyph stands for its cluster's characters: a ligature (ff, fi) for two or more
            ends = [info.cluster for info in infos[1:]] + [len(text)]
            chars = tuple(text[info.cluster:end] or text[info.cluster] for info, end in zip(infos, ends))
            found = Glyphs(tuple(i.codepoint for i in infos), chars, advances, sum(advances))
            self._shaped[key] = found
        return found

    def width(self, text: str, bold: bool, size: float) -> float:
        """`text`'s width at `size` CSS px."""
        return self.shape(text, bold).width * size / self.upem


@lru_cache(maxsize=1)
def fonts() -> Fonts:
    return Fonts()


def check_script(text: str) -> None:
    """Right-to-left text and marks are WeasyPrint's (bidi reordering, mark placement)."""
    for char in text:
        if unicodedata.bidirectional(char) in ("R", "AL", "AN", "RLE", "RLO", "RLI", "LRE", "LRO", "LRI", "PDF",
                                              "PDI", "FSI", "NSM") or unicodedata.category(char) in ("Mn", "Mc", "Cf"):
            raise Unsupported(f"{text!r} needs bidi or mark handling")


def _letter(char: str) -> bool:
    """A letter or digit of Latin, Greek, Cyrillic or Armenian: UAX #14's AL and NU."""
    return char.isalnum() and (ord(char) < 0x0590 or 0x1E00 <= ord(char) <= 0x1FFF)


def _breaks_here(before: str, word: str) -> bool:
    """Whether a line may break at the space between `before` (the line so far) and `word`,
    and nowhere inside `word`, as UAX #14 breaks: plain words only (PLAIN_PUNCTUATION)."""
    inside = word.rstrip("?!")   # "lettre ?": no break before the mark, and after it only at the space
    return (all(_letter(c) or c in PLAIN_PUNCTUATION for c in inside) and inside != ""
            and (_letter(word[0]) or word[0] in STARTS_A_LINE) and before[-1:] not in OPENING)


@dataclass(frozen=True)
class Line:
    """One line box: its pieces with their x offsets from the line's start, its width."""

    pieces: tuple[tuple[float, Piece], ...]
    width: float


def _words(pieces: list[Piece]) -> list[list[Piece] | Piece]:
    """The pieces as words (lists of pieces with no space between them), the space between
    two words as a Piece of its own style, and a forced break as a one-piece word "\\n"."""
    words: list[list[Piece] | Piece] = []
    current: list[Piece] = []
    for piece in pieces:
        for part in re.split(r"( |\n)", piece.text):
            if part in (" ", "\n"):
                if current:
                    words.append(current)
                    current = []
                if part == "\n":
                    words.append([Piece("\n", piece.size, piece.bold, piece.color)])
                elif words and not isinstance(words[-1], Piece):
                    words.append(Piece(" ", piece.size, piece.bold, piece.color))
            elif part:
                current.append(Piece(part, piece.size, piece.bold, piece.color))
    if current:
        words.append(current)
    return words


def break_lines(pieces: list[Piece], available, wrap: bool = True) -> list[Line]:
    """`pieces` (white space processed) as lines; `available(index)` is the width of line
    number `index` in CSS px (a float beside it narrows it). Without `wrap` (white-space:
    nowrap) lines break at forced breaks only."""
    f = fonts()
    lines: list[Line] = []
    current: list[tuple[float, Piece]] = []
    x = 0.0
    space: Piece | None = None

    def end_line() -> None:
        nonlocal current, x
        lines.append(Line(tuple(current), x))
        current, x = [], 0.0

    for word in _words(pieces):
        if isinstance(word, Piece):
            space = word
            continue
        if word[0].text == "\n":
            end_line()
            continue
        word_width = sum(f.width(p.text, p.bold, p.size) for p in word)
        space_width = f.width(" ", space.bold, space.size) if current and space else 0.0
        room = available(len(lines))
        end = x + space_width + word_width
        if wrap and current and end > room - MARGIN_PX:
            if end < room + MARGIN_PX:
                raise Unsupported("a line fills its width to within a hair")
            text = "".join(p.text for p in word)
            if not _breaks_here(current[-1][1].text, text):
                raise Unsupported(f"{text!r} at a line's end: UAX #14 may break there otherwise")
            end_line()
            space_width, end = 0.0, word_width
        if wrap and word_width > available(len(lines)) - MARGIN_PX:
            raise Unsupported(f"{''.join(p.text for p in word)!r} is wider than its line")
        if current and space_width:
            current.append((x, Piece(" ", space.size, space.bold, space.color)))
            x += space_width
        for p in word:
            current.append((x, p))
            x += f.width(p.text, p.bold, p.size)
        space = None
    if current or not lines:
        end_line()
    return [_merged(line) for line in lines]


def _merged(line: Line) -> Line:
    """Adjacent pieces of one style as one run, as WeasyPrint draws a text box."""
    merged: list[tuple[float, Piece]] = []
    for x, piece in line.pieces:
        if merged and (last := merged[-1][1]).size == piece.size and last.bold == piece.bold \
                and last.color == piece.color:
            merged[-1] = (merged[-1][0], Piece(last.text + piece.text, last.size, last.bold, last.color))
        else:
            merged.append((x, piece))
    return Line(tuple(merged), line.width)


def line_metrics(line: Line, strut: float, factor: float | None, fixed: float | None) -> tuple[float, float]:
    """(height, baseline from the line's top) of a line box (CSS 2.1 §10.8): the block's strut
    of size `strut` and each piece's inline box, with line-height `factor` times its own size
    or `fixed` px, aligned on the baseline."""
    f = fonts()
    above, below = [], []
    for size in {strut} | {piece.size for _, piece in line.pieces}:
        height = fixed if fixed is not None else factor * size
        leading = (height - (f.ascent + f.descent) * size) / 2
        above.append(f.ascent * size + leading)
        below.append(f.descent * size + leading)
    return max(above) + max(below), max(above)
