"""The [sales_rep.ID] tables of the config (SPEC §11.2): each rep's name, email and phone, checked.

A customer's `sales_rep` column names a table's ID; the letter prints the rep as the contact
for questions and the email goes out with the rep as Reply-To. The email is checked here by
the rule delivery sends by (addresses.py), so that a Reply-To is never a header a mail
program reads differently; the name and phone are one line each (a line break in a header
would add a header line, in the letter a line of the info block).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ..addresses import AddressError, display_name_problem, parse_address
from .model import SalesRep
from .toml_table import Table


def read_sales_reps(top: Table) -> tuple[SalesRep, ...]:
    """The reps of the config's top-level `sales_rep` table, by ID; every problem recorded in `top`."""
    given = top.get("sales_rep")
    reps = []
    for rep_id, data in (given or {}).items():
        t = Table(data, f"[sales_rep.{rep_id}]", top.problems, top.file, "[sales_rep.ID]")
        if not rep_id.strip() or rep_id != rep_id.strip() or _control_character(rep_id):
            t.problem("", "the ID must be the text of the customers' sales_rep column: no spaces around "
                          "it, no control characters")
        rep = SalesRep(rep_id=rep_id, name=t.get("name"), email=t.get("email"), phone=t.get("phone"))
        for key in ("name", "email", "phone"):
            bad = _control_character(getattr(rep, key))
            if bad:
                t.problem(key, f"holds the control character {bad!r}; it must be one line of text")
        if isinstance(rep.name, str) and not rep.name.strip():
            t.problem("name", "is empty; give the name the letter prints as the contact for questions")
        elif isinstance(rep.name, str) and (why := display_name_problem(rep.name, "Reply-To")):
            t.problem("name", why)
        if isinstance(rep.email, str) and not _control_character(rep.email):
            try:  # the rule delivery sends by: the Reply-To of the rep's customers' emails
                parse_address(rep.email)
            except AddressError as exc:
                t.problem("email", f"{rep.email!r} is not a plain email address local@domain: it {exc}")
        t.done()
        reps.append(rep)
    return tuple(sorted(reps, key=lambda r: r.rep_id))


def _control_character(text: Any) -> str | None:
    """The first control character (CR, LF, NUL, tab, ...) or line separator in `text`."""
    if not isinstance(text, str):
        return None
    return next((c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
