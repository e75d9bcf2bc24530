"""What a deliverable email address is: the one rule that validation (11_customer_problems, the
config's [sender] email) and delivery (the outbox's To and From, `send`'s RCPT TO) share.

An address is deliverable when it is a plain `local@domain` and nothing else: no display
name, comment, RFC 2047 encoded word, quoted local part, domain literal, space or control
character anywhere. The authority is the standard library's mail parser, the one the outbox
builds its headers with: the text must parse to exactly one address and read back as the
same text. The local part is an ASCII dot-atom (delivery does not use SMTPUTF8); the domain
may be internationalised (IDNA) and is delivered in its ASCII form (xn--...). A customer's
several addresses are `;`-separated (SPEC §10.2).
"""

from __future__ import annotations

import encodings.idna
import re
import unicodedata
from email.headerregistry import Address
from email.policy import SMTP

# RFC 5322 dot-atom of ASCII atext: what a local part may be without quoting
LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# a DNS label in its ASCII form (letters, digits, hyphens inside)
ASCII_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
SEPARATOR = ";"
# Characters that, anywhere in an address, make one reader see something another does not
# (the parser's syntax, quoting, comments, encoded words), each with why it is refused.
ENCODED_WORD, DECODED = "=?", "holds an RFC 2047 encoded word (=?...?=), which mail programs decode into other text"
SYNTAX = (
    (",", "holds a comma"),
    (ENCODED_WORD, DECODED),
    ("(", "holds a comment in parentheses, which mail programs drop"),
    (")", "holds a comment in parentheses, which mail programs drop"),
    ("<", "holds angle brackets (a name around the address)"),
    (">", "holds angle brackets (a name around the address)"),
    ('"', "holds a quote (a quoted local part)"),
    ("\\", "holds a backslash (a quoted character)"),
    ("[", "holds a domain literal in brackets"),
    ("]", "holds a domain literal in brackets"),
)


class AddressError(ValueError):
    """The text is not a deliverable address; the message says why, in words for a user."""


def parse_address(text: str) -> Address:
    """The one plain `local@domain` address `text` is, its domain in ASCII; AddressError if not."""
    if not text:
        raise AddressError("is empty")
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "CZ":
            raise AddressError(f"holds {_describe(char, category)}")
    for mark, why in SYNTAX:
        if mark in text:
            raise AddressError(why)
    if text.count("@") != 1:
        raise AddressError("has no @" if "@" not in text else "holds more than one @")
    local, domain = text.split("@")
    if not local or not domain:
        raise AddressError("has nothing before the @" if not local else "has nothing after the @")
    if not local.isascii():
        raise AddressError("has a local part (before the @) that is not ASCII, which needs SMTPUTF8 "
                           "(delivery does not use it)")
    if not LOCAL_PART.fullmatch(local):
        raise AddressError("has a local part (before the @) that is not letters, digits and "
                           "!#$%&'*+/=?^_`{|}~- with single dots between them")
    if len(local) > 64:
        raise AddressError("has a local part longer than 64 characters")
    ascii_domain = _ascii_domain(domain)
    if len(local) + 1 + len(ascii_domain) > 254:
        raise AddressError("is longer than 254 characters")
    # the authority: the parser the outbox's headers go through reads exactly this one address
    header = SMTP.header_factory("To", text)
    read = header.addresses[0] if len(header.addresses) == 1 else None
    if header.defects or read is None or read.display_name or (read.username, read.domain) != (local, domain):
        raise AddressError(f"is not read as one plain address by the mail parser (it reads {str(header)!r})")
    return Address(username=local, domain=ascii_domain)


def parse_address_list(text: str) -> list[Address]:
    """A customer's `;`-separated addresses (spaces around each allowed); AddressError if any is not."""
    parts = [part.strip(" ") for part in text.split(SEPARATOR)]
    addresses = []
    for number, part in enumerate(parts, start=1):
        try:
            addresses.append(parse_address(part))
        except AddressError as exc:
            if len(parts) == 1:
                raise
            which = f"address {number} of {len(parts)}" + (f" ({part!r})" if part else "")
            raise AddressError(f"{which} {exc}") from None
    return addresses


def display_name_problem(name: str, header: str) -> str | None:
    """Why `name` cannot be the display name of a `header` (From, Reply-To) as it is written:
    an RFC 2047 encoded word in it is decoded by mail programs, into other text and even
    another address; None when it can."""
    if ENCODED_WORD in name:
        return f"{name!r} {DECODED} in the {header} header; give the name as plain text"
    return None


def address_list_problem(text: str | None) -> str | None:
    """Why `text` is not a list of deliverable addresses, or None when it is (NULL: none)."""
    if text is None:
        return None
    try:
        parse_address_list(text)
    except AddressError as exc:
        return str(exc)
    return None


def plain(text: str) -> str:
    """`text` as delivery sends it (RCPT TO, MAIL FROM): re-checked, the domain in ASCII."""
    return parse_address(text).addr_spec


def _ascii_domain(domain: str) -> str:
    """The domain's ASCII form, each label a valid DNS label; AddressError naming the label if not."""
    labels = domain.split(".")
    if len(labels) < 2:
        raise AddressError(f"has the domain {domain!r}, which has no dot")
    if "" in labels:
        raise AddressError(f"has the domain {domain!r}, which has an empty part (two dots, or a dot at an end)")
    ascii_labels = [_ascii_label(label) for label in labels]
    if ascii_labels[-1].isdigit():
        raise AddressError(f"has the domain {domain!r}, whose last part is a number")
    ascii_domain = ".".join(ascii_labels)
    if len(ascii_domain) > 253:
        raise AddressError("has a domain longer than 253 characters")
    return ascii_domain


def _ascii_label(label: str) -> str:
    if label.isascii():
        if not ASCII_LABEL.fullmatch(label):
            raise AddressError(f"has the domain part {label!r}, which is not letters, digits and inner hyphens "
                               f"(at most 63)")
        if label[2:4] == "--" and label.lower().startswith("xn--"):
            _idna_round_trip(label, _to_unicode(label))  # an A-label must be one IDNA reads back
        return label
    return _idna_round_trip(_to_ascii(label), label)


def _to_ascii(label: str) -> str:
    try:
        return encodings.idna.ToASCII(label).decode("ascii")
    except UnicodeError:
        raise AddressError(f"has the domain part {label!r}, which is not a valid internationalised "
                           f"domain name (IDNA)") from None


def _to_unicode(label: str) -> str:
    try:
        return encodings.idna.ToUnicode(label)
    except UnicodeError:
        raise AddressError(f"has the domain part {label!r}, which is not a valid IDNA label") from None


def _idna_round_trip(ascii_label: str, unicode_label: str) -> str:
    """The ASCII label, when IDNA maps it and `unicode_label` onto each other exactly.

    IDNA 2003 (the standard library's) maps some characters where IDNA 2008 does not (ß to
    ss, upper case to lower): such a label would go to a different domain depending on who
    reads it, so it is refused.
    """
    if not ASCII_LABEL.fullmatch(ascii_label) or _to_unicode(ascii_label) != unicode_label \
            or _to_ascii(unicode_label).lower() != ascii_label.lower():
        raise AddressError(f"has the domain part {unicode_label!r}, which IDNA reads as "
                           f"{_to_unicode(ascii_label)!r} (write it as registered, in lower case)")
    return ascii_label


def _describe(char: str, category: str) -> str:
    code = f"U+{ord(char):04X}"
    if char == " ":
        return "a space"
    kind = {"Cc": "the control character", "Cf": "the invisible formatting character",
            "Zl": "the line separator", "Zp": "the paragraph separator",
            "Zs": "the space character"}.get(category, "the character")
    return f"{kind} {code}"
