"""levels_update.csv in the open-items export's own terms ([output.levels_update] columns =
"export"): the export's column names, date_format, delimiter and encoding, so that the ERP
re-imports the file with the mapping it exports with.

The columns that set an open-items field are named as the export names that field
(`[input.open_items] columns`, else the standard name the export is read by): doc_id,
customer_id, level_after (the item's dunning_level after the run), last_dunned_on, and the
SPEC §9 state compensation_charged / interest_paid_to when the run writes them. The others
(level_before, last_dunned_before, letter_id) have no export counterpart and keep their
names. Text cells are guarded against spreadsheet formulas as in every CSV for the ERP;
dates (in the export's date_format), levels and booleans are written as they are.
levels_update.parquet keeps the names and types of SPEC §5: every command reads that one.
"""

from __future__ import annotations

import codecs
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from ..config.output import levels_headers
from ..sql_runner import guarded_text_cells
from .layout import FORMULA_STARTS

UTF8 = codecs.lookup("utf-8").name


@dataclass(frozen=True)
class LevelsFileLayout:
    """How levels_update.csv is written when it follows the export ([input.open_items]); run.json
    keeps it as "levels_file", so that `void` writes levels_restore.csv the same way."""

    headers: dict[str, str]   # levels_update column -> its header in the file
    date_format: str
    delimiter: str
    encoding: str

    @classmethod
    def from_record(cls, record: dict | None) -> "LevelsFileLayout | None":
        """The layout run.json records (None: the standard one)."""
        return None if record is None else cls(**record)


def levels_file_layout(config) -> LevelsFileLayout | None:
    """The layout of levels_update.csv for `config` (a config.Config); None for the standard one."""
    if config.output.levels_update_columns != "export":
        return None
    items = config.open_items
    return LevelsFileLayout(levels_headers(items), items.date_format, items.delimiter, items.encoding)


def levels_file_record(config) -> dict:
    """What run.json records of the levels file's layout: nothing for the standard one (whose
    run.json stays as it was), else {"levels_file": the layout}."""
    layout = levels_file_layout(config)
    return {} if layout is None else {"levels_file": asdict(layout)}


def write_levels_file(con: duckdb.DuckDBPyConnection, relation: str, select: str, path: Path,
                      layout: LevelsFileLayout) -> None:
    """`select` of `relation` (levels_update, or void's levels_restore, which has its columns)
    as the CSV `path` in `layout`, by doc_id.

    The cells are those of the standard file (text guarded against formulas, by the same
    select list); only the headers, the dates' format, the delimiter and the encoding change.
    DuckDB writes UTF-8 only, so another encoding is the written file re-encoded: its values
    came from an export in that encoding (ids) or are ASCII (levels, dates, letter ids)."""
    guarded = con.table(relation).project(guarded_text_cells(con, select, relation, FORMULA_STARTS))
    named = guarded.order("doc_id").project(*(duckdb.ColumnExpression(column).alias(layout.headers[column])
                                              for column in guarded.columns))
    written = path if codecs.lookup(layout.encoding).name == UTF8 else path.with_name(f".{path.name}.utf-8")
    named.write_csv(str(written), sep=layout.delimiter, header=True, date_format=layout.date_format)
    if written != path:
        with written.open(encoding="utf-8", newline="") as source, \
                path.open("w", encoding=layout.encoding, newline="") as target:
            shutil.copyfileobj(source, target)
        written.unlink()
