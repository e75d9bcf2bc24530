"""The optional exports of a run: the payments of SPEC §9.5 (`--payments PATH`: the parts of
documents customers paid) and the exchange rates of §11.1 (`--rates PATH`: 1 from_currency =
rate to_currency on rate_date), each read like the other exports (CSV or Parquet, its
`[input.<role>]` mapping).

Without its option a run holds the input's raw table empty, so the stages read one relation
either way and a night without it decides exactly as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from .config import PAYMENT_COLUMNS, RATE_COLUMNS, Config
from .readers import RawInput, load_raw
from .sql_runner import table_from_arrow


class OptionalInput(NamedTuple):
    role: str                       # raw_<role>, --<role>, [input.<role>]
    columns: tuple[str, ...]
    required: tuple[str, ...]
    prefix: str                     # of the parameters the stages bind (<prefix>_date_format, ...)


PAYMENTS = OptionalInput("payments", PAYMENT_COLUMNS,
                         ("payment_id", "customer_id", "doc_id", "currency", "due_date", "paid_on", "amount"),
                         "payments")
RATES = OptionalInput("rates", RATE_COLUMNS, RATE_COLUMNS, "rates")
OPTIONAL_INPUTS = (PAYMENTS, RATES)


def load_optional(con: duckdb.DuckDBPyConnection, kind: OptionalInput, path: str | Path | None,
                  config: Config) -> RawInput | None:
    """Table raw_<role> from `path`, or empty (and None) when the run was given none."""
    if path is None:
        # the columns of a CSV export as read (text), and its row numbers
        empty = pa.table({c: pa.array([], pa.string()) for c in kind.columns} | {"_row": pa.array([], pa.int64())})
        table_from_arrow(con, f"raw_{kind.role}", empty)
        return None
    return load_raw(con, path, kind.role, getattr(config, kind.role), kind.columns, kind.required)


def optional_params(kind: OptionalInput, config: Config, raw: RawInput | None) -> dict[str, Any]:
    """The parameters the stages bind to read the input (its *_parsed stage, 1x problems, 20)."""
    fmt = getattr(config, kind.role)
    return {
        f"{kind.prefix}_date_format": fmt.date_format,
        f"{kind.prefix}_decimal_comma": fmt.decimal_comma,
        f"{kind.prefix}_file": str(raw.path) if raw is not None else "",
    }
