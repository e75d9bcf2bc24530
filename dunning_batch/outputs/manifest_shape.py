"""The shape of the values inside run.json that commands read (reconcile's recorded totals,
the inputs' rows, the levels file's layout, the sender), checked before any command uses
them: a tampered run.json is named as damaged, never an internal error halfway through a
check. Each value is checked by what later consumes it: counts as whole numbers DuckDB's
BIGINT holds, amounts as decimal text DuckDB's DECIMAL reads, an encoding by Python's codec
registry, the sender by the config's own [sender] checks.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, Callable

# amounts as a run writes them (str of a DECIMAL): digits, an optional sign and fraction,
# within DECIMAL(38)'s 38 digits
AMOUNT = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,8})?")
LEVEL = re.compile(r"[0-9]{1,4}")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 63


def _amount(value: Any) -> bool:
    return isinstance(value, str) and AMOUNT.fullmatch(value) is not None


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _codec(value: Any) -> bool:
    try:
        return isinstance(value, str) and codecs.lookup(value) is not None
    except LookupError:
        return False


def _one_character(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 1


WORDS = {_count: "a whole number", _amount: "an amount like 12.50", _text: "text", _flag: "true or false",
         _codec: "an encoding Python knows", _one_character: "one character"}

Check = Callable[[Any], bool]


class Each:
    """An object whose every key (matching `keys`, when given) holds a value of `shape`,
    with the keys of `required` present."""

    def __init__(self, shape: Any, keys: re.Pattern | None = None, required: tuple[str, ...] = ()):
        self.shape, self.keys, self.required = shape, keys, required


class Optional:
    """A key an older run.json may lack, or hold as null."""

    def __init__(self, shape: Any):
        self.shape = shape


INPUT = {"path": _text, "sha256": _text, "rows": _count}
# reconcile compares these with what the files hold; `run` printed them (an older run lacks some)
TOTALS = {"letters": _count, **{key: Optional(_amount) for key in (
    "overdue_total", "credit_total", "fee_total", "interest_in_total", "compensation_total", "notice_total",
    "total_due", "interest_not_in_total", "current_not_in_total", "interest_total")}}
SHAPES = {
    "config": {"path": _text, "sha256": _text},
    "run": {"pdf": _flag},
    "inputs": Each(INPUT, required=("open_items",)),
    "input_totals": Each({"items": _count, "open_amount": _amount}),
    "totals_per_currency": Each(TOTALS),
    "letters_per_level": Each(_count, keys=LEVEL),
    "decisions_per_reason": Each(_count),
    "stage_rows": Each(_count),
    "rejected_rows": _count,
    "customers_created": _count,
    "levels_file": Optional({"headers": Each(_text), "date_format": _text, "delimiter": _one_character,
                             "encoding": _codec}),
}


def shape_damage(manifest: dict[str, Any]) -> str | None:
    """The first value of `manifest` (its top-level types already checked) that is not of the
    shape a run writes, worded for "run.json is damaged (...)"; None when all are."""
    for key, shape in SHAPES.items():
        if key in manifest and manifest[key] is not None:
            if found := _damage(manifest[key], shape, f'"{key}"'):
                return found
    return None


def _damage(value: Any, shape: Any, where: str) -> str | None:
    if isinstance(shape, Optional):
        return None if value is None else _damage(value, shape.shape, where)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"its {where} is not an object"
        for key, inner in shape.items():
            if key not in value and not isinstance(inner, Optional):
                return f'its {where} lacks "{key}"'
            if found := _damage(value.get(key), inner, f'{where} "{key}"'):
                return found
        return None
    if isinstance(shape, Each):
        if not isinstance(value, dict):
            return f"its {where} is not an object"
        if missing := [key for key in shape.required if key not in value]:
            return f'its {where} lacks "{missing[0]}"'
        for key, inner in value.items():
            if shape.keys is not None and not shape.keys.fullmatch(key):
                return f"its {where} holds the key {key!r}, which is no level"
            if found := _damage(inner, shape.shape, f'{where} "{key}"'):
                return found
        return None
    return None if shape(value) else f"its {where} is not {WORDS[shape]}"
