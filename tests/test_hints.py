"""Hints that finish the job (issue 18): problems of one kind in a column are one line with
a count and the first rows, and name the setting that reads the values where the values show
it (decimal_comma, date_format, delimiter and encoding under the file's own section, UTF-16,
CR-only line ends); a tab or spaces around a value are trimmed before it is parsed.

Run as a user runs the tool: a subprocess in the folder of the exports, relative paths.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parent.parent
HINTS = Path(__file__).resolve().parent / "hints"
CLI = [sys.executable, "-c", "from dunning_batch.cli import main; main()"]
AS_OF = "2026-11-24"
# `set key = value under [input.file]`, as every hint ends
SETTING = re.compile(r'set (?P<key>\w+) = (?P<value>"[^"]*"|true|false) under \[input\.(?P<section>\w+)\]')
ITEMS_HEADER = "doc_id,customer_id,doc_date,due_date,currency,amount,open_amount"
CUSTOMERS = "customer_id,name,address,country,language\nK1,Alpha GmbH,Hauptstr. 1,DE,de\nK2,Beta AG,Marktplatz 3,DE,de\n"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def validate(cwd: Path, config: str = "config.toml", items: str = "open_items.csv") -> tuple[int, list[str]]:
    proc = cli(cwd, "validate", "--config", config, "--open-items", items, "--customers", "customers.csv",
               "--as-of", AS_OF)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, (proc.stderr if proc.returncode else proc.stdout).splitlines()


def with_settings(base: str, settings: dict[str, dict[str, str]]) -> str:
    tables = "".join(f"\n[input.{section}]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items())
                     for section, keys in settings.items())
    return base + tables


def folder(tmp_path: Path, items: str, customers: str = CUSTOMERS, encoding: str = "utf-8") -> Path:
    shutil.copy(HINTS / "config.toml", tmp_path / "config.toml")
    (tmp_path / "open_items.csv").write_bytes(items.encode(encoding))
    (tmp_path / "customers.csv").write_text(customers, encoding="utf-8")
    return tmp_path


# ------------------------------------------------------------------ the acceptance test


def test_a_german_export_without_config_gets_one_line_per_column_naming_the_setting(tmp_path):
    """The issue's acceptance test: a German export (';', decimal commas, dd.mm.yyyy, cp1252)
    run without settings for it gives at most one line per column, each naming the setting
    that reads it; applying the settings the lines name makes `validate` pass."""
    for name in ("open_items.csv", "customers.csv", "config.toml"):
        shutil.copy(HINTS / name, tmp_path / name)
    base = (tmp_path / "config.toml").read_text(encoding="utf-8")
    settings: dict[str, dict[str, str]] = {}
    rounds = []
    for _ in range(6):
        code, lines = validate(tmp_path)
        rounds.append(lines)
        if code == 0:
            break
        assert code == 2, lines
        # at most one line per file and column (a whole-file line counts as the file's)
        places = [re.match(r"^([^:]+):(?:\d+: )?(\w+)?", line).group(1, 2) for line in lines]
        assert len(places) == len(set(places)), lines
        for line in lines:
            found = SETTING.search(line)
            assert found, f"no setting named: {line}"
            settings.setdefault(found["section"], {})[found["key"]] = found["value"]
        (tmp_path / "config.toml").write_text(with_settings(base, settings), encoding="utf-8")
    assert rounds[-1] == ["valid: no problems found"], rounds
    # the files stop one at a time; the German values all at once, one line per column
    assert rounds[:-1] == [
        ['customers.csv:2: the bytes are not valid utf-8 (byte 0xfc); if the export is cp1252, '
         'set encoding = "cp1252" under [input.customers]'],
        ["customers.csv:1: header: missing required column(s) 'customer_id', 'name' (found "
         "'customer_id;name;address;country;language'); the header looks ';'-separated: "
         'set delimiter = ";" under [input.customers]'],
        ["open_items.csv:1: header: missing required column(s) 'doc_id', 'customer_id', 'currency', "
         "'open_amount' (found 'doc_id;customer_id;doc_date;due_date;currency;amount;open_amount;"
         "dunning_level'); the header looks ';'-separated: set delimiter = \";\" under [input.open_items]"],
        ["open_items.csv:2: amount: '1.250,00' is not a plain decimal amount (digits, one decimal point, "
         "at most 2 decimals, at most 16 integer digits) (and 3 more rows like it: rows 3, 4, 5); "
         "the file's amounts have decimal commas: set decimal_comma = true under [input.open_items]",
         "open_items.csv:2: doc_date: '01.10.2026' is not a date in the format %Y-%m-%d (and 3 more rows "
         "like it: rows 3, 4, 5); the file's dates read as %d.%m.%Y: set date_format = \"%d.%m.%Y\" "
         "under [input.open_items]",
         "open_items.csv:2: due_date: '31.10.2026' is not a date in the format %Y-%m-%d (and 3 more rows "
         "like it: rows 3, 4, 5); the file's dates read as %d.%m.%Y: set date_format = \"%d.%m.%Y\" "
         "under [input.open_items]",
         "open_items.csv:2: open_amount: '1.250,00' is not a plain decimal amount (digits, one decimal "
         "point, at most 2 decimals, at most 16 integer digits) (and 3 more rows like it: rows 3, 4, 5); "
         "the file's amounts have decimal commas: set decimal_comma = true under [input.open_items]"],
    ]
    assert settings == {"customers": {"encoding": '"cp1252"', "delimiter": '";"'},
                        "open_items": {"delimiter": '";"', "decimal_comma": "true", "date_format": '"%d.%m.%Y"'}}


def test_the_settings_read_the_german_amounts_and_dates_exactly(tmp_path):
    """With the settings the hints named, the run reads 1.250,00 as 1250.00 and 13.10.2026 as a date."""
    for name in ("open_items.csv", "customers.csv", "config.toml"):
        shutil.copy(HINTS / name, tmp_path / name)
    base = (tmp_path / "config.toml").read_text(encoding="utf-8")
    (tmp_path / "config.toml").write_text(with_settings(base, {
        "customers": {"encoding": '"cp1252"', "delimiter": '";"'},
        "open_items": {"delimiter": '";"', "decimal_comma": "true", "date_format": '"%d.%m.%Y"'}}), encoding="utf-8")
    proc = cli(tmp_path, "run", "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
               "customers.csv", "--as-of", AS_OF, "--out", "out", "--no-pdf")
    assert proc.returncode == 0, proc.stderr
    decided = {r["doc_id"]: r for r in pq.read_table(tmp_path / "out" / "decisions.parquet").to_pylist()}
    assert {d: str(r["open_amount"]) for d, r in decided.items()} == {
        "RE-1001": "1250.00", "RE-1002": "12.50", "RE-1003": "480.00", "RE-1004": "75.00"}
    # due 31.10.2026, 02.10.2026: 24 and 53 days past due on 2026-11-24; 12.11. and 19.11. are not yet 7
    assert {d: r["days_past_due"] for d, r in decided.items()} == {
        "RE-1001": 24, "RE-1002": 12, "RE-1003": 53, "RE-1004": 5}


# ------------------------------------------------------------------ one line per kind


def test_like_problems_of_a_column_are_one_line_with_count_and_rows(tmp_path):
    """Five amounts that do not parse, each different: one line, the first value as the example."""
    rows = [f"INV-{n},K1,2026-10-01,2026-10-15,EUR,,{value}" for n, value in
            enumerate(["12.345", "abc", "1e3", "12.5.0", "x1"], start=1)]
    folder(tmp_path, "\n".join([ITEMS_HEADER, *rows]) + "\n")
    code, lines = validate(tmp_path)
    assert code == 2
    assert lines == ["open_items.csv:2: open_amount: '12.345' is not a plain decimal amount (digits, one decimal "
                     "point, at most 2 decimals, at most 16 integer digits) (and 4 more rows like it: rows 3, 4, "
                     "5, ...)"]


def test_two_kinds_in_one_column_are_two_lines(tmp_path):
    """An empty open amount and one that does not parse are different fixes: two lines."""
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,,2026-10-15,EUR,,\nINV-2,K1,,2026-10-15,EUR,,abc\n"
                     f"INV-3,K1,,2026-10-15,EUR,,\n")
    code, lines = validate(tmp_path)
    assert code == 2
    assert lines == ["open_items.csv:2: open_amount: is empty; every item needs its open amount "
                     "(and 1 more row like it: row 4)",
                     "open_items.csv:3: open_amount: 'abc' is not a plain decimal amount (digits, one decimal "
                     "point, at most 2 decimals, at most 16 integer digits)"]


def test_an_echoed_value_shows_a_terminal_escape_as_text(tmp_path):
    """A value holding ESC [ 2 J (clear screen) is echoed as \\x1b[2J, never sent to the terminal."""
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,,2026-10-15,EUR,,\x1b[2J12\n")
    code, lines = validate(tmp_path)
    assert code == 2
    assert lines == ["open_items.csv:2: open_amount: '\\x1b[2J12' is not a plain decimal amount (digits, one "
                     "decimal point, at most 2 decimals, at most 16 integer digits)"]


# ------------------------------------------------------------------ the hints, only when the values show them


def test_day_first_dates_with_slashes_get_the_format_that_reads_them(tmp_path):
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,24/09/2026,08/10/2026,EUR,,100.00\n"
                     f"INV-2,K1,,31/10/2026,EUR,,50.00\n")
    code, lines = validate(tmp_path)
    assert code == 2
    assert lines == [
        "open_items.csv:2: doc_date: '24/09/2026' is not a date in the format %Y-%m-%d; the file's dates read "
        "as %d/%m/%Y: set date_format = \"%d/%m/%Y\" under [input.open_items]",
        "open_items.csv:2: due_date: '08/10/2026' is not a date in the format %Y-%m-%d (and 1 more row like it: "
        "row 3); the file's dates read as %d/%m/%Y: set date_format = \"%d/%m/%Y\" under [input.open_items]"]


def test_no_date_hint_when_no_one_format_reads_every_date_of_the_file(tmp_path):
    """doc_date is ISO, due_date day-first: no one date_format reads both, so none is offered."""
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,2026-09-24,24.10.2026,EUR,,100.00\n")
    code, lines = validate(tmp_path)
    assert code == 2
    assert lines == ["open_items.csv:2: due_date: '24.10.2026' is not a date in the format %Y-%m-%d"]


def test_no_decimal_comma_hint_for_values_no_separator_reads(tmp_path):
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,,2026-10-15,EUR,,\"12,50\"\nINV-2,K1,,2026-10-15,EUR,,1e3\n")
    code, lines = validate(tmp_path)
    assert code == 2
    assert all("decimal_comma" not in line for line in lines), lines


def test_decimal_points_in_a_file_set_to_decimal_comma_get_the_opposite_hint(tmp_path):
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,,2026-10-15,EUR,,12.50\nINV-2,K1,,2026-10-15,EUR,,7.25\n")
    config = tmp_path / "config.toml"
    config.write_text(with_settings(config.read_text(encoding="utf-8"), {"open_items": {"decimal_comma": "true"}}),
                      encoding="utf-8")
    code, lines = validate(tmp_path)
    assert code == 2
    assert lines == ["open_items.csv:2: open_amount: '12.50' is not a plain decimal amount (digits, one decimal "
                     "comma, at most 2 decimals, at most 16 integer digits) (and 1 more row like it: row 3); "
                     "the file's amounts have decimal points: set decimal_comma = false under [input.open_items]"]


def test_a_utf16_file_is_named_and_the_setting_it_names_reads_it(tmp_path):
    """With a byte order mark: encoding = "utf-16"; that setting then reads the file."""
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,,2026-10-15,EUR,,100.00\n", encoding="utf-16")
    assert (tmp_path / "open_items.csv").read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    code, lines = validate(tmp_path)
    assert (code, lines) == (2, ['open_items.csv: the file is UTF-16 (it starts with a UTF-16 byte order mark), '
                                 'not utf-8; set encoding = "utf-16" under [input.open_items]'])
    config = tmp_path / "config.toml"
    config.write_text(with_settings(config.read_text(encoding="utf-8"), {"open_items": {"encoding": '"utf-16"'}}),
                      encoding="utf-8")
    assert validate(tmp_path) == (0, ["valid: no problems found"])


@pytest.mark.parametrize("first_bytes, said", [
    (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP file (an .xlsx workbook is one): export the sheet as CSV"),
    (b"PAR1\x15\x04\x15\x80", "a Parquet file: give it a name ending in .parquet"),
    (b"%PDF-1.7\n%\xe2\xe3", "a PDF: give the CSV or Parquet export instead"),
    (b"\x89\xe9\x00\x00\x01\xff\xfa\x00", "binary data (it holds NUL bytes and bytes that are not utf-8): give "
                                         "the CSV or Parquet export")])
def test_a_file_that_is_no_text_is_named_for_what_it_is_not_for_an_encoding(tmp_path, first_bytes, said):
    """A workbook or Parquet file named .csv got "if the export is cp1252, set encoding", which
    only leads to garbled columns."""
    folder(tmp_path, "")
    (tmp_path / "open_items.csv").write_bytes(first_bytes + bytes(range(256)) * 4)
    assert validate(tmp_path) == (2, [f"open_items.csv: is not a text file but {said}"])


def test_a_utf16_file_without_byte_order_mark_gets_its_byte_order(tmp_path):
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,,2026-10-15,EUR,,100.00\n", encoding="utf-16-be")
    code, lines = validate(tmp_path)
    assert (code, lines) == (2, ['open_items.csv: the file is UTF-16 (every second byte is NUL), not utf-8; '
                                 'set encoding = "utf-16-be" under [input.open_items]'])
    config = tmp_path / "config.toml"
    config.write_text(with_settings(config.read_text(encoding="utf-8"),
                                    {"open_items": {"encoding": '"utf-16-be"'}}), encoding="utf-8")
    assert validate(tmp_path) == (0, ["valid: no problems found"])


def test_cr_only_line_ends_are_named_with_how_to_convert(tmp_path):
    folder(tmp_path, f"{ITEMS_HEADER}\rINV-1,K1,,2026-10-15,EUR,,100.00\r")
    code, lines = validate(tmp_path)
    assert (code, lines) == (2, [
        "open_items.csv: the lines end with a carriage return only (CR, the line end of classic Mac OS), which "
        "the reader does not take; convert the line ends to LF or CRLF, e.g. with "
        "`tr '\\r' '\\n' < open_items.csv > converted.csv`, or save the file again as CSV"])


# ------------------------------------------------------------------ tabs and spaces around values


def test_tabs_and_spaces_around_ids_codes_amounts_and_dates_are_trimmed(tmp_path):
    """A spreadsheet's copy and paste pads values with tabs: they read as the values inside."""
    folder(tmp_path, f"{ITEMS_HEADER}\n\tINV-1\t,K1\t, 2026-09-01\t,\t2026-10-01 ,\tEUR\t,\t100.00,\t 60.00\t\n")
    assert validate(tmp_path) == (0, ["valid: no problems found"])
    proc = cli(tmp_path, "run", "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
               "customers.csv", "--as-of", AS_OF, "--out", "out", "--no-pdf")
    assert proc.returncode == 0, proc.stderr
    [row] = pq.read_table(tmp_path / "out" / "decisions.parquet").to_pylist()
    assert (row["doc_id"], row["customer_id"], row["currency"], str(row["open_amount"]), row["days_past_due"]) == (
        "INV-1", "K1", "EUR", "60.00", 54)


def test_a_tab_inside_an_id_is_still_a_problem(tmp_path):
    folder(tmp_path, f"{ITEMS_HEADER}\nINV\t1,K1,,2026-10-15,EUR,,100.00\n")
    code, lines = validate(tmp_path)
    assert (code, lines) == (2, ["open_items.csv:2: doc_id: 'INV\\t1' holds the control character U+0009; "
                                 "remove it from the export"])


def test_a_parquet_export_gets_the_hint_for_its_text_columns_only(tmp_path):
    """Typed Parquet dates read whatever date_format says; a text amount column still gets its hint."""
    import datetime as dt

    import pyarrow as pa
    folder(tmp_path, ITEMS_HEADER + "\n")
    pq.write_table(pa.table({"doc_id": ["INV-1", "INV-2"], "customer_id": ["K1", "K2"],
                             "due_date": [dt.date(2026, 10, 1), dt.date(2026, 10, 2)],
                             "currency": ["EUR", "EUR"], "open_amount": ["1.250,00", "12,50"]}),
                   tmp_path / "open_items.parquet")
    code, lines = validate(tmp_path, items="open_items.parquet")
    assert (code, lines) == (2, [
        "open_items.parquet:1: open_amount: '1.250,00' is not a plain decimal amount (digits, one decimal point, "
        "at most 2 decimals, at most 16 integer digits) (and 1 more row like it: row 2); the file's amounts have "
        "decimal commas: set decimal_comma = true under [input.open_items]"])


def test_an_id_padded_with_a_tab_is_in_its_customers_shard():
    """A distributed run shards the raw rows: 'K1' and '\\tK1 ' must land in one shard."""
    from dunning_batch import pipeline, sql_runner
    con = sql_runner.connect()
    try:
        pipeline.define_macros(con)
        same = con.execute("SELECT list(shard_of(chr(9) || id || ' ', 7) = shard_of(id, 7)) "
                           "FROM (SELECT 'K' || range AS id FROM range(50))").fetchone()[0]
    finally:
        con.close()
    assert all(same)


def test_a_null_word_padded_with_a_tab_is_still_a_null_word(tmp_path):
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1,K1,,2026-10-15,EUR,\tn/a,100.00\n")
    code, lines = validate(tmp_path)
    assert (code, lines) == (2, ["open_items.csv:2: amount: 'n/a' is not a value; leave the field empty for none"])


def test_a_flood_of_day_first_dates_is_one_line_per_column(tmp_path):
    """1,500 rows of dd.mm.yyyy dates: one line per date column, the count written as people read it."""
    rows = [f"INV-{n},K1,01.09.2026,{1 + n % 28:02d}.10.2026,EUR,,10.00" for n in range(1500)]
    folder(tmp_path, "\n".join([ITEMS_HEADER, *rows]) + "\n")
    code, lines = validate(tmp_path)
    assert (code, lines) == (2, [
        "open_items.csv:2: doc_date: '01.09.2026' is not a date in the format %Y-%m-%d (and 1,499 more rows like "
        "it: rows 3, 4, 5, ...); the file's dates read as %d.%m.%Y: set date_format = \"%d.%m.%Y\" under "
        "[input.open_items]",
        "open_items.csv:2: due_date: '01.10.2026' is not a date in the format %Y-%m-%d (and 1,499 more rows like "
        "it: rows 3, 4, 5, ...); the file's dates read as %d.%m.%Y: set date_format = \"%d.%m.%Y\" under "
        "[input.open_items]"])


def test_no_break_spaces_around_values_are_trimmed_as_before(tmp_path):
    """Trimming tabs keeps trimming every space character (U+00A0 from a spreadsheet's cells)."""
    folder(tmp_path, f"{ITEMS_HEADER}\nINV-1\u00a0,\u00a0K1,,2026-10-01\u00a0,EUR,,\u00a0\t60.00\u00a0\n")
    assert validate(tmp_path) == (0, ["valid: no problems found"])
