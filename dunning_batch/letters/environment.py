"""What fixes a PDF letter's bytes besides the run's inputs: the WeasyPrint and pydyf versions,
the font subsetter WeasyPrint uses (HarfBuzz-Subset or fontTools, with its version) and the
font files fontconfig resolves for the letters' fonts (family, file, sha256).

The same inputs give byte-identical PDFs on the same environment; another subsetter, version
or font file writes other bytes (the embedded font subset differs), so run.json records this
(manifest.py) and the run prints which subsetter it used. tests/test_no_money_rules.py pins
the PDFs per subsetter with these functions.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

HARFBUZZ, FONTTOOLS = "harfbuzz", "fonttools"
# The fonts letter.css and payment.css ask for, as fontconfig patterns (family, style): the
# text, and its bold (headings, totals, the sender's name).
LETTER_FONTS = (("DejaVu Sans", "Book"), ("DejaVu Sans", "Bold"))
SUBSETTER_NAMES = {HARFBUZZ: "HarfBuzz-Subset", FONTTOOLS: "fontTools"}


def subsetters() -> list[str]:
    """The subsetters this process can render with: fontTools always; HarfBuzz-Subset when
    WeasyPrint would use it, decided as weasyprint/pdf/fonts.py decides (the library
    loaded, HarfBuzz >= 4.1.0)."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import harfbuzz

    found = [FONTTOOLS]
    if fonts.harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0):
        found.append(HARFBUZZ)
    return found


def subsetter() -> str:
    """The subsetter WeasyPrint uses in this process: HarfBuzz-Subset where it can, else fontTools.
    (WeasyPrint looks the library up as the module global weasyprint.pdf.fonts.harfbuzz_subset
    each time it subsets, so this follows a test that hides it.)"""
    return HARFBUZZ if HARFBUZZ in subsetters() else FONTTOOLS


def subsetter_version(name: str) -> str:
    """The version of subsetter `name`: fontTools' own, or HarfBuzz's (libharfbuzz-subset comes
    from the same source and release as libharfbuzz)."""
    if name == FONTTOOLS:
        import fontTools
        return fontTools.version
    library = ctypes.CDLL(ctypes.util.find_library("harfbuzz") or "libharfbuzz.so.0")
    library.hb_version_string.restype = ctypes.c_char_p
    return library.hb_version_string().decode()


def subsetter_key(name: str) -> str:
    """The subsetter and its version, "harfbuzz 6.0.0": another version writes other bytes."""
    return f"{name} {subsetter_version(name)}"


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


def pdf_environment() -> dict[str, Any]:
    """What fixes the PDFs' bytes on this machine, for run.json."""
    import pydyf
    import weasyprint

    name = subsetter()
    return {"weasyprint": weasyprint.__version__, "pydyf": pydyf.__version__,
            "font_subsetter": {"name": name, "version": subsetter_version(name)},
            "fonts": letter_fonts()}


def describe(environment: dict[str, Any]) -> str:
    """One line: which subsetter the letters' fonts were subset with, and what else fixed the bytes."""
    subset = environment["font_subsetter"]
    line = (f"PDF fonts subset by {SUBSETTER_NAMES[subset['name']]} {subset['version']} "
            f"(WeasyPrint {environment['weasyprint']}, pydyf {environment['pydyf']}; "
            + ", ".join(f"{Path(font['file']).name or 'no font'} for {font['asked']}" for font in environment["fonts"])
            + ")")
    if subset["name"] == FONTTOOLS:
        line += "; install libharfbuzz-subset0 (>= 4.1.0) for PDFs several times faster"
    return line
