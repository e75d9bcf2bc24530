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
from pathlib import Path
from typing import Any

from .font_files import letter_fonts

HARFBUZZ, FONTTOOLS = "harfbuzz", "fonttools"
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


def pdf_environment() -> dict[str, Any]:
    """What fixes the PDFs' bytes on this machine, for run.json."""
    import pydyf
    import weasyprint

    name = subsetter()
    return {"weasyprint": weasyprint.__version__, "pydyf": pydyf.__version__,
            "font_subsetter": {"name": name, "version": subsetter_version(name)},
            "fonts": letter_fonts(), "direct": direct_renderer()}


def direct_renderer() -> dict[str, Any] | None:
    """What fixes the bytes of the letters drawn directly (letters/direct.py): uharfbuzz and
    the HarfBuzz it carries, which shape and subset their fonts; None where letters are not
    drawn directly (no uharfbuzz, or stylesheets the direct layout does not follow)."""
    from .direct import available

    if not available():
        return None
    import uharfbuzz

    return {"uharfbuzz": uharfbuzz.__version__, "harfbuzz": uharfbuzz.version_string()}


def describe(environment: dict[str, Any]) -> str:
    """One line: which subsetter the letters' fonts were subset with, and what else fixed the bytes."""
    subset = environment["font_subsetter"]
    line = (f"PDF fonts subset by {SUBSETTER_NAMES[subset['name']]} {subset['version']} "
            f"(WeasyPrint {environment['weasyprint']}, pydyf {environment['pydyf']}; "
            + ", ".join(f"{Path(font['file']).name or 'no font'} for {font['asked']}" for font in environment["fonts"])
            + ")")
    if environment.get("direct"):
        line += f"; letters drawn directly (HarfBuzz {environment['direct']['harfbuzz']})"
    if subset["name"] == FONTTOOLS:
        line += "; install libharfbuzz-subset0 (>= 4.1.0) for PDFs several times faster"
    return line
