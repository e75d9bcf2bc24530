"""Writes docs/config.md, the reference of every config key, from keys.py (the entries the loader reads).

    python -m dunning_batch.config.reference > docs/config.md

tests/test_docs.py fails when docs/config.md differs from what this prints.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from .keys import INHERITED, REQUIRED, SECTIONS, Key, Section
from .toml_table import KIND_WORDS

COMMAND = "python -m dunning_batch.config.reference > docs/config.md"
KINDS = {**KIND_WORDS, "money": "a table of amounts by currency", "str_table": "a table of strings"}


def toml_value(value: Any) -> str:
    """`value` as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"no TOML form for {value!r}")


def default_words(key: Key) -> str:
    if key.default_text:
        return key.default_text
    if key.default is REQUIRED:
        return "required"
    if key.default is INHERITED or key.default is None:
        return "none"
    return f"`{toml_value(key.default)}`"


def example(key: Key) -> str:
    """The key's one-line example: its own, else a bool set the other way, else the default."""
    if key.example:
        return key.example
    if isinstance(key.default, bool):
        return f"{key.name} = {toml_value(not key.default)}"
    if key.choices:
        other = [c for c in key.choices if c != key.default]
        return f"{key.name} = {toml_value(other[0] if other else key.choices[0])}"
    return f"{key.name} = {toml_value(key.default)}"


def allowed(key: Key) -> str:
    if key.choices:
        return ", ".join(f"`{toml_value(c)}`" for c in key.choices)
    return key.allowed or "any"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def section_text(section: Section) -> str:
    lines = [f"## {section.heading}", "", section.doc, "",
             "| key | type | default | allowed values | example | meaning |",
             "| --- | --- | --- | --- | --- | --- |"]
    for key in section.keys:
        lines.append("| " + " | ".join(cell(c) for c in (
            f"`{key.name}`", KINDS[key.kind], default_words(key), allowed(key), f"`{example(key)}`", key.doc,
        )) + " |")
    return "\n".join(lines) + "\n"


def reference() -> str:
    """The whole of docs/config.md."""
    head = (
        "# Config reference\n\n"
        "Every key of the TOML config (`--config PATH`, SPEC §3 in [SPEC.md](SPEC.md)), table by table.\n"
        "A key that is not listed here is a config error; so is a value of the wrong type or outside its\n"
        "allowed values. Money is per currency (`{ EUR = 5.00, USD = 5.00 }`), exact to the currency's\n"
        "minor unit. Paths are relative to the config file.\n\n"
        f"Generated from `dunning_batch/config/keys.py` by `{COMMAND}`;\n"
        "do not edit it by hand (tests/test_docs.py fails when it is stale).\n\n"
        "Tables: " + ", ".join(f"[`{s.heading}`](#{s.anchor})" for s in SECTIONS.values()) + "\n"
    )
    return head + "".join("\n" + section_text(s) for s in SECTIONS.values())


def main() -> None:
    sys.stdout.write(reference())


if __name__ == "__main__":
    main()
