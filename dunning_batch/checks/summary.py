"""summary.html: one offline page with what an AR manager acts on after a night's run.

The headline figures; totals per currency and per policy and level whose parts add up to
the total due (sql/views/letter_amounts.sql); the final notices and credit holds with links
to their PDFs; letters per channel; amounts per exclusion reason in words; bar charts as
inline SVG. `write_summary(folder)` reads the folder's own views (letters, decisions,
rejected and the analyst views), so it works on any finished folder and inside a run
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
from ..outputs.folder import connect_views
from .wording import CHANNELS, reason_words

TEMPLATE = "summary.html.j2"

# chart geometry, in SVG user units (pixels)
LABEL_WIDTH = 190
BAR_SPACE = 330
VALUE_WIDTH = 200
ROW_HEIGHT = 22
BAR_HEIGHT = 15
TOP = 6

HEADLINE_SQL = """
SELECT (SELECT count(*) FROM decisions) AS items,
       (SELECT count(DISTINCT customer_id) FROM decisions) AS customers,
       (SELECT count(*) FROM letters) AS letters,
       (SELECT count(*) FROM rejected) AS rejected,
       (SELECT max(run_date) FROM letters) AS run_date,
       (SELECT count(*) FILTER (WHERE pdf_path IS NOT NULL) FROM letters) AS pdfs
"""
# The parts of total due (sql/views/letter_amounts.sql): each row's parts add up to its total_due.
PARTS = ("overdue_total", "credit_total", "fees", "interest_in_total", "compensation_total", "notice_total")
ASIDE = ("interest_not_in_total", "current_not_in_total")  # shown on the letters, not demanded
TOTALS_SQL = """
SELECT currency, count(*) AS letters, sum(overdue_total) AS overdue_total, sum(credit_total) AS credit_total,
       sum(fee) AS fees, sum(interest_in_total) AS interest_in_total, sum(compensation_total) AS compensation_total,
       sum(notice_total) AS notice_total, sum(total_due) AS total_due,
       sum(interest_not_in_total) AS interest_not_in_total, sum(current_not_in_total) AS current_not_in_total
FROM letter_amounts GROUP BY currency ORDER BY currency
"""
BY_LEVEL_SQL = "SELECT * FROM letters_by_level ORDER BY currency, policy, level"
OUTCOMES_SQL = "SELECT outcome, count(*) AS items FROM decisions GROUP BY outcome ORDER BY outcome"
LEVELS_SQL = "SELECT level, sum(letters) AS letters FROM letters_by_level GROUP BY level ORDER BY level"
LEVEL_AMOUNTS_SQL = """
SELECT currency, level, sum(letters) AS letters, sum(total_due) AS total_due
FROM letters_by_level GROUP BY currency, level ORDER BY currency, level
"""
AGING_SQL = "SELECT currency, bucket, items, open_amount FROM aging_buckets ORDER BY currency, bucket_order"
EXCLUSIONS_SQL = """
SELECT reason, sum(items) AS items, list(currency || ' ' || items ORDER BY currency) AS per_currency,
       list(struct_pack(currency := currency, items := items, open_amount := open_amount) ORDER BY currency)
           AS amounts
FROM exclusions_by_reason GROUP BY reason ORDER BY items DESC, reason
"""
# The letters an AR manager acts on tonight: final notices and credit holds (SPEC §4.9), the
# largest amounts first; at most FINAL_ROWS per currency on the page (a big night's rest is
# in letters.parquet and customer_actions.csv).
FINAL_ROWS = 500
FINAL_SQL = """
WITH actions AS (
    SELECT letter_id, bool_or(action = 'credit_hold') AS credit_hold,
           min(value) FILTER (WHERE action = 'payment_term') AS payment_term
    FROM customer_actions GROUP BY letter_id
)
SELECT l.letter_id, l.customer_id, l.customer_name, l.currency, l.level, l.template, l.is_final,
       l.total_due, l.pdf_path, coalesce(a.credit_hold, false) AS credit_hold, a.payment_term,
       count(*) OVER () AS of_all
FROM letters AS l LEFT JOIN actions AS a USING (letter_id)
WHERE l.is_final OR a.credit_hold
QUALIFY row_number() OVER (PARTITION BY l.currency ORDER BY l.total_due DESC, l.letter_id) <= $limit
ORDER BY l.currency, l.total_due DESC, l.letter_id
"""
CHANNELS_SQL = """
WITH per_currency AS (
    SELECT r.delivery AS channel, l.currency, count(*) AS letters, sum(l.total_due) AS total_due
    FROM letters AS l JOIN recipients AS r USING (letter_id) GROUP BY ALL
)
SELECT channel, sum(letters) AS letters,
       list(struct_pack(currency := currency, letters := letters, total_due := total_due) ORDER BY currency)
           AS amounts
FROM per_currency GROUP BY channel
ORDER BY CASE channel WHEN 'email' THEN 1 WHEN 'print' THEN 2 WHEN 'both' THEN 3 ELSE 4 END, channel
"""


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


def write_summary(folder: str | Path, run_date: dt.date | None = None) -> Path:
    """Write `folder`/summary.html from the folder's outputs; returns its path."""
    folder = Path(folder)
    con = connect_views(folder)
    page = _page(con, folder, run_date)
    html = _environment().get_template(TEMPLATE).render(**page)
    path = folder / "summary.html"
    path.write_text(html, encoding="utf-8")
    return path


def _page(con: duckdb.DuckDBPyConnection, folder: Path, run_date: dt.date | None) -> dict[str, Any]:
    head = _rows(con, HEADLINE_SQL)[0]
    run_date = run_date or _run_date(folder) or head["run_date"]
    level_amounts = _rows(con, LEVEL_AMOUNTS_SQL)
    aging = _rows(con, AGING_SQL)
    exclusions = _rows(con, EXCLUSIONS_SQL)
    finals = _rows(con, FINAL_SQL, {"limit": FINAL_ROWS})
    channels = _rows(con, CHANNELS_SQL)
    currencies = sorted({r["currency"] for r in level_amounts} | {r["currency"] for r in aging})
    return {
        "run_date": run_date.isoformat() if run_date else "unknown",
        "items": _count(head["items"]), "customers": _count(head["customers"]),
        "letters": _count(head["letters"]), "rejected": _count(head["rejected"]),
        "outcomes": [{"outcome": r["outcome"], "count": _count(r["items"])} for r in _rows(con, OUTCOMES_SQL)],
        "totals": [_figures(r) for r in _rows(con, TOTALS_SQL)],
        "by_level": [_figures(r) for r in _rows(con, BY_LEVEL_SQL)],
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
                                 for r in _rows(con, LEVELS_SQL)]),
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
    path = folder / "run.json"
    if not path.is_file():
        return None
    return dt.date.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["as_of"])


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    result = con.execute(sql, params or {})
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


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
