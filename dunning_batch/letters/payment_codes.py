"""What a letter's payment block carries besides text: the ISO 11649 creditor reference, and
the payment QR code a banking app scans (EPC069-12 "GiroCode", or the Swiss QR-bill's
payment part), built by maintained libraries (python-stdnum, segno, qrbill).

Nothing here decides an amount: the code carries the letter's total due and reference as
letters.parquet holds them; this module only encodes them. segno and qrbill are imported
when a code is drawn, so a run that renders no PDF does not load them.
"""

from __future__ import annotations

import base64
import io
from decimal import Decimal
from typing import Any

from markupsafe import Markup
from stdnum import iban as iban_numbers
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

# [sender] qr: which code a letter carries (config/keys.py)
QR_KINDS = ("epc", "swiss", "none")
# The currencies each scheme takes (EPC069-12: euro only; SIX IG QR-bill 2.x: CHF and EUR)
SCHEME_CURRENCIES = {"epc": ("EUR",), "swiss": ("CHF", "EUR")}
# The largest amount each scheme encodes (EPC069-12 and SIX: 999,999,999.99); the smallest is 0.01
SCHEME_MAXIMUM = Decimal("999999999.99")
# The countries of the SEPA scheme, whose IBANs an EPC code may name (EPC409-09, 2025):
# the EEA, Switzerland, the UK, the microstates and the 2024/25 joiners.
SEPA_COUNTRIES = frozenset(
    "AD AL AT BE BG CH CY CZ DE DK EE ES FI FR GB GI GR HR HU IE IS IT LI LT LU LV MC MD ME MK "
    "MT NL NO PL PT RO RS SE SI SK SM VA".split())
# The Swiss QR-bill takes a Swiss or Liechtenstein IBAN; an IID from 30000 to 31999 marks a
# QR-IBAN, which takes only the Swiss QR reference (QRR), not an RF reference (SCOR)
SWISS_COUNTRIES = ("CH", "LI")
QR_IID = range(30000, 32000)
# The size the EPC code is drawn at (EPC069-12 asks for at least 2 cm; banks' apps read 30 mm well)
EPC_SIZE_MM = 32
# Pixels per module of its image: sharp where a viewer smooths images despite /Interpolate false
EPC_MODULE_PX = 8
# The one kind of URL a letter's HTML loads (letters/render.py RefuseAll): the images made here
EPC_IMAGE_URL = "data:image/png;base64,"
SWISS_LANGUAGES = ("en", "de", "fr", "it")
SWISS_FONTS = "Liberation Sans Narrow,DejaVu Sans Condensed"  # see swiss_svg


def creditor_reference(body: str) -> str:
    """The ISO 11649 reference `RF` + check digits + `body` (python-stdnum's mod 97-10)."""
    return iso11649.validate("RF" + mod_97_10.calc_check_digits(body + "RF") + body)


def grouped_reference(reference: str | None) -> str:
    """Jinja filter: a creditor reference as printed, in groups of four (RF18 1703 624C ...)."""
    return iso11649.format(reference) if reference else ""


def grouped_iban(number: str | None) -> str:
    """Jinja filter: an IBAN as printed, in groups of four (DE89 3704 0044 ...)."""
    return iban_numbers.format(number) if number else ""


def default_qr(iban: str) -> str:
    """The code a sender without `qr` gets: EPC when its IBAN is in the SEPA scheme, else none."""
    return "epc" if iban and iban[:2] in SEPA_COUNTRIES else "none"


def is_qr_iban(iban: str) -> bool:
    return iban[:2] in SWISS_COUNTRIES and iban[4:9].isdigit() and int(iban[4:9]) in QR_IID


def scheme(letter: dict[str, Any], sender: dict[str, Any]) -> str | None:
    """The scheme of the code `letter` carries ("epc", "swiss"), or None: no code when the
    sender chose none or has no IBAN, the letter has no reference, its currency is not the
    scheme's, or its total due is not a payable amount (<= 0, above the scheme's maximum)."""
    kind = sender.get("qr") or default_qr(sender.get("iban") or "")
    if kind not in SCHEME_CURRENCIES or not sender.get("iban") or not letter.get("payment_reference"):
        return None
    if letter["currency"] not in SCHEME_CURRENCIES[kind]:
        return None
    if not Decimal("0.01") <= letter["total_due"] <= SCHEME_MAXIMUM:
        return None
    return kind


def epc_png(letter: dict[str, Any], sender: dict[str, Any]) -> Markup:
    """The EPC069-12 code of `letter` as an inline image: a greyscale PNG of EPC_MODULE_PX pixels
    per module, drawn EPC_SIZE_MM square without smoothing (payment.css). An image costs the
    letter's layout and PDF about a tenth of what segno's SVG path did (one image against a path
    of every module's run)."""
    import segno.helpers
    from PIL import Image

    code = segno.helpers.make_epc_qr(name=sender["name"], iban=sender["iban"], amount=letter["total_due"],
                                     reference=letter["payment_reference"], bic=sender.get("bic") or None)
    # dark modules black (0), light white (255), each EPC_MODULE_PX square; no quiet zone: the
    # margin around the image is the code's border
    rows = [bytes(0 if dark else 255 for dark in row for _ in range(EPC_MODULE_PX)) for row in code.matrix]
    pixels = b"".join(row for row in rows for _ in range(EPC_MODULE_PX))
    size = len(rows[0])
    png = io.BytesIO()
    Image.frombytes("L", (size, size), pixels).save(png, format="PNG", optimize=False)
    return Markup(f'<img class="epc" alt="" src="{EPC_IMAGE_URL}{base64.b64encode(png.getvalue()).decode()}">')


def swiss_svg(letter: dict[str, Any], sender: dict[str, Any]) -> Markup:
    """The Swiss QR-bill's payment part of `letter` (SIX IG QR-bill, reference type SCOR) as
    an inline SVG, 210 x 106 mm (the bill's 105 mm and its scissors line)."""
    from qrbill import QRBill

    language = letter["language"][:2]
    bill = QRBill(account=sender["iban"], amount=letter["total_due"], currency=letter["currency"],
                  reference_number=letter["payment_reference"],
                  language=language if language in SWISS_LANGUAGES else "en",
                  creditor={"name": sender["name"], "street": sender.get("street") or None,
                            "pcode": sender["postcode"], "city": sender["city"], "country": sender["country"]})
    # SIX asks for Arial, Helvetica or Liberation Sans; where none is installed, fontconfig's
    # stand-in for them (DejaVu Sans) runs wider than the bill's columns: the condensed cut fits
    bill.font_family = SWISS_FONTS
    out = io.StringIO()
    bill.as_svg(out)
    svg = out.getvalue()
    return Markup(svg[svg.index("<svg"):])  # inline: without the XML declaration


def payment_code(letter: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any] | None:
    """Jinja global: the letter's code as {"scheme", "html"} (an image or an inline SVG), or None
    when it carries none."""
    kind = scheme(letter, sender)
    if kind is None:
        return None
    return {"scheme": kind, "html": epc_png(letter, sender) if kind == "epc" else swiss_svg(letter, sender)}
