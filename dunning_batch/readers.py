"""Exports as they are (CSV or Parquet, mapped columns) -> raw relations in DuckDB.

Every value arrives with its row number (`_row`): as text from a CSV, with its own type from
a Parquet file. One set of SQL checks (`sql/0*_*.sql`) parses and validates both; the
parse macros take a typed value as it is, so ten million Parquet dates never become text.
Problems that make the whole file unreadable (encoding, structure, header) stop here with a
message naming the setting that would read the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .config import InputFormat
from .digest import sha256_of
from .errors import InputError
from .sql_runner import count_rows, parquet_relation, table_from_arrow

UTF8_BOM = b"\xef\xbb\xbf"
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
MAX_LISTED = 50
# A Parquet export of more than SMALL_GROUPS_FROM row groups averaging fewer than
# SMALL_GROUP_ROWS rows is read into a table once (_small_row_groups).
SMALL_GROUPS_FROM, SMALL_GROUP_ROWS = 16, 10_000
ARROW_BLOCK = 1 << 20  # pyarrow's default block; a record longer than a block needs a larger one


@dataclass(frozen=True)
class RawInput:
    """An export loaded into DuckDB as `table`: standard column names, the values, `_row`."""

    role: str
    path: Path
    sha256: str
    rows: int
    table: str
    row_offset: int  # _row of the first data row: 2 for CSV (the header is row 1), 1 for Parquet


def load_raw(con: duckdb.DuckDBPyConnection, path: str | Path, role: str, fmt: InputFormat,
             columns: tuple[str, ...], required: tuple[str, ...]) -> RawInput:
    """Read `path` into table raw_<role>; raise InputError when the file as a whole is unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (given for --{role.replace('_', '-')})")
    digest = sha256_of(path)
    suffix = path.suffix.lower()
    name = f"raw_{role}"
    if suffix == ".parquet":
        return RawInput(role, path, digest, _parquet_table(con, path, fmt, columns, required, name), name, 1)
    if suffix not in CSV_SUFFIXES:
        raise InputError(f"{path}: unsupported file type {suffix!r}; give a .csv or .parquet export")
    table, record_numbers = _csv_table(path, path.read_bytes(), fmt, columns, required, f"[input.{role}]")
    if record_numbers is None:
        import polars as pl  # here: most commands never read a CSV, and polars costs 0.2 s to import

        record_numbers = pl.int_range(2, 2 + table.num_rows, dtype=pl.Int64, eager=True).to_arrow()
    rows = record_numbers
    table_from_arrow(con, name, table.append_column("_row", rows))
    return RawInput(role, path, digest, table.num_rows, name, 2)


def _check_header(path: Path, header: list[str], fmt: InputFormat, columns: tuple[str, ...],
                  required: tuple[str, ...], csv_hint: bool, section: str = "") -> dict[str, str]:
    """Standard column -> the export's column, for the columns the export has. `section`, the
    config table of the file ("[input.open_items]"), is where a delimiter hint says to set it."""
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if names.count(n) > 1 and n})
    if dupes:
        raise InputError(f"{path}:1: header: column {dupes[0]!r} appears twice; each column must be named once")
    present = {std: src for std in columns if (src := fmt.source_column(std)) is not None and src in names}
    _refuse_default_and_column(path, present, fmt)
    missing = [std for std in required if std not in present]
    if missing:
        claimed = {src: std for std, src in fmt.columns.items()}
        wanted = ", ".join(repr(fmt.source_column(m)) if fmt.source_column(m) is not None else
                           f"{m!r} (the export's {m!r} is mapped to {claimed[m]!r})" for m in missing)
        hint = ""
        if csv_hint and len(names) == 1:
            for delim, word in ((";", "';'"), ("\t", "'\\t'"), ("|", "'|'"), (",", "','")):
                if delim in names[0] and delim != fmt.delimiter:
                    hint = (f"; the header looks {word}-separated: set delimiter = "
                            f"\"{delim if delim != chr(9) else chr(92) + 't'}\" under {section}")
                    break
        if not hint:
            hint = "; map the export's own names with [input.<file>] columns = { standard = \"Export name\" }"
        raise InputError(f"{path}:1: header: missing required column(s) {wanted} "
                         f"(found {', '.join(map(repr, names[:12]))}){hint}")
    index = {n: h for n, h in zip(names, header)}
    return {std: index[src] for std, src in present.items()}


def _refuse_default_and_column(path: Path, present: dict[str, str], fmt: InputFormat) -> None:
    """[input.open_items] currency is for an export with no currency column: with one, which of
    the two is meant is not ours to guess."""
    if fmt.currency is not None and "currency" in present:
        raise InputError(f"{path}:1: header: the export has the currency column {present['currency']!r}, and "
                         f"[input.open_items] currency = \"{fmt.currency}\" gives every row a currency too; "
                         f"remove the key to read each row's currency, or keep it for an export without the column")


def _select_standard(table: pa.Table, present: dict[str, str], columns: tuple[str, ...]) -> pa.Table:
    arrays = {std: table.column(present[std]) if std in present else pa.nulls(table.num_rows, pa.string())
              for std in columns}
    return pa.table(arrays)


def _utf16(data: bytes) -> tuple[str, str] | None:
    """(the encoding to set, how it shows) when `data` is UTF-16: a byte order mark, or the NUL
    byte of every second byte that Latin text in UTF-16 has (then the byte order is named)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "it starts with a UTF-16 byte order mark"
    sample = data[:4096]
    half = len(sample) // 4  # at least half of the characters have a NUL byte
    if half and sample.count(0) > half:
        if sample[1::2].count(0) > half and not sample[0::2].count(0):
            return "utf-16-le", "every second byte is NUL"
        if sample[0::2].count(0) > half and not sample[1::2].count(0):
            return "utf-16-be", "every second byte is NUL"
    return None


# what a file that is no text is, by its first bytes, and what to do instead
BINARY_KINDS = ((b"PK\x03\x04", "a ZIP file (an .xlsx workbook is one): export the sheet as CSV"),
                (b"PAR1", "a Parquet file: give it a name ending in .parquet"),
                (b"%PDF", "a PDF: give the CSV or Parquet export instead"))


def _binary(data: bytes) -> str | None:
    """What the file is when it is no text by its first bytes (a workbook, a Parquet file, a
    PDF), and what to give instead; None otherwise."""
    return next((what for magic, what in BINARY_KINDS if data.startswith(magic)), None)


def _decode(path: Path, data: bytes, encoding: str, section: str = "") -> str:
    """The file's text; an encoding that does not read it is named with the one that would."""
    under = f" under {section}" if section else ""
    utf16 = _utf16(data)
    binary = None if utf16 else _binary(data)
    if binary:
        raise InputError(f"{path}: is not a text file but {binary}")
    if utf16 and not codecs.lookup(encoding).name.startswith("utf-16"):
        raise InputError(f"{path}: the file is UTF-16 ({utf16[1]}), not {encoding}; "
                         f"set encoding = \"{utf16[0]}\"{under}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if b"\0" in data[:4096]:  # undecodable with NUL bytes: no text export (one stray NUL in text is a field's problem)
            raise InputError(f"{path}: is not a text file but binary data (it holds NUL bytes and bytes that are not "
                             f"{encoding}): give the CSV or Parquet export") from None
        other = "cp1252" if codecs.lookup(encoding).name == "utf-8" else "utf-8"
        raise InputError(f"{path}:{line}: the bytes are not valid {encoding} (byte 0x{data[exc.start]:02x}); "
                         f"if the export is {other}, set encoding = \"{other}\"{under}") from None
    if codecs.lookup(encoding).name != "utf-8" and not data.isascii() and not utf16:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return text.removeprefix("\ufeff")
        raise InputError(f"{path}: the file is UTF-8 but encoding = \"{encoding}\" is set; "
                         f"remove the encoding setting{under} (or set encoding = \"utf-8\")")
    return text.removeprefix("\ufeff")  # utf-16-le/-be keep the byte order mark as a character


def _csv_table(path: Path, data: bytes, fmt: InputFormat, columns: tuple[str, ...],
               required: tuple[str, ...], section: str = "") -> tuple[pa.Table, pa.Array | None]:
    """The export's columns as text, and the record number of each row when they are not
    simply 2, 3, 4 … (a blank line, which the parser skips, still counts as a row)."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    text = _decode(path, data, fmt.encoding, section)
    if not text.strip():
        raise InputError(f"{path}: the file is empty; expected a header with {', '.join(required)}")
    if "\r" in text and "\n" not in text:
        raise InputError(f"{path}: the lines end with a carriage return only (CR, the line end of classic Mac "
                         f"OS), which the reader does not take; convert the line ends to LF or CRLF, e.g. "
                         f"with `tr '\\r' '\\n' < {path.name} > converted.csv`, or save the file again as CSV")
    try:
        header = next(_reader(text, fmt, strict=True))
    except csv.Error as exc:
        raise InputError(f"{path}:1: header: cannot be read as CSV ({exc})") from None
    present = _check_header(path, header, fmt, columns, required, csv_hint=True, section=section)
    if text.count('"') % 2:
        # RFC 4180 quotes come in pairs; an odd count is a quote left open, which a parser
        # would read on to the end of the file and swallow the rows after it.
        _raise_structure_problems(path, text, fmt, len(header), "a quoted field is never closed")
    utf8 = data if codecs.lookup(fmt.encoding).name == "utf-8" else text.encode("utf-8")
    invalid: list[int] = []

    def read(block_size: int) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(utf8),
            read_options=pacsv.ReadOptions(block_size=block_size),
            parse_options=pacsv.ParseOptions(
                delimiter=fmt.delimiter, newlines_in_values=True,
                invalid_row_handler=lambda row: invalid.append(1) or "skip"),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, include_columns=list(present.values()),
                strings_can_be_null=True, null_values=[""]),
        )

    try:
        try:
            table = read(ARROW_BLOCK)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
            # a record longer than a block (a long free-text field): one block for the file
            invalid.clear()
            table = read(len(utf8) + 1)
    except pa.ArrowInvalid as exc:
        if _records(text, fmt) == [1]:  # a header and nothing else: an export with no open items
            empty = pa.table({h: pa.array([], pa.string()) for h in present.values()})
            return _select_standard(empty, present, columns), None
        _raise_structure_problems(path, text, fmt, len(header), str(exc))
    if invalid:
        _raise_structure_problems(path, text, fmt, len(header), "")
    numbers = None
    if "\n\n" in text or "\n\r\n" in text:
        numbers = pa.array(_records(text, fmt)[1:], pa.int64())
    return _select_standard(table, present, columns), numbers


def _reader(text: str, fmt: InputFormat, strict: bool = False):
    """The csv module over `text`, with no limit on a field's length but the file's own:
    its default of 128 KiB would stop on a long free-text field (README "Semantics")."""
    if csv.field_size_limit() < len(text) + 1:
        csv.field_size_limit(len(text) + 1)
    return csv.reader(io.StringIO(text), delimiter=fmt.delimiter, strict=strict)


def _records(text: str, fmt: InputFormat) -> list[int]:
    """Record numbers of the non-blank records (odd files only: a Python pass over the rows)."""
    reader = _reader(text, fmt)
    return [number for number, record in enumerate(reader, start=1) if record]


def _raise_structure_problems(path: Path, text: str, fmt: InputFormat, width: int, detail: str) -> None:
    """Error path only: re-read with the csv module to name the exact rows that do not fit."""
    problems, count = [], 0
    reader = _reader(text, fmt, strict=True)
    try:
        for number, record in enumerate(reader, start=1):
            if record and len(record) != width:
                count += 1
                if len(problems) < MAX_LISTED:
                    problems.append(f"{path}:{number}: the row has {len(record)} field(s) where the header has "
                                    f"{width}; the export is truncated or a field holds an unquoted "
                                    f"'{fmt.delimiter}'")
    except csv.Error as exc:
        count += 1
        problems.append(f"{path}:{reader.line_num}: {exc}: a quoted field is not closed "
                        f"(the export may be truncated)")
    if not problems:
        problems.append(f"{path}: cannot be read as CSV: {detail} (fields are quoted with \" and a quote "
                        f"inside a field is written twice)")
    raise InputError(problems, more=max(0, count - len(problems)))


def _parquet_table(con: duckdb.DuckDBPyConnection, path: Path, fmt: InputFormat, columns: tuple[str, ...],
                   required: tuple[str, ...], name: str) -> int:
    """A view over the Parquet file with the standard column names.

    A view, not a table: the parse stage reads the file once. Columns keep their Parquet
    type (the parse macros take dates, decimals, integers and booleans as they are), except
    a TIMESTAMP, which is read by its date. A TIMESTAMP WITH TIME ZONE is refused: it is an
    instant, and which day it falls on depends on a time zone the export does not name.
    """
    try:
        meta = pq.ParquetFile(path).metadata  # the footer, read once: schema and row groups
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    present = _check_header(path, schema.names, fmt, columns, required, csv_hint=False)
    zoned = [std for std in columns if std in present and _is_zoned(schema.field(present[std]).type)]
    if zoned:
        raise InputError([f"{path}: {std}: the column {present[std]!r} is a TIMESTAMP WITH TIME ZONE, an instant "
                          f"whose date depends on the time zone; export it as a DATE (or a TIMESTAMP without "
                          f"time zone holding the date)" for std in zoned])
    selects = [(std, present.get(std), _cast(schema.field(present[std]).type) if std in present else None)
               for std in columns]
    try:
        parquet_relation(con, name, path, selects, table=_small_row_groups(meta))
        rows = count_rows(con, name)
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    return rows


def _small_row_groups(meta: pq.FileMetaData) -> bool:
    """Whether the file holds many row groups of few rows (a writer that flushes every row).

    DuckDB pays a fixed price per row group on every scan, and the checks scan an export
    more than once: such a file is read once, into a table, instead of through a view.
    """
    return meta.num_row_groups > SMALL_GROUPS_FROM and meta.num_rows < meta.num_row_groups * SMALL_GROUP_ROWS


def _is_zoned(kind: pa.DataType) -> bool:
    """A Parquet timestamp adjusted to UTC (pyarrow gives it a time zone)."""
    return pa.types.is_timestamp(kind) and kind.tz is not None


def _cast(kind: pa.DataType) -> str | None:
    """The type a Parquet column is cast to for the parse stages (sql/00_macros.sql), or None
    when they take it as it is."""
    if pa.types.is_timestamp(kind):
        # a timestamp without time zone is a wall-clock reading: its date is what it says,
        # on every machine (a zoned one never gets here)
        return "DATE"
    if (pa.types.is_date(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind)
            or pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)):
        return None
    return "VARCHAR"
