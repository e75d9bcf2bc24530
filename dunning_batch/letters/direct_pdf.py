"""Writes a laid-out letter (direct_layout.Plan) as a one-page PDF with pydyf: each text run
in the glyphs HarfBuzz shaped (kerning kept as glyph adjustments), the two fonts subset to
the letter's glyphs by hb-subset (glyph ids kept) with their widths and a ToUnicode map, so
that the text can be searched and extracted, the borders as filled rectangles, and the EPC
code's PNG as an image drawn without smoothing. Nothing in the file depends on the time or
the machine beyond the font files and the libraries run.json records.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import pydyf

from .direct_layout import PAGE_H, PAGE_W, PagePlan, Plan
from .direct_text import Unsupported, fonts
from .payment_codes import EPC_IMAGE_URL

PX = 0.75   # PDF points in a CSS px
# the font tables a PDF viewer does not read (shaping is done): dropped from each subset, as WeasyPrint drops them
DROPPED_TABLES = ("BASE", "DSIG", "EBDT", "EBLC", "EBSC", "GPOS", "GSUB", "JSTF", "LTSH", "PCLT", "SVG ")
NAMES = {False: "DejaVuSans", True: "DejaVuSans-Bold"}


def _rgb(color: str) -> tuple[float, float, float]:
    """#rgb as three fractions."""
    return tuple(round(int(c * 2, 16) / 255, 4) for c in color.lstrip("#"))


def write_pdf(plan: Plan, title: str, path: Path) -> None:
    """`plan` as the PDF `path`, titled `title` (the letter id); its fonts are subset to the
    glyphs of its own pages, shared by them."""
    pdf = pydyf.PDF()
    used: dict[bool, dict[int, str]] = {False: {}, True: {}}
    pages = []
    for sheet in plan.pages:
        content, images = pydyf.Stream(compress=True), pydyf.Dictionary()
        for number, (x, y, width, height, src) in enumerate(sheet.images):   # floats: painted first
            images[f"I{number}"] = _image(pdf, src)
            content.push_state()
            content.set_matrix(width * PX, 0, 0, height * PX, x * PX, (PAGE_H - y - height) * PX)
            content.draw_x_object(f"I{number}")
            content.pop_state()
        _draw(sheet, content, used)
        pages.append((content, images))
    font_refs = {f"F{int(bold)}": _font(pdf, bold, glyphs) for bold, glyphs in used.items() if glyphs}
    for content, images in pages:
        pdf.add_object(content)
        pdf.add_page(pydyf.Dictionary({
            "Type": "/Page", "Parent": pdf.pages.reference,
            "MediaBox": pydyf.Array([0, 0, round(PAGE_W * PX, 4), round(PAGE_H * PX, 4)]),
            "Contents": content.reference,
            "Resources": pydyf.Dictionary({"Font": pydyf.Dictionary(font_refs), "XObject": images})}))
    pdf.info["Title"] = pydyf.String(title)
    pdf.info["Producer"] = pydyf.String("dunning_batch")
    buffer = io.BytesIO()
    pdf.write(buffer, compress=True)
    path.write_bytes(buffer.getvalue())


def _draw(sheet: PagePlan, content: pydyf.Stream, used: dict[bool, dict[int, str]]) -> None:
    """A page's borders, then its text runs (their glyphs noted in `used`), onto `content`."""
    f = fonts()
    height = PAGE_H * PX
    for rule in sheet.rules:   # stroked along its middle, as WeasyPrint draws a border
        content.set_color_rgb(*_rgb(rule.color), stroke=True)
        across = rule.width < rule.height
        content.set_line_width(round((rule.width if across else rule.height) * PX, 4))
        x, y = rule.x + (rule.width / 2 if across else 0), rule.y + (0 if across else rule.height / 2)
        content.move_to(round(x * PX, 4), round(height - y * PX, 4))
        content.line_to(round((x if across else x + rule.width) * PX, 4),
                        round(height - (y + rule.height if across else y) * PX, 4))
        content.stroke()
    color = None
    for run in sheet.runs:
        glyphs = f.shape(run.text, run.bold)
        if run.color != color:
            content.set_color_rgb(*_rgb(run.color))
            color = run.color
        parts = []
        for gid, char, advance in zip(glyphs.ids, glyphs.chars, glyphs.advances):
            used[run.bold].setdefault(gid, char)
            parts.append(f"<{gid:04x}>")
            # TJ moves by the glyph's width less this, in whole thousandths of an em: kerning.
            # Whole numbers, as WeasyPrint writes them, so that each glyph stands where it stands in its PDFs
            adjust = _thousandths(f.fonts[run.bold].get_glyph_h_advance(gid)) - _thousandths(advance)
            if adjust:
                parts.append(str(adjust))
        content.begin_text()
        content.set_font_size(f"F{int(run.bold)}", run.size * PX)
        content.set_text_matrix(1, 0, 0, 1, round(run.x * PX, 4), round(height - run.y * PX, 4))
        content.show_text(" ".join(parts).encode())   # pydyf writes the [...] TJ around it
        content.end_text()


def _thousandths(units: int) -> int:
    """A length in font units as whole thousandths of an em (PDF glyph space)."""
    return round(units * 1000 / fonts().upem)


def _font(pdf: pydyf.PDF, bold: bool, glyphs: dict[int, str]) -> pydyf.Reference:
    """A Type0 font of the glyphs used, subset by hb-subset (glyph ids kept)."""
    f = fonts()
    hb = f.hb
    subset_input = hb.SubsetInput()
    subset_input.glyph_set.update(glyphs)
    # as WeasyPrint subsets (weasyprint/pdf/fonts.py): glyph ids kept, no hinting, no layout tables
    subset_input.flags = hb.SubsetFlags.RETAIN_GIDS | hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.PASSTHROUGH_UNRECOGNIZED
    subset_input.drop_table_tag_set.update(int.from_bytes(tag.encode(), "big") for tag in DROPPED_TABLES)
    subset = hb.subset(f.faces[bold], subset_input)
    if subset is None:
        raise Unsupported("hb-subset could not subset the letter's font")
    data = subset.blob.data
    font_file = pydyf.Stream([data], {"Length1": len(data)}, compress=True)
    pdf.add_object(font_file)
    scale = 1000 / f.upem
    widths = []
    for gid in sorted(glyphs):
        widths += [gid, pydyf.Array([_thousandths(f.fonts[bold].get_glyph_h_advance(gid))])]
    mapping = "\n".join(f"<{gid:04x}> <{text.encode('utf-16-be').hex()}>" for gid, text in sorted(glyphs.items()))
    to_unicode = pydyf.Stream([
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def "
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000> <ffff> endcodespacerange "
        f"{len(glyphs)} beginbfchar\n{mapping}\nendbfchar endcmap CMapName currentdict /CMap defineresource pop end end"],
        compress=True)
    pdf.add_object(to_unicode)
    extents = f.fonts[bold].get_font_extents("ltr")
    name = f"/{_subset_tag(glyphs)}+{NAMES[bold]}"
    descriptor = pydyf.Dictionary({
        "Type": "/FontDescriptor", "FontName": name, "Flags": 32, "ItalicAngle": 0,
        "FontBBox": pydyf.Array([-1021, -463, 1793, 1232]), "Ascent": round(extents.ascender * scale),
        "Descent": round(extents.descender * scale), "CapHeight": 729, "StemV": 80,
        "FontFile2": font_file.reference})
    pdf.add_object(descriptor)
    cid_font = pydyf.Dictionary({
        "Type": "/Font", "Subtype": "/CIDFontType2", "BaseFont": name, "FontDescriptor": descriptor.reference,
        "CIDSystemInfo": pydyf.Dictionary({"Registry": pydyf.String("Adobe"), "Ordering": pydyf.String("Identity"),
                                           "Supplement": 0}),
        "W": pydyf.Array(widths), "CIDToGIDMap": "/Identity"})
    pdf.add_object(cid_font)
    font = pydyf.Dictionary({"Type": "/Font", "Subtype": "/Type0", "BaseFont": name, "Encoding": "/Identity-H",
                             "DescendantFonts": pydyf.Array([cid_font.reference]),
                             "ToUnicode": to_unicode.reference})
    pdf.add_object(font)
    return font.reference


def _subset_tag(glyphs: dict[int, str]) -> str:
    """Six capitals naming the subset (PDF 32000 §9.6.4), from its glyphs: the same glyphs,
    the same tag, so the bytes depend on nothing else."""
    number = zlib.crc32(",".join(map(str, sorted(glyphs))).encode())
    return "".join(chr(ord("A") + (number >> (5 * i)) % 26) for i in range(6))


def _image(pdf: pydyf.PDF, src: str) -> pydyf.Reference:
    """The EPC code's PNG (a data: URL, payment_codes.epc_png: 8-bit grey) as an image drawn
    without interpolation (image-rendering: pixelated); its compressed rows go into the PDF
    as they are, which PDF's Flate filter reads with PNG's predictors."""
    if not src.startswith(EPC_IMAGE_URL):
        raise Unsupported("an image that is not the EPC code's")
    png = base64.b64decode(src.split("base64,", 1)[1])
    header, rows, position = None, [], 8
    while position + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        body = png[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            rows.append(body)
        position += 12 + length
    if png[:8] != b"\x89PNG\r\n\x1a\n" or header is None or header[2:5] != (8, 0, 0) or header[6] != 0:
        raise Unsupported("the EPC code's image is not an 8-bit grey PNG")
    width, height = header[:2]
    stream = pydyf.Stream([b"".join(rows)], {
        "Type": "/XObject", "Subtype": "/Image", "Width": width, "Height": height, "ColorSpace": "/DeviceGray",
        "BitsPerComponent": 8, "Interpolate": "false", "Filter": "/FlateDecode",
        "DecodeParms": pydyf.Dictionary({"Predictor": 15, "Colors": 1, "BitsPerComponent": 8, "Columns": width})})
    pdf.add_object(stream)
    return stream.reference
