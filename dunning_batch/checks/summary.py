"""summary.html: one offline page with what an AR manager acts on after a night's run.

The headline figures; totals per currency and per policy and level whose parts add up to
the total due (sql/views/letter_amounts.sql); the final notices and credit holds with links
to their PDFs; letters per channel; amounts per exclusion reason in words; bar charts as
inline SVG. `write_summary(folder)` runs the queries of sql/summary/ on the folder's own
views (letters, decisions, rejected and the analyst views), so it works on any finished folder and inside a run
before run.json exists. Python lays the charts out (every coordinate);
templates/summary.html.j2 only formats, and escapes every text (autoescape). Links are
relative (pdf/LETTER_ID.pdf), so the folder can be moved. No JavaScript, no external
resources, no clock: a rerun writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..letters.templating import TEMPLATES_DIR
from ..outputs.folder import connect_views, run_views
from ..outputs.layout import OutputFile
from ..sql_runner import records
from .wording import CHANNELS, reason_words

TEMPLATE = "summary.html.j2"

# chart geometry, in SVG user units (pixels)
LABEL_WIDTH = 190
BAR_SPACE = 330
VALUE_WIDTH = 200
ROW_HEIGHT = 22
BAR_HEIGHT = 15
TOP = 6

# The parts of total due (sql/views/letter_amounts.sql): each row's parts add up to its total_due.
PARTS = ("overdue_total", "credit_total", "fees", "interest_in_total", "compensation_total", "notice_total")
ASIDE = ("interest_not_in_total", "current_not_in_total")  # shown on the letters, not demanded
# The letters an AR manager acts on tonight: final notices and credit holds (SPEC §4.9), the
# largest amounts first; at most FINAL_ROWS per currency on the page (a big night's rest is
# in letters.parquet and customer_actions.csv).
FINAL_ROWS = 500
# The relations of the folder the queries of sql/summary/ and the analyst views read (a run
# shows just these as their files will: outputs.folder.run_views).
RELATIONS = ("customer_actions", "decisions", "letters", "recipients", "rejected")


@dataclass(frozen=True)
class Bar:
    label: str
    value: str  # the figure printed beside the bar
    y: int  # top of the bar
    text_y: int  # baseline of the label and the figure
    width: int
    value_x: int
    negative: bool


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    label_x: int
    bar_x: int
    bar_height: int
    bars: list[Bar]


def write_summary(folder: str | Path, run_date: dt.date | None = None, ledger: dict | None = None,
                  run: duckdb.DuckDBPyConnection | None = None, files: tuple[OutputFile, ...] = ()) -> Path:
    """Write `folder`/summary.html from the folder's outputs; returns its path. `ledger` is
    what the run took from its ledger (run.json's "ledger"), read from run.json when not given.
    A run writing the folder gives its connection (`run`) and the data files it wrote there
    (`files`): the queries read its relations as those files show them (outputs.folder.run_views
    of RELATIONS), the same rows, instead of views over the files just written."""
    folder = Path(folder)
    con = run_views(run, files, RELATIONS) if run is not None else connect_views(folder)
    page = _page(con, folder, run_date) | {"ledger": ledger if ledger is not None else _manifest(folder).get("ledger")}
    html = _environment().get_template(TEMPLATE).render(**page)
    path = folder / "summary.html"
    path.write_text(html, encoding="utf-8")
    return path


def _page(con: duckdb.DuckDBPyConnection, folder: Path, run_date: dt.date | None) -> dict[str, Any]:
    head = records(con, "summary/headline")[0]
    run_date = run_date or _run_date(folder) or head["run_date"]
    level_amounts = records(con, "summary/level_amounts")
    aging = records(con, "summary/aging")
    exclusions = records(con, "summary/exclusions")
    finals = records(con, "summary/finals", {"limit": FINAL_ROWS})
    channels = records(con, "summary/channels")
    currencies = sorted({r["currency"] for r in level_amounts} | {r["currency"] for r in aging})
    return {
        "run_date": run_date.isoformat() if run_date else "unknown",
        "items": _count(head["items"]), "customers": _count(head["customers"]),
        "letters": _count(head["letters"]), "rejected": _count(head["rejected"]),
        "outcomes": [{"outcome": r["outcome"], "count": _count(r["items"])}
                     for r in records(con, "summary/outcomes")],
        "totals": [_figures(r) for r in records(con, "summary/totals")],
        "by_level": [_figures(r) for r in records(con, "summary/by_level")],
        "finals": [{"letter_id": r["letter_id"], "href": r["pdf_path"], "customer_id": r["customer_id"],
                    "customer_name": r["customer_name"], "currency": r["currency"], "level": r["level"],
                    "template": r["template"], "is_final": r["is_final"], "total_due": _amount(r["total_due"]),
                    "credit_hold": r["credit_hold"], "payment_term": r["payment_term"]} for r in finals],
        "finals_all": _count(finals[0]["of_all"] if finals else 0),
        "finals_more": _count(finals[0]["of_all"] - len(finals) if finals else 0),
        "finals_per_currency": _count(FINAL_ROWS),
        "exclusions": [{"reason": r["reason"], "words": reason_words(r["reason"]), "count": _count(r["items"]),
                        "amounts": [{"currency": a["currency"], "count": _count(a["items"]),
                                     "open_amount": _amount(a["open_amount"])} for a in r["amounts"]]}
                       for r in exclusions],
        "channels": [{"channel": r["channel"], "words": CHANNELS.get(r["channel"], r["channel"]),
                      "count": _count(r["letters"]),
                      "amounts": [{"currency": a["currency"], "count": _count(a["letters"]),
                                   "total_due": _amount(a["total_due"])} for a in r["amounts"]]}
                     for r in channels],
        # the emails and the printer's batch exist when the run rendered PDFs (SPEC §10.2, §10.3)
        "rendered": bool(head["pdfs"]),
        "printed": any(r["channel"] in ("print", "both") for r in channels),
        "letters_chart": _chart("Letters per level",
                                [(f"level {r['level']}", r["letters"], _count(r["letters"]))
                                 for r in records(con, "summary/levels")]),
        "amount_charts": [
            _chart(f"Total due per level, {currency}",
                   [(f"level {r['level']}", r["total_due"],
                     f"{_amount(r['total_due'])} {currency} ({_plural(r['letters'], 'letter')})")
                    for r in level_amounts if r["currency"] == currency])
            for currency in currencies if any(r["currency"] == currency for r in level_amounts)],
        "aging_charts": [
            _chart(f"Aging of open items, {currency}",
                   [(r["bucket"] if r["bucket"] == "current" else f"{r['bucket']} days",
                     r["open_amount"], f"{_amount(r['open_amount'])} {currency} ({_plural(r['items'], 'item')})")
                    for r in aging if r["currency"] == currency])
            for currency in currencies if any(r["currency"] == currency for r in aging)],
        "exclusions_chart": _chart("Items excluded, by reason",
                                   [(r["reason"], r["items"], f"{_count(r['items'])} ({', '.join(r['per_currency'])})")
                                    for r in exclusions]),
    }


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    """A row of letter amounts: its labels, its parts of total due, the total, and what is aside."""
    return {"labels": {k: v for k, v in row.items() if k not in PARTS + ASIDE + ("total_due",)},
            "parts": [_amount(row[k]) for k in PARTS], "total_due": _amount(row["total_due"]),
            "aside": [_amount(row[k]) for k in ASIDE]}


def _chart(title: str, rows: list[tuple[str, Any, str]]) -> Chart:
    """Horizontal bars, one per (label, value, figure), scaled to the largest absolute value."""
    largest = max((abs(value or 0) for _, value, _ in rows), default=0)
    bars = []
    for i, (label, value, figure) in enumerate(rows):
        width = int(round(abs(value or 0) / largest * BAR_SPACE)) if largest else 0
        y = TOP + i * ROW_HEIGHT
        bars.append(Bar(label=label, value=figure, y=y, text_y=y + BAR_HEIGHT - 3, width=max(width, 1),
                        value_x=LABEL_WIDTH + max(width, 1) + 6, negative=(value or 0) < 0))
    return Chart(title=title, width=LABEL_WIDTH + BAR_SPACE + VALUE_WIDTH,
                 height=TOP * 2 + max(len(rows), 1) * ROW_HEIGHT, label_x=LABEL_WIDTH - 8,
                 bar_x=LABEL_WIDTH, bar_height=BAR_HEIGHT, bars=bars)


def _run_date(folder: Path) -> dt.date | None:
    """The run date from run.json when the folder has one (also when no letter went out)."""
    as_of = _manifest(folder).get("as_of")
    return dt.date.fromisoformat(as_of) if as_of else None


def _manifest(folder: Path) -> dict[str, Any]:
    """run.json, when the folder has one yet (a run writes the summary before it)."""
    path = folder / "run.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _amount(value: Decimal | None) -> str:
    return format(value or Decimal("0.00"), ",f")


def _count(value: int | None) -> str:
    return f"{value or 0:,}"


def _plural(value: int, noun: str) -> str:
    return f"{_count(value)} {noun}" + ("" if value == 1 else "s")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                       keep_trailing_newline=True)
