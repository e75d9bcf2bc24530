"""The optional exchange rates of SPEC §11.1 (`--rates PATH`): rows of 1 from_currency = rate
to_currency on rate_date, read like the other exports (CSV or Parquet, `[input.rates]` mapping).

Without the option the run holds an empty `raw_rates`, so the stages read one relation either
way; a night whose letters need no conversion decides exactly as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .config import RATE_COLUMNS, Config
from .readers import RawInput, load_raw
from .sql_runner import table_from_arrow


def load_rates(con: duckdb.DuckDBPyConnection, path: str | Path | None, config: Config) -> RawInput | None:
    """Table raw_rates from `path`, or empty (and None) when the run has no rates."""
    if path is None:
        # the columns of a CSV file as read (text), and its row numbers
        empty = pa.table({c: pa.array([], pa.string()) for c in RATE_COLUMNS} | {"_row": pa.array([], pa.int64())})
        table_from_arrow(con, "raw_rates", empty)
        return None
    return load_raw(con, path, "rates", config.rates, RATE_COLUMNS, RATE_COLUMNS)


def rate_params(config: Config, raw: RawInput | None) -> dict[str, Any]:
    """The parameters the stages bind to read the rates (sql/05_rates_parsed.sql, 18_rate_problems)."""
    return {
        "rates_date_format": config.rates.date_format,
        "rates_decimal_comma": config.rates.decimal_comma,
        "rates_file": str(raw.path) if raw is not None else "",
    }
