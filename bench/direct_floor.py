"""Benchmark: the floor of drawing our letters directly, without a layout engine, against
WeasyPrint's batched path on the same letters: how fast a renderer that draws the page itself
could be at best (issue 20 asks for 100 letters a second on two cores, 20 ms of CPU a letter).

WeasyPrint lays out synth's realistic night once (not timed); its text runs (position, size,
weight, text), the rules of its borders and the place of the EPC code are kept. Then, per
letter and timed, what a direct renderer cannot leave out: the EPC code (segno and its PNG,
as payment_codes.epc_png makes it), each run shaped by HarfBuzz (kerning, as Pango shapes it
for WeasyPrint), the two fonts subset to the letter's glyphs by hb-subset, and the PDF written
by pydyf (content stream, Type0 fonts with widths and ToUnicode, the image). Left out: line
breaking and box geometry, a renderer's own layout, so the figure is a floor, not a renderer.
To price the start of that layout it also breaks the text of each letter's HTML into lines
(LineBreaker). It reads WeasyPrint's boxes (its internals) for the positions: a measurement,
not product code.

Needs uharfbuzz (HarfBuzz's own binding), which the product does not use:
    .venv/bin/pip install -c constraints.txt -e '.[bench]'
Reproduce: .venv/bin/python bench/direct_floor.py [--letters 120 --repeats 3]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dunning_batch.letters.batches import letter_contexts  # noqa: E402
from dunning_batch.letters.environment import pdf_environment  # noqa: E402
from dunning_batch.letters.payment_codes import epc_png, scheme  # noqa: E402
from dunning_batch.letters.render import _layout, _pages_by_letter, letters_html, render_batch  # noqa: E402
from dunning_batch.run import run  # noqa: E402
from dunning_batch.synth import write_synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 24)
PT = 0.75          # CSS px -> PDF points
PAGE_HEIGHT = 842  # A4, points


def page_plan(page_box, runs: list, rules: list, images: list) -> None:
    """Collect what WeasyPrint draws on a page: text runs, borders as rules, images."""
    from weasyprint.formatting_structure import boxes

    stack = [page_box]
    while stack:
        box = stack.pop()
        if isinstance(box, boxes.TextBox):
            runs.append((box.position_x, box.position_y + box.baseline, box.style["font_size"],
                         box.style["font_weight"] >= 700, box.text, box.width))
        elif isinstance(box, boxes.ReplacedBox):
            images.append((box.content_box_x(), box.content_box_y(), box.width, box.height))
        for side in ("top", "bottom"):
            if getattr(box, f"border_{side}_width", 0):
                y = box.position_y + (0 if side == "top" else box.margin_height())
                rules.append((box.position_x, y, box.margin_width(), getattr(box, f"border_{side}_width")))
        stack.extend(getattr(box, "children", None) or ())


class DirectWriter:
    """Draws a planned letter as a PDF with HarfBuzz and pydyf; fonts are read once."""

    def __init__(self, font_files: dict[bool, str]):
        import uharfbuzz as hb

        self.hb = hb
        self.faces = {bold: hb.Face(hb.Blob.from_file_path(path)) for bold, path in font_files.items()}
        self.fonts = {bold: hb.Font(face) for bold, face in self.faces.items()}

    def shape(self, text: str, bold: bool):
        """`text` shaped as Pango shapes it for WeasyPrint (kerning and ligatures on)."""
        buffer = self.hb.Buffer()
        buffer.add_str(text)
        buffer.guess_segment_properties()
        self.hb.shape(self.fonts[bold], buffer, {"kern": True, "liga": True})
        return buffer

    def advance(self, text: str, bold: bool) -> float:
        """The width of `text` in ems."""
        return sum(p.x_advance for p in self.shape(text, bold).glyph_positions or ()) / self.faces[bold].upem

    def write(self, letter: dict, sender: dict, plan: tuple, path: Path) -> None:
        import pydyf

        runs, rules, images = plan
        code = epc_png(letter, sender) if scheme(letter, sender) == "epc" else None
        used: dict[bool, dict[int, str]] = {False: {}, True: {}}
        content = pydyf.Stream(compress=True)
        for x, y, width, line in rules:
            content.set_line_width(line * PT)
            content.move_to(x * PT, PAGE_HEIGHT - y * PT)
            content.line_to((x + width) * PT, PAGE_HEIGHT - y * PT)
            content.stroke()
        for x, y, size, bold, text, _ in runs:
            glyphs = []
            for info in self.shape(text, bold).glyph_infos or ():
                used[bold].setdefault(info.codepoint, text[info.cluster])
                glyphs.append(f"{info.codepoint:04x}")
            content.begin_text()
            content.set_font_size(f"F{int(bold)}", size * PT)
            content.set_text_matrix(1, 0, 0, 1, x * PT, PAGE_HEIGHT - y * PT)
            content.show_text(f"<{''.join(glyphs)}>".encode())
            content.end_text()
        pdf = pydyf.PDF()
        resources = {"Font": pydyf.Dictionary(), "XObject": pydyf.Dictionary()}
        if code and images:
            x, y, width, height = images[0]
            resources["XObject"]["Q"] = self._image(pdf, code)
            content.push_state()
            content.set_matrix(width * PT, 0, 0, height * PT, x * PT, PAGE_HEIGHT - (y + height) * PT)
            content.draw_x_object("Q")
            content.pop_state()
        for bold, glyphs in used.items():
            if glyphs:
                resources["Font"][f"F{int(bold)}"] = self._font(pdf, bold, glyphs)
        pdf.add_object(content)
        pdf.add_page(pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference,
                                       "MediaBox": pydyf.Array([0, 0, 595, PAGE_HEIGHT]),
                                       "Contents": content.reference, "Resources": pydyf.Dictionary(resources)}))
        pdf.info["Title"] = pydyf.String(letter["letter_id"])
        with open(path, "wb") as handle:
            pdf.write(handle, compress=True)

    def width_error(self, runs: list) -> float:
        """The largest difference, in points, between a run's width as HarfBuzz shapes it and
        as WeasyPrint laid it out: whether a renderer of our own would measure lines the same."""
        return max((abs(self.advance(text, bold) * size - laid_out) * PT
                    for _, _, size, bold, text, laid_out in runs), default=0.0)

    def _font(self, pdf, bold: bool, glyphs: dict[int, str]):
        """A Type0 font of the glyphs used, subset by hb-subset (glyph ids kept), with widths
        and a ToUnicode map so that the text can be extracted."""
        import pydyf

        hb = self.hb
        subset_input = hb.SubsetInput()
        subset_input.glyph_set.update(glyphs)
        subset_input.flags = hb.SubsetFlags.RETAIN_GIDS
        data = hb.subset(self.faces[bold], subset_input).blob.data
        font_file = pydyf.Stream([data], {"Length1": len(data)}, compress=True)
        pdf.add_object(font_file)
        scale = 1000 / self.faces[bold].upem
        widths = []
        for gid in sorted(glyphs):
            widths += [gid, pydyf.Array([round(self.fonts[bold].get_glyph_h_advance(gid) * scale)])]
        cmap = "\n".join(f"<{gid:04x}> <{ord(char):04x}>" for gid, char in sorted(glyphs.items()) if ord(char) < 0x10000)
        to_unicode = pydyf.Stream([
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Adobe-Identity-UCS def "
            "/CMapType 2 def 1 begincodespacerange <0000> <ffff> endcodespacerange "
            f"{len(glyphs)} beginbfchar\n{cmap}\nendbfchar endcmap CMapName currentdict /CMap defineresource pop end end"],
            compress=True)
        pdf.add_object(to_unicode)
        name = "/AAAAAA+DejaVuSans" + ("-Bold" if bold else "")
        descriptor = pydyf.Dictionary({"Type": "/FontDescriptor", "FontName": name, "Flags": 32,
                                       "FontBBox": pydyf.Array([-1021, -463, 1793, 1232]), "ItalicAngle": 0,
                                       "Ascent": 928, "Descent": -236, "CapHeight": 729, "StemV": 80,
                                       "FontFile2": font_file.reference})
        pdf.add_object(descriptor)
        cid_font = pydyf.Dictionary({
            "Type": "/Font", "Subtype": "/CIDFontType2", "BaseFont": name, "FontDescriptor": descriptor.reference,
            "CIDSystemInfo": pydyf.Dictionary({"Registry": pydyf.String("Adobe"), "Ordering": pydyf.String("Identity"),
                                               "Supplement": 0}),
            "W": pydyf.Array(widths), "CIDToGIDMap": "/Identity"})
        pdf.add_object(cid_font)
        font = pydyf.Dictionary({"Type": "/Font", "Subtype": "/Type0", "BaseFont": name, "Encoding": "/Identity-H",
                                 "DescendantFonts": pydyf.Array([cid_font.reference]), "ToUnicode": to_unicode.reference})
        pdf.add_object(font)
        return font.reference

    @staticmethod
    def _image(pdf, code) -> object:
        """The EPC code's PNG (from the template's data: URL) as a greyscale image XObject."""
        import pydyf
        from PIL import Image

        png = base64.b64decode(str(code).split("base64,", 1)[1].split('"', 1)[0])
        image = Image.open(io.BytesIO(png))
        stream = pydyf.Stream([zlib.compress(image.tobytes())], {
            "Type": "/XObject", "Subtype": "/Image", "Width": image.width, "Height": image.height,
            "ColorSpace": "/DeviceGray", "BitsPerComponent": 8, "Filter": "/FlateDecode"})
        pdf.add_object(stream)
        return stream.reference


# The line breaking of every text block of a letter, as a renderer of our own would start its
# layout: the letter's HTML (the template's) parsed by html.parser, each block's text broken
# greedily at spaces into lines of the block's width, with word widths from HarfBuzz, cached
# (a night's letters share most words). Widths and sizes in mm and pt per class, roughly as
# letter.css sets them: a measure of cost, not of the page. Boxes, tables and the float are left out.
BLOCKS_MM = {"sender": 165, "return": 85, "recipient": 85, "info": 65, "h1": 165, "p": 165, "td": 30,
             "th": 30, "interest": 165, "bank": 127, "epc-code": 32}
BLOCKS_PT = {"sender": 8, "return": 6.5, "recipient": 9.5, "info": 8, "h1": 11.5, "p": 9, "td": 9, "th": 8,
             "interest": 7.5, "bank": 8.5, "epc-code": 7}


class LineBreaker:
    """Counts the lines of a letter's HTML, breaking each block's text with cached widths."""

    def __init__(self, writer: DirectWriter):
        self.writer, self.widths = writer, {}

    def width(self, word: str, bold: bool) -> float:
        key = (word, bold)
        if key not in self.widths:
            self.widths[key] = self.writer.advance(word, bold)
        return self.widths[key]

    def lines(self, text: str, bold: bool, size: float, width: float) -> int:
        """How many lines of `width` points `text` takes, broken at spaces and at its newlines."""
        count, space = 0, self.width(" ", bold) * size
        for paragraph in text.split("\n"):
            count += 1
            used = None
            for word in paragraph.split(" "):
                w = self.width(word, bold) * size
                if used is not None and used + space + w > width:
                    count, used = count + 1, w      # the word starts the next line
                else:
                    used = w if used is None else used + space + w
        return count

    def letter_lines(self, html: str) -> int:
        from html.parser import HTMLParser

        breaker, count = self, [0]

        class Blocks(HTMLParser):
            def __init__(self):
                super().__init__(convert_charrefs=True)
                self.open, self.text, self.bold = [], [], 0

            def handle_starttag(self, tag, attrs):
                self.bold += tag == "b"
                names = (dict(attrs).get("class") or "").split() + [tag]
                self.open.append((tag, next((n for n in names if n in BLOCKS_MM), None), len(self.text)))

            def handle_endtag(self, tag):
                self.bold -= tag == "b"
                while self.open:
                    name, block, start = self.open.pop()
                    if name == tag:
                        break
                if block and len(self.text) > start:
                    text = "".join(self.text[start:]).strip()
                    del self.text[start:]
                    count[0] += breaker.lines(text, tag in ("th", "h1") or self.bold > 0, BLOCKS_PT[block],
                                              BLOCKS_MM[block] / 25.4 * 72)

            def handle_data(self, data):
                self.text.append(data)

        parser = Blocks()
        parser.feed(html)
        parser.close()
        return count[0]


def cpu_ms_per_letter(fn, count: int, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        seconds.append(time.process_time() - started)
    return statistics.median(seconds) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=120, help="letters drawn per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per path; the median is printed")
    args = parser.parse_args()
    try:
        writer = DirectWriter({"Bold" in font["asked"]: font["file"] for font in pdf_environment()["fonts"]})
    except ImportError:
        raise SystemExit("bench/direct_floor.py needs uharfbuzz: .venv/bin/pip install -c constraints.txt -e '.[bench]'")
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    try:
        write_synthetic(work / "in", customers=args.letters * 10, seed=1, as_of=AS_OF)
        run(ROOT / "config" / "example.toml", work / "in" / "open_items.parquet",
            work / "in" / "customers.parquet", AS_OF, work / "out", pdf=False)
        letters = letter_contexts(work / "out")[: args.letters]
        sender = json.loads((work / "out" / "run.json").read_text())["sender"]
        from weasyprint.text.fonts import FontConfiguration

        pages = _pages_by_letter(_layout(letters, sender, FontConfiguration()).pages)
        plans = {}  # a letter's later pages are drawn onto its first: the same work, one page
        for letter in letters:
            runs, rules, images = [], [], []
            for page in pages[letter["letter_id"]]:
                page_plan(page._page_box, runs, rules, images)
            plans[letter["letter_id"]] = (runs, rules, images)
        pdf = work / "pdf"
        pdf.mkdir()
        n = len(letters)
        print(f"{n} letters, {sum(len(p[0]) for p in plans.values()) / n:.0f} text runs and "
              f"{sum(len(p[1]) for p in plans.values()) / n:.0f} rules a letter (synth's realistic night)")

        def direct() -> None:
            for letter in letters:
                writer.write(letter, sender, plans[letter["letter_id"]], pdf / f"{letter['letter_id']}.pdf")

        def codes() -> None:
            for letter in letters:
                if scheme(letter, sender) == "epc":
                    epc_png(letter, sender)

        breaker = LineBreaker(writer)
        htmls = [letters_html([letter], sender) for letter in letters]

        def line_breaking() -> None:
            for html in htmls:
                breaker.letter_lines(html)

        batches = [letters[i:i + 60] for i in range(0, n, 60)]
        weasy = cpu_ms_per_letter(lambda: [render_batch(b, sender, pdf) for b in batches], n, args.repeats)
        floor = cpu_ms_per_letter(direct, n, args.repeats)
        qr = cpu_ms_per_letter(codes, n, args.repeats)
        print(f"WeasyPrint, batched                {weasy:6.1f} ms CPU a letter  ({2000 / weasy:5.1f} letters/s on 2 cores)")
        print(f"drawn directly, layout left out    {floor:6.1f} ms CPU a letter  ({2000 / floor:5.1f} letters/s on 2 cores)")
        print(f"  of which the EPC code (segno)    {qr:6.1f} ms")
        lines = cpu_ms_per_letter(line_breaking, n, args.repeats)
        print(f"breaking the template's text into lines {lines:4.1f} ms a letter "
              f"({sum(map(breaker.letter_lines, htmls)) / n:.0f} lines; html.parser, widths cached)")
        error = max(writer.width_error(plan[0]) for plan in plans.values())
        print(f"text runs as HarfBuzz measures them: within {error:.3f} pt of WeasyPrint's widths")
        print(f"medians of {args.repeats}; reproduce: .venv/bin/python bench/direct_floor.py "
              f"--letters {args.letters} --repeats {args.repeats}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
