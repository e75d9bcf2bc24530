"""Text from the data made safe to print: control and invisible characters shown as escapes.

An id, name or server reply can hold ESC [ ... (a terminal escape sequence that recolours,
moves the cursor or retitles the window), other C0/C1 control characters, line breaks that
forge extra output lines, or bidirectional overrides that make text read backwards
("Trojan Source"). `printable` writes each such character as its Python escape (`\\x1b`,
`\\n`, `\\u202e`) so what is printed is exactly the characters there are. Everything that
prints data on a terminal goes through it: `query`'s table and CSV, `explain`, `diff`,
`send`'s report and every error line. Files keep the raw value.
"""

from __future__ import annotations

import unicodedata
from typing import Callable

# Control (Cc), format (Cf: bidi controls, zero-width characters), surrogate (Cs), line and
# paragraph separators (Zl, Zp): characters that are invisible or act instead of showing.
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def python_escape(char: str) -> str:
    """`\\t`, `\\n`, `\\r`, `\\x1b`, `\\u202e` or `\\U000e0001`, as Python's repr writes them."""
    code = ord(char)
    if char in NAMED:
        return NAMED[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, escape: Callable[[str], str] = python_escape) -> str:
    """`text` with each control, format or line-separator character replaced by `escape(char)`."""
    if text.isprintable():  # the common case, decided in C: no character to escape
        return text
    return "".join(escape(c) if unicodedata.category(c) in ESCAPED_CATEGORIES else c for c in text)


# An error line is read by a person: a value of 100,000 characters (an id an attacker wrote)
# is quoted by its start and its end, which hold the file, row and column and the fix.
MESSAGE_LIMIT = 1_000


def shortened(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` when it is at most `limit` characters; else its first and last `limit` / 2, with
    the number of characters left out between them."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]} [... {len(text) - 2 * keep} characters left out ...] {text[-keep:]}"
