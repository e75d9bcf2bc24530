"""Fuzzing the command line with hostile exports (SPEC §2.3, §3.5, §7, §8).

(a) Random bytes as the open-items file or the customers file, bare or behind a valid
    header, strict or not: `run` ends with exit 0 or 2, never 3 (an internal error) and never
    a traceback. Exit 2 writes nothing; exit 0 writes a folder that `reconcile` passes.
(b) Well-formed but odd exports (unusual Unicode in ids and names, very long fields,
    whitespace around values, quoting, empty optional columns, leading zeros, '+' signs,
    SAP trailing minus with decimal_comma, other delimiters, CRLF, a BOM, dates within and
    now and then outside the plausible window, due dates before document dates, zero amounts,
    many items per customer), strict and not:
    exit 0 or 2; on exit 0 `reconcile OUT --open-items FILE` passes; on exit 2 every line
    names one of the input files.
(c) Hostile text (issue 15) in every text field of customers and open items: control
    characters, terminal escapes, line separators, bidi overrides, and email addresses a mail
    parser reads differently (encoded words, comments, domain literals): exit 2 with each
    problem's file, row and column, or a clean run that reconciles; no control character is
    printed raw.

(c) Parquet open items whose date columns are DATEs, TIMESTAMPs with or without a time zone
    or text, with dates from year 1 to 9999 at any time of day: exit 0 or 2, never 3; a
    column with a time zone is refused by name.
(d) Amounts, rates, fees and dates at their limits together: exit 0 or 2, never an overflow.

Amounts go up to DECIMAL(18,2)'s largest: what a letter could reach beyond it (with interest
and fees) is an input problem (exit 2), not an overflow. Rendering is off (--no-pdf); tests/test_letters.py renders odd Unicode.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning_batch.cli import main
from dunning_batch.config import OPEN_ITEM_COLUMNS
from dunning_batch.terminal import printable

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
AS_OF = dt.date(2026, 11, 24)


def fuzz(examples: int) -> settings:
    """Hypothesis settings: `examples` in the suite (the file stays under a minute);
    FUZZ_EXAMPLES=500 pytest tests/test_fuzz.py hunts longer."""
    return settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", examples)), deadline=None,
                    print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


ITEMS_HEADER = ",".join(OPEN_ITEM_COLUMNS).encode() + b"\n"
CUSTOMERS_HEADER = b"customer_id,name,address,country,language\n"


# ---------------------------------------------------------------------------- running


@dataclass
class Run:
    result: Result
    out: Path
    folder: Path
    items: Path
    customers: Path


def run_cli(folder: Path, config: str, items: bytes, customers: bytes, strict: bool,
            items_name: str = "open_items.csv", customers_name: str = "customers.csv") -> Run:
    config_path = folder / "config.toml"
    config_path.write_text(config, encoding="utf-8")
    items_path, customers_path = folder / items_name, folder / customers_name
    items_path.write_bytes(items)
    customers_path.write_bytes(customers)
    out = folder / "out"
    args = ["run", "--config", str(config_path), "--open-items", str(items_path),
            "--customers", str(customers_path), "--as-of", AS_OF.isoformat(), "--out", str(out), "--no-pdf"]
    result = CliRunner().invoke(main, args + ([] if strict else ["--no-strict"]))
    return Run(result, out, folder, items_path, customers_path)


def check(run: Run, *, with_export: bool) -> None:
    """Exit 0 or 2, no traceback; 2 writes nothing and names a file; 0 reconciles."""
    result = run.result
    assert result.exit_code in (0, 2), f"exit {result.exit_code}:\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    if result.exit_code == 2:
        assert not run.out.exists()
        assert not list(run.folder.glob(".out.*")), "a hidden partial or spill folder was left"
        lines = result.stderr.splitlines()
        assert lines, "exit 2 without a word"
        named = (str(run.items), str(run.customers), "... and ")
        assert all(line.startswith(named) for line in lines), f"a line names no input file:\n{result.stderr}"
        return
    assert (run.out / "run.json").is_file()
    assert not list(run.folder.glob(".out.*")), "a hidden partial or spill folder was left"
    args = ["reconcile", str(run.out)] + (["--open-items", str(run.items)] if with_export else [])
    reconciled = CliRunner().invoke(main, args)
    assert reconciled.exit_code == 0, reconciled.output
    assert reconciled.output.splitlines()[-1] == "all checks passed", reconciled.output


def base_config() -> str:
    return (CORPUS / "config.toml").read_text(encoding="utf-8")


# ------------------------------------------------------------------------ (a) random bytes

CSV_BYTES = st.lists(st.sampled_from(
    [b",", b";", b'"', b'""', b"\n", b"\r\n", b"\r", b"\t", b" ", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xfc",
     b"\xc3\xbc", b"\xe2\x82\xac", b"INV-1", b"C1", b"C2", b"EUR", b"JPY", b"invoice", b"credit_memo",
     b"2026-10-01", b"2026-02-30", b"1900-01-01", b"100.00", b"-5.00", b"0", b"1", b"3", b"NULL", b"1e5",
     b"99999999999999999.99", b"1000.00"]), max_size=60).map(b"".join)

RANDOM_EXPORT = st.one_of(
    st.binary(max_size=600),
    st.tuples(st.just(ITEMS_HEADER), st.binary(max_size=400)).map(b"".join),
    CSV_BYTES,
    st.tuples(st.just(ITEMS_HEADER), CSV_BYTES).map(b"".join),
)
RANDOM_CUSTOMERS = st.one_of(
    st.binary(max_size=600),
    st.tuples(st.just(CUSTOMERS_HEADER), st.binary(max_size=400)).map(b"".join),
    st.tuples(st.just(CUSTOMERS_HEADER), CSV_BYTES).map(b"".join),
)


@fuzz(50)
@given(data=RANDOM_EXPORT, strict=st.booleans())
def test_random_bytes_as_open_items(data: bytes, strict: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run = run_cli(Path(folder), base_config(), data, (CORPUS / "customers.csv").read_bytes(), strict)
        check(run, with_export=False)


@fuzz(40)
@given(data=RANDOM_CUSTOMERS, strict=st.booleans())
def test_random_bytes_as_customers(data: bytes, strict: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run = run_cli(Path(folder), base_config(), (CORPUS / "open_items.csv").read_bytes(), data, strict)
        check(run, with_export=False)


# -------------------------------------------------------- (b) well-formed but odd exports

# Printable text from every plane a name might use: accents, Greek, Cyrillic, CJK, RTL
# scripts, combining marks, emoji, zero-width joiners; no control characters, no surrogates.
ODD_TEXT = st.text(st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs"),
                                 include_characters="\u200d\u200f\u202e\ufeff"), min_size=1, max_size=12)
WHITESPACE = st.sampled_from(["", "", " ", "  ", "\u00a0"])  # Excel likes the no-break space


@st.composite
def padded(draw, value: str) -> str:
    return draw(WHITESPACE) + value + draw(WHITESPACE)


@st.composite
def odd_id(draw, prefix: str) -> str:
    """An id that is unusual but a real id: leading zeros, Unicode, long, punctuation."""
    kind = draw(st.sampled_from(["plain", "zeros", "unicode", "long"]))
    if kind == "plain":
        return f"{prefix}{draw(st.integers(0, 10**6))}"
    if kind == "zeros":
        return "0" * draw(st.integers(1, 6)) + str(draw(st.integers(0, 999)))
    if kind == "unicode":
        return prefix + draw(ODD_TEXT)
    return prefix + "x" * draw(st.integers(100, 999))  # text the tool reads is at most 1,000 characters


@st.composite
def amount_text(draw, cents: int, decimal_comma: bool) -> str:
    """Exact text of `cents` as an ERP might write it: signs, leading zeros, groups, SAP minus."""
    sign, units, rest = ("-" if cents < 0 else ""), abs(cents) // 100, abs(cents) % 100
    decimals = draw(st.sampled_from(["two", "short", "padded"]))
    point = "," if decimal_comma else "."
    if decimals == "short" and rest % 10 == 0:
        fraction = "" if rest == 0 else f"{point}{rest // 10}"
    elif decimals == "padded":
        fraction = f"{point}{rest:02d}0"  # trailing zero beyond the minor unit: still 2 decimals
    else:
        fraction = f"{point}{rest:02d}"
    digits = str(units)
    style = draw(st.sampled_from(["plain", "zeros", "grouped"]))
    if style == "zeros":
        digits = "0" * draw(st.integers(1, 3)) + digits
    elif style == "grouped" and units >= 1000:
        digits = f"{units:,}".replace(",", "." if decimal_comma else ",")
    if sign == "-" and decimal_comma and draw(st.booleans()):
        return digits + fraction + "-"  # SAP writes 150,00-
    if sign == "" and draw(st.booleans()):
        sign = "+"
    return sign + digits + fraction


# The words sql/00_macros.sql's is_null_word refuses as values: a real name or branch is none of them.
NULL_WORDS = {"NULL", "N/A", "NA", "#N/A", "NAN", "NONE", "NIL", "-", "INF", "-INF", "INFINITY", "#VALUE!",
              "UNDEFINED"}


def is_value(text: str) -> bool:
    return bool(text.strip()) and text.strip().upper() not in NULL_WORDS


NAMES = st.one_of(
    ODD_TEXT,
    st.text(st.characters(codec="utf-8", categories=("L", "Zs", "P")), min_size=500, max_size=1000),
    st.just('Smith, "Jones" & Co\nLtd'),
    st.just("=HYPERLINK(\"http://example.invalid\")"),
).filter(is_value)

# Mostly dates within [run] plausible_years (20) of the run date, its edges included; now and
# then one far outside it (a year typed 0206 or 2206), which is an input problem (exit 2).
WINDOW = (dt.date(2006, 11, 24), dt.date(2046, 11, 24))
DATES = st.one_of(st.dates(*WINDOW), st.dates(*WINDOW), st.dates(*WINDOW),
                  st.sampled_from([*WINDOW, dt.date(2024, 2, 29)]),
                  st.integers(-40, 120).map(lambda days: AS_OF - dt.timedelta(days=days)),
                  st.integers(-40, 120).map(lambda days: AS_OF - dt.timedelta(days=days)),
                  st.sampled_from([dt.date(206, 10, 30), dt.date(2206, 10, 30), dt.date(1900, 1, 1),
                                   dt.date(2006, 11, 23), dt.date(2046, 11, 25)]))
RAISING = ("invoice", "debit_memo", "fee", "refund")
LOWERING = ("credit_memo", "payment", "prepayment")


@st.composite
def odd_exports(draw):
    """(config text, open-items bytes, customers bytes) of a well-formed but unusual export."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal_comma = draw(st.booleans()) if delimiter != "," else False
    date_format = draw(st.sampled_from(["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.booleans())

    customer_ids = draw(st.lists(odd_id("C"), min_size=1, max_size=4, unique_by=str.strip))
    customers = []
    for cid in customer_ids:
        customers.append({
            "customer_id": draw(padded(cid)),
            "name": draw(NAMES),
            "address": draw(st.sampled_from(["", "1 High St\nLondon", "Königstraße 5\r\n80331 München", "北京市"])),
            "country": draw(st.sampled_from(["", "DE", "gb", "PL"])),
            "language": draw(st.sampled_from(["", "en", "de", "fr", "pl", "ja"])),
        })
    known = [c["customer_id"].strip() for c in customers]

    count = draw(st.integers(1, 40))
    doc_ids = draw(st.lists(odd_id("D"), min_size=count, max_size=count, unique_by=str.strip))
    items = []
    for doc_id in doc_ids:
        doc_type = draw(st.sampled_from(RAISING + LOWERING))
        cents = draw(st.one_of(st.integers(0, 10**14), st.integers(0, 10**18 - 1)))
        cents = -cents if doc_type in LOWERING else cents
        level = draw(st.integers(0, 3))
        items.append({
            "doc_id": draw(padded(doc_id)),
            "customer_id": draw(padded(draw(st.sampled_from(known)))),
            "doc_type": draw(st.sampled_from([doc_type, doc_type.upper(), doc_type.title(), f" {doc_type} "]))
                        if doc_type != "invoice" else draw(st.sampled_from(["invoice", "INVOICE", ""])),
            "doc_date": draw(st.one_of(st.just(""), DATES.map(lambda d: d.strftime(date_format)))),
            "due_date": draw(DATES).strftime(date_format),
            "currency": draw(st.sampled_from(["EUR", "eur", " EUR "])),
            "amount": draw(st.one_of(st.just(""), amount_text(cents, decimal_comma))),
            "open_amount": draw(padded(draw(amount_text(cents, decimal_comma)))),
            "dunning_level": draw(st.sampled_from(["", str(level), f"0{level}", f"+{level}"]))
                             if doc_type in RAISING else draw(st.sampled_from(["", "0"])),
            "last_dunned_on": draw(st.one_of(st.just(""), DATES.map(lambda d: d.strftime(date_format)))),
            "blocked": draw(st.sampled_from(["", "", "false", "X", "no", "N", "0"])),
            "disputed": draw(st.sampled_from(["", "", "false", "nein", "f"])),
            "grace_until": draw(st.sampled_from(["", "", "", dt.date(2026, 12, 1).strftime(date_format)])),
            "branch": draw(st.one_of(st.just(""), ODD_TEXT.filter(is_value))),
        })

    def encode(rows: list[dict], columns: tuple[str, ...]) -> bytes:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=list(columns), delimiter=delimiter, quoting=quoting,
                                lineterminator=newline)
        writer.writeheader()
        writer.writerows(rows)
        return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")

    settings_text = "".join(
        f"\n[input.{role}]\ndelimiter = {json_string(delimiter)}\ndecimal_comma = {str(decimal_comma).lower()}\n"
        f"date_format = {json_string(date_format)}\n" for role in ("open_items", "customers"))
    grouping = draw(st.sampled_from(["customer", "customer_level", "document"]))
    config = base_config().replace('grouping = "customer"', f'grouping = "{grouping}"') + settings_text
    return config, encode(items, OPEN_ITEM_COLUMNS), encode(customers, ("customer_id", "name", "address",
                                                                         "country", "language"))


def json_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


@fuzz(25)
@given(export=odd_exports(), strict=st.booleans())
def test_odd_but_well_formed_exports(export: tuple[str, bytes, bytes], strict: bool) -> None:
    config, items, customers = export
    with tempfile.TemporaryDirectory() as folder:
        run = run_cli(Path(folder), config, items, customers, strict)
        check(run, with_export=True)


# ------------------------------------------ (c) hostile text in every text field (issue 15)

# Characters that read one way here and another there: C0/C1 controls (VT, FS, NEL, NUL,
# DEL, CSI), terminal escape sequences, line and paragraph separators, line breaks, tabs,
# bidi overrides and invisible characters.
HOSTILE_TEXT = ["\x0b", "\x1c", "\x85", "\x00", "\x7f", "\x9b", "\x1b[31m", "\x1b]0;owned\x07", "\u2028",
                "\u2029", "\t", "\r", "\n", "\r\n", "\u202e", "\u2066", "\ufeff", "\u200b"]
# Addresses a mail parser reads differently from a plain check: encoded words, comments,
# domain literals, quoting, display names, lists, IDNA that maps, and some good ones.
HOSTILE_EMAILS = ["=?utf-8?q?ap=40x.de=2C_evil=40attacker.example=2C_x?=@x.de", "finance@evil.example(.real.pl)",
                  "info@[127.0.0.1].real.de", '"a,b"@x.de', "A <a@x.de>", "a@x.de, b@y.de", "a@faß.de",
                  "a@müller.de", "a@x.de;", "a@b@c.de", "ü@x.de", "a@-x.de", "a\\@x.de", "ok@example.com",
                  "ok@example.com; b@example.org"]
CUSTOMER_TEXT = ("customer_id", "name", "address", "country", "language", "email", "customer_class", "policy",
                 "delivery", "postal_code")
ITEM_TEXT = ("doc_id", "customer_id", "doc_type", "currency", "branch")


@st.composite
def spiked(draw, value: str) -> str:
    """`value` as it is, or with hostile characters at its start, middle or end."""
    if draw(st.integers(0, 2)) == 0:
        return value
    spike = "".join(draw(st.lists(st.sampled_from(HOSTILE_TEXT), min_size=1, max_size=3)))
    at = draw(st.sampled_from([0, len(value) // 2, len(value)]))
    return value[:at] + spike + value[at:]


@st.composite
def hostile_exports(draw):
    """(open-items bytes, customers bytes) with hostile text in any text field of either file."""
    count = draw(st.integers(1, 4))
    customers, items = [], []
    for n in range(1, count + 1):
        row = {"customer_id": f"C{n}", "name": f"Customer {n}", "address": "1 High St\nLondon", "country": "GB",
               "language": "en", "email": draw(st.sampled_from(HOSTILE_EMAILS + [""])), "customer_class": "B2B",
               "policy": "", "delivery": draw(st.sampled_from(["", "email", "print", "both"])),
               "postal_code": "SW1A 1AA"}
        for column in draw(st.lists(st.sampled_from(CUSTOMER_TEXT), max_size=3, unique=True)):
            row[column] = draw(spiked(row[column]))
        customers.append(row)
        item = {"doc_id": f"INV-{n}", "customer_id": f"C{n}", "doc_type": "invoice", "currency": "EUR",
                "due_date": (AS_OF - dt.timedelta(days=30)).isoformat(), "open_amount": "100.00",
                "dunning_level": "0", "branch": "North"}
        for column in draw(st.lists(st.sampled_from(ITEM_TEXT), max_size=2, unique=True)):
            item[column] = draw(spiked(item[column]))
        items.append(item)

    def encode(rows: list[dict], columns: tuple[str, ...]) -> bytes:
        buffer = io.StringIO(newline="")
        # CRLF line ends: the writer then quotes every field holding a CR or an LF (RFC 4180)
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")

    return encode(items, OPEN_ITEM_COLUMNS), encode(customers, CUSTOMER_TEXT)


ROW_PROBLEM = re.compile(r".+:\d+: [a-z_]+: .+|\.\.\. and \d+ more problem\(s\)")


@fuzz(40)
@given(export=hostile_exports(), strict=st.booleans())
def test_hostile_text_in_every_field_is_refused_by_row_or_runs_clean(export: tuple[bytes, bytes],
                                                                       strict: bool) -> None:
    """Exit 2 naming the file, row and column of each problem, or a clean run that reconciles;
    never exit 3, and no control character reaches the terminal."""
    items, customers = export
    with tempfile.TemporaryDirectory() as folder:
        run = run_cli(Path(folder), base_config(), items, customers, strict)
        check(run, with_export=True)
        for line in run.result.output.splitlines():
            assert printable(line) == line, f"a control character reached the terminal: {line!r}"
        if run.result.exit_code == 2:
            unnamed = [line for line in run.result.stderr.splitlines() if not ROW_PROBLEM.fullmatch(line)]
            assert not unnamed, f"problems that name no row and column: {unnamed}"


# ------------------------------------------------- (c) Parquet exports with odd date columns

DATE_KINDS = ("date32", "timestamp", "timestamp_utc", "timestamp_ms_berlin", "string")


@st.composite
def parquet_items(draw):
    """(open-items Parquet bytes, the kind of its date columns): dates anywhere from year 1 to
    9999 (mostly near the run date), at any time of day, typed as DATE, as TIMESTAMP with or
    without a time zone, or as text."""
    kind = draw(st.sampled_from(DATE_KINDS))
    count = draw(st.integers(1, 12))
    near = st.integers(-400, 400).map(lambda days: AS_OF - dt.timedelta(days=days))
    any_day = st.one_of(near, near, st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
                        st.sampled_from([dt.date(206, 10, 30), dt.date(9999, 12, 31), dt.date(1, 1, 1)]))
    times = st.times()

    def column(days: list[dt.date]) -> pa.Array:
        stamps = [dt.datetime.combine(d, draw(times)) for d in days]
        if kind == "date32":
            return pa.array(days, pa.date32())
        if kind == "timestamp":
            return pa.array(stamps, pa.timestamp("us"))
        if kind == "timestamp_utc":
            return pa.array([t.replace(tzinfo=dt.timezone.utc) for t in stamps], pa.timestamp("us", tz="UTC"))
        if kind == "timestamp_ms_berlin":
            return pa.array([t.replace(tzinfo=dt.timezone.utc) for t in stamps], pa.timestamp("ms", tz="Europe/Berlin"))
        return pa.array([d.isoformat() for d in days], pa.string())

    table = pa.table({
        "doc_id": [f"INV-{n}" for n in range(count)],
        "customer_id": draw(st.lists(st.sampled_from(["C1", "C2"]), min_size=count, max_size=count)),
        "doc_date": column(draw(st.lists(any_day, min_size=count, max_size=count))),
        "due_date": column(draw(st.lists(any_day, min_size=count, max_size=count))),
        "last_dunned_on": column(draw(st.lists(any_day, min_size=count, max_size=count))),
        "currency": ["EUR"] * count,
        "open_amount": pa.array([Decimal(draw(st.integers(0, 10**17 - 1))) / 100 for _ in range(count)],
                                pa.decimal128(18, 2)),
        "dunning_level": pa.array(draw(st.lists(st.integers(0, 3), min_size=count, max_size=count)), pa.int32()),
    })
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes(), kind


@fuzz(25)
@given(export=parquet_items(), strict=st.booleans())
def test_parquet_exports_with_odd_date_columns(export: tuple[bytes, str], strict: bool) -> None:
    """Exit 0 or 2, never 3; a column with a time zone is refused by name, whatever the dates."""
    data, kind = export
    with tempfile.TemporaryDirectory() as folder:
        run = run_cli(Path(folder), base_config(), data, (CORPUS / "customers.csv").read_bytes(), strict,
                      items_name="open_items.parquet")
        check(run, with_export=True)
        if kind in ("timestamp_utc", "timestamp_ms_berlin"):
            assert run.result.exit_code == 2
            assert run.result.stderr.splitlines()[0].startswith(
                f"{run.items}: doc_date: the column 'doc_date' is a TIMESTAMP WITH TIME ZONE"), run.result.stderr


# --------------------------------------- (d) amounts, rates and dates at their limits together

@st.composite
def money_at_the_limits(draw):
    """(config, open items, customers): amounts up to DECIMAL(18,2)'s largest, due dates up to the
    edge of the plausible window, rates up to 100 %, a percentage fee up to 100 %, interest up to
    the pay-by date ten years on, by act/360 or 30E/360."""
    config = base_config()
    config = config.replace('basis = "act/365"', f'basis = "{draw(st.sampled_from(["act/360", "30e/360"]))}"')
    config = config.replace('calculate_to = "letter_date"', 'calculate_to = "pay_by_date"')
    config = config.replace("fixed_rate = 8.0", f"fixed_rate = {draw(st.integers(0, 100))}")
    config = config.replace("days_to_settle = 7\n", f"days_to_settle = {draw(st.integers(0, 3650))}\n")
    config = config.replace("  fee = { EUR = 10.00, JPY = 1000 }\n", f"  fee_percent = {draw(st.integers(0, 100))}\n")
    big = st.one_of(st.integers(0, 10**18 - 1), st.integers(10**17, 10**18 - 1), st.just(10**18 - 1))
    count = draw(st.integers(1, 4))
    rows = ["doc_id,customer_id,due_date,currency,open_amount,dunning_level"]
    for n in range(count):
        days = draw(st.one_of(st.integers(0, 7305), st.just(7305), st.just(7306)))
        cents = draw(big)
        rows.append(f"INV-{n},C{draw(st.integers(1, 2))},{(AS_OF - dt.timedelta(days=days)).isoformat()},EUR,"
                    f"{cents // 100}.{cents % 100:02d},{draw(st.integers(0, 3))}")
    rate = draw(st.one_of(st.just(""), st.integers(0, 100).map(str), st.just("100.000000")))
    customers = f"customer_id,name,interest_rate\nC1,Alpha,{rate}\nC2,Beta,\n"
    return config, ("\n".join(rows) + "\n").encode(), customers.encode()


@fuzz(20)
@given(export=money_at_the_limits(), strict=st.booleans())
def test_money_at_its_limits_never_overflows(export: tuple[str, bytes, bytes], strict: bool) -> None:
    config, items, customers = export
    with tempfile.TemporaryDirectory() as folder:
        check(run_cli(Path(folder), config, items, customers, strict), with_export=True)
