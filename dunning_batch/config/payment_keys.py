"""The [sender] keys a payment needs, checked when the config loads (issue 19): the IBAN and
BIC by python-stdnum's check digits and formats, and the QR code the letters carry with what
its scheme requires (letters/payment_codes.py draws it)."""

from __future__ import annotations

from typing import Any

from stdnum import bic as bic_numbers
from stdnum import iban as iban_numbers
from stdnum.exceptions import InvalidChecksum, ValidationError

from ..letters.payment_codes import SEPA_COUNTRIES, SWISS_COUNTRIES, default_qr, is_qr_iban
from .toml_table import Table

# [sender] keys of the payment code, in the order config/keys.py lists them
PAYMENT_KEYS = ("qr", "street", "postcode", "city", "country")
# The longest values the Swiss QR-bill takes (SIX IG QR-bill 2.3, structured address) and the
# EPC code's longest name
LIMITS = {"name": 70, "street": 70, "postcode": 16, "city": 35}


def check_payment_keys(t: Table, sender: dict[str, Any]) -> None:
    """Check the IBAN, BIC and QR code keys of `sender` (problems recorded on `t`); the IBAN and
    BIC kept without spaces, and `qr` set to its default when not given."""
    if isinstance(sender["iban"], str) and sender["iban"].strip():
        sender["iban"] = _checked_iban(t, sender["iban"])
    if isinstance(sender["bic"], str) and sender["bic"].strip():
        sender["bic"] = _checked_bic(t, sender["bic"])
    iban = sender["iban"] or ""
    if sender["qr"] is None:  # the default asks nothing more of the config: a name too long for a code gets none
        long_name = isinstance(sender["name"], str) and len(sender["name"]) > LIMITS["name"]
        sender["qr"] = "none" if long_name else default_qr(iban)
        return
    if sender["qr"] == "none":
        return
    if not iban:
        t.problem("qr", f"{sender['qr']!r} needs the account to pay to; set [sender] iban, or qr = \"none\"")
        return
    if sender["qr"] == "epc" and iban[:2] not in SEPA_COUNTRIES:
        t.problem("qr", f"\"epc\" needs an IBAN of the SEPA scheme, and the [sender] iban is of {iban[:2]}; "
                        f"set qr = \"none\"")
    if sender["qr"] == "swiss":
        _check_swiss(t, sender, iban)
    if isinstance(sender["name"], str) and len(sender["name"]) > LIMITS["name"]:
        t.problem("name", f"is {len(sender['name'])} characters long; a payment QR code takes at most "
                          f"{LIMITS['name']}: shorten it, or set qr = \"none\"")


def _checked_iban(t: Table, value: str) -> str:
    try:
        return iban_numbers.validate(value)
    except InvalidChecksum:
        t.problem("iban", f"{value!r} has a wrong check digit; copy the IBAN again from the bank's statement")
    except ValidationError as exc:
        t.problem("iban", f"{value!r} is not an IBAN ({exc.message.rstrip('.').lower()}); give the account's "
                          f"IBAN, e.g. \"DE89 3704 0044 0532 0130 00\"")
    return value


def _checked_bic(t: Table, value: str) -> str:
    try:
        return bic_numbers.validate(value)
    except ValidationError as exc:
        t.problem("bic", f"{value!r} is not a BIC ({exc.message.rstrip('.').lower()}); give the bank's 8 or 11 "
                         f"character BIC, e.g. \"COBADEFFXXX\"")
    return value


def _check_swiss(t: Table, sender: dict[str, Any], iban: str) -> None:
    """The Swiss QR-bill: a CH or LI IBAN that is no QR-IBAN (its reference here is an RF
    reference, type SCOR), and the creditor's structured address."""
    if iban[:2] not in SWISS_COUNTRIES:
        t.problem("qr", f"\"swiss\" needs a Swiss or Liechtenstein IBAN, and the [sender] iban is of "
                        f"{iban[:2]}; set qr = \"epc\" or \"none\"")
    elif is_qr_iban(iban):
        t.problem("qr", "\"swiss\" carries an RF reference, which a QR-IBAN (institution id 30000-31999) does "
                        "not take; give the account's ordinary IBAN in [sender] iban")
    for key in ("postcode", "city", "country"):
        if not sender[key]:
            t.problem(key, f"is required with qr = \"swiss\" (the QR-bill names the creditor's address); "
                           f"set [sender] {key}")
    country = sender["country"]
    if country and not (len(country) == 2 and country.isascii() and country.isupper()):
        t.problem("country", f"must be a two-letter ISO 3166 country code such as \"CH\", not {country!r}")
    for key in ("street", "postcode", "city"):
        if isinstance(sender[key], str) and len(sender[key]) > LIMITS[key]:
            t.problem(key, f"is {len(sender[key])} characters long; the QR-bill takes at most {LIMITS[key]}")
