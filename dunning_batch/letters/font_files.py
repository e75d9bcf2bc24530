"""The font files the letters are set in: what fontconfig resolves for the fonts letter.css
and payment.css ask for, as WeasyPrint (Pango) asks for them. WeasyPrint finds them itself;
the direct renderer (direct_text.py) shapes with them, and run.json records them
(environment.py), since another file writes other bytes."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

# The fonts letter.css and payment.css ask for, as fontconfig patterns (family, style): the
# text, and its bold (headings, totals, the sender's name).
LETTER_FONTS = (("DejaVu Sans", "Book"), ("DejaVu Sans", "Bold"))


def letter_fonts() -> list[dict[str, str]]:
    """The font file fontconfig resolves for each of LETTER_FONTS, as WeasyPrint (Pango) asks
    for it: with the same substitutions, through WeasyPrint's own fontconfig binding."""
    return [dict(font) for font in _letter_fonts()]


@lru_cache(maxsize=1)
def _letter_fonts() -> tuple[tuple[tuple[str, str], ...], ...]:
    from weasyprint.text.ffi import ffi, fontconfig

    config = ffi.gc(fontconfig.FcInitLoadConfigAndFonts(), fontconfig.FcConfigDestroy)
    found = []
    for family, style in LETTER_FONTS:
        pattern = ffi.gc(fontconfig.FcPatternCreate(), fontconfig.FcPatternDestroy)
        fontconfig.FcPatternAddString(pattern, b"family", family.encode())
        fontconfig.FcPatternAddString(pattern, b"style", style.encode())
        fontconfig.FcConfigSubstitute(config, pattern, fontconfig.FcMatchPattern)
        fontconfig.FcDefaultSubstitute(pattern)
        result = ffi.new("FcResult *")
        match = fontconfig.FcFontMatch(config, pattern, result)
        if match == ffi.NULL:
            found.append((("asked", f"{family} {style}"), ("family", ""), ("file", ""), ("sha256", "")))
            continue
        match = ffi.gc(match, fontconfig.FcPatternDestroy)
        values = {}
        for key in ("family", "style", "file"):
            text = ffi.new("FcChar8 **")
            got = fontconfig.FcPatternGetString(match, key.encode(), 0, text)
            values[key] = ffi.string(text[0]).decode() if got == fontconfig.FcResultMatch else ""
        digest = hashlib.sha256(Path(values["file"]).read_bytes()).hexdigest() if values["file"] else ""
        found.append((("asked", f"{family} {style}"), ("family", f"{values['family']} {values['style']}".strip()),
                      ("file", values["file"]), ("sha256", digest)))
    return tuple(found)
