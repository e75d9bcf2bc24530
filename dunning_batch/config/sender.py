"""The [sender] table: the creditor the letters and emails name, checked key by key; and the
same checks over the sender a run recorded in run.json (outputs/folder.py), since the
letters a folder re-renders and the emails it sends are made from that record."""

from __future__ import annotations

import unicodedata
from typing import Any

from ..addresses import AddressError, display_name_problem, parse_address
from .payment_keys import PAYMENT_KEYS, check_payment_keys
from .toml_table import Table


# [sender] keys of the letter's layout (issue 19): letterhead phone and legal footer
LAYOUT_KEYS = ("phone", "website", "register", "managing_directors", "vat_id")


def sender_problems(sender: Any, where: str) -> list[str]:
    """What the [sender] checks find in a sender as run.json records it (`where`: that file):
    the letters and emails of a folder are made from it, so it passes the checks a config's
    does. A key the config left out is recorded as null."""
    problems: list[str] = []
    values = {k: v for k, v in sender.items() if v is not None} if isinstance(sender, dict) else sender
    read = read_sender(Table(values, '"sender"', problems, where, "[sender]"))
    if not problems and read != sender:  # a key a config always gives a value (address: []) recorded as null
        problems.append(f"{where}: \"sender\": is not as a config's [sender] is read (a key is null that a "
                        f"config gives a value)")
    return problems


def read_sender(t: Table) -> dict[str, Any]:
    sender = {
        "name": t.get("name"),
        "address": t.get("address"),
        "email": t.get("email"),
        "iban": t.get("iban"),
        "bic": t.get("bic"),
        **{key: t.get(key) for key in PAYMENT_KEYS},
        **{key: t.get(key) for key in LAYOUT_KEYS},
    }
    # Each value is one line of the letter and of an email header: a line break there would
    # add a header line (From) or break the letterhead, a NUL ends a C string.
    for key in ("name", "email", "iban", "bic", *PAYMENT_KEYS, "phone", "website", "register", "vat_id"):
        bad = control_character(sender[key])
        if bad:
            t.problem(key, f"holds the control character {bad!r}; it must be one line of text")
    if isinstance(sender["name"], str) and (why := display_name_problem(sender["name"], "From")):
        t.problem("name", why)
    if sender["email"] and not control_character(sender["email"]):
        try:  # the rule delivery sends by (addresses.py): the From and the Message-ID's domain
            parse_address(sender["email"])
        except AddressError as exc:
            t.problem("email", f"{sender['email']!r} is not a plain email address local@domain: it {exc}")
    for key in ("address", "managing_directors"):
        for number, line in enumerate(sender[key] or [], start=1):
            bad = control_character(line)
            if bad:
                t.problem(key, f"line {number} holds the control character {bad!r}; give each line of "
                               f"the {key.replace('_', ' ')} as its own string")
    check_payment_keys(t, sender)
    t.done()
    return sender


def control_character(text: Any) -> str | None:
    """The first control character (CR, LF, NUL, tab, ...) or line separator in `text`."""
    if not isinstance(text, str):
        return None
    return next((c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
