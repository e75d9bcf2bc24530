"""The optional payments input of SPEC §9.5 (`--payments PATH`): the parts of documents that
customers paid, read like the other exports (CSV or Parquet, `[input.payments]` mapping).

Without the option the run holds an empty `raw_payments`, so the stages read one relation
either way and a night without payments decides exactly as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .config import PAYMENT_COLUMNS, Config
from .readers import RawInput, load_raw
from .sql_runner import table_from_arrow

REQUIRED_PAYMENT_COLUMNS = ("payment_id", "customer_id", "doc_id", "currency", "due_date", "paid_on", "amount")


def load_payments(con: duckdb.DuckDBPyConnection, path: str | Path | None, config: Config) -> RawInput | None:
    """Table raw_payments from `path`, or empty (and None) when the run has no payments."""
    if path is None:
        # the columns of a CSV export as read (text), and its row numbers
        empty = pa.table({c: pa.array([], pa.string()) for c in PAYMENT_COLUMNS} | {"_row": pa.array([], pa.int64())})
        table_from_arrow(con, "raw_payments", empty)
        return None
    return load_raw(con, path, "payments", config.payments, PAYMENT_COLUMNS, REQUIRED_PAYMENT_COLUMNS)


def payment_params(config: Config, raw: RawInput | None) -> dict[str, Any]:
    """The parameters the stages bind to read the payments (sql/03_payments_parsed.sql, 1x, 20)."""
    return {
        "payments_date_format": config.payments.date_format,
        "payments_decimal_comma": config.payments.decimal_comma,
        "payments_file": str(raw.path) if raw is not None else "",
    }
