"""One TOML table being read: typed getters that record every problem instead of stopping."""

from __future__ import annotations

import copy
import difflib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import currencies

if TYPE_CHECKING:
    from .keys import Key

# keys.py is imported where it is used, not here: it reads the model's constants, and a module
# the model imports may read a Table (config/output.py), which would make a cycle.

MISSING = object()


class Table:
    """One TOML table being read: typed getters that record problems, then unknown keys."""

    def __init__(self, data: Any, where: str, problems: list[str], file: str, section: str):
        # `section`: the heading of keys.SECTIONS this table's keys are read by (kind, default, values)
        self.where, self.problems, self.file = where, problems, file
        from .keys import SECTIONS
        self.section = SECTIONS[section]
        if not isinstance(data, dict):
            self.problem("", f"must be a table, not {type(data).__name__}")
            data = {}
        self.data, self.seen = data, set()

    def problem(self, key: str, what: str) -> None:
        name = f" key '{key}'" if key else ""
        self.problems.append(f"{self.file}: {self.where}{name}: {what}")

    def has(self, key: str) -> bool:
        return key in self.data

    def spec(self, key: str) -> Key:
        """The key's entry in keys.py: a key read without one is our bug (docs/config.md would miss it)."""
        spec = self.section.key(key)
        if spec is None:
            raise LookupError(f"config key {key!r} of {self.section.heading} has no Key(...) in "
                              f"dunning_batch/config/keys.py; add one there and regenerate docs/config.md")
        return spec

    def get(self, key: str, *legacy: Any, inherit: Any = MISSING) -> Any:
        """The key's checked value, its default when absent (keys.py); `inherit` is the default of
        a key whose keys.py default is INHERITED (the enclosing table's value)."""
        if legacy:
            raise TypeError(f"Table.get({key!r}) takes its kind and default from dunning_batch/config/keys.py, "
                            f"not from arguments: add a Key(...) line there and call get({key!r})")
        from .keys import INHERITED, REQUIRED
        spec = self.spec(key)
        if spec.default is INHERITED:
            default = inherit
        elif spec.default is REQUIRED:
            default = MISSING
        else:
            default = copy.deepcopy(spec.default)  # a {} or [] default is this config's own
        if spec.kind == "money":  # a table of amounts by currency, checked by money()
            return self.money(key) if key in self.data else self.read(key, "table", default)
        return self.read(key, spec.kind, default, spec.choices)

    def read(self, key: str, kind: str, default: Any = MISSING, choices: tuple = ()) -> Any:
        """The value of `key` checked as `kind` (get() passes keys.py's kind and default)."""
        self.spec(key)
        self.seen.add(key)
        if key not in self.data:
            if default is MISSING:
                self.problem(key, "is required")
                return None
            return default
        value = self.data[key]
        checked = check_kind(value, kind)
        if checked is MISSING:
            self.problem(key, f"must be {KIND_WORDS[kind]}, not {value!r}")
            return None if default is MISSING else default
        if choices and checked not in choices:
            self.problem(key, f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
            return None if default is MISSING else default
        return checked

    def money(self, key: str) -> dict[str, Decimal] | None:
        """A per-currency amount table; absent means none (no fee / no minimum)."""
        raw = self.read(key, "table", None)
        if raw is None:
            return None
        out = {}
        for code, value in raw.items():
            amount = check_kind(value, "decimal")
            if not currencies.is_known(code):
                self.problem(key, f"names unknown currency code {code!r} (ISO 4217, upper case)")
            elif amount is MISSING or amount < 0:
                self.problem(key, f"{code} must be an amount of 0 or more, not {value!r}")
            elif not currencies.fits_minor_unit(code, amount):
                self.problem(key, f"{code} {value} has more decimals than {code} allows")
            else:
                out[code] = amount
        return out

    def nonneg_int(self, key: str) -> int | None:
        value = self.get(key)
        if isinstance(value, int) and value < 0:
            self.problem(key, f"must not be negative, not {value}")
        return value

    def done(self) -> None:
        known = [k.name for k in self.section.keys]
        for key in self.data:
            if key not in self.seen:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problem(key, f"is not a known key; {hint}the keys of {self.section.heading} are listed "
                                  f"in docs/config.md#{self.section.anchor}")


KIND_WORDS = {
    "str": "a string", "bool": "true or false", "int": "a whole number",
    "decimal": "a number", "table": "a table", "list[str]": "a list of strings",
    "list[table]": "a list of tables", "str_table": "a table of strings",
}


def check_kind(value: Any, kind: str) -> Any:
    ok = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "decimal": isinstance(value, (int, Decimal)) and not isinstance(value, bool),
        "table": isinstance(value, dict),
        "list[str]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "list[table]": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        "str_table": isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
    }[kind]
    if not ok:
        return MISSING
    if kind == "decimal":
        value = Decimal(value)
        if not value.is_finite():
            return MISSING
    return value
