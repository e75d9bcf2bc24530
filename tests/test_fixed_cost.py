"""A small run's fixed cost (issue 20): what was made cheaper still gives the same bytes.

- sql/00_macros.sql's padding() is one literal instead of 17 chr() calls joined (binding them
  at every blank() was half the planning of the parse stages): the same characters.
- A run's summary.html reads the run's own relations as its files show them
  (outputs.folder.run_views) instead of views over the files it has just written: the page
  is byte for byte the one `write_summary(folder)` makes from the finished folder, with the
  money rules of SPEC §9 on (the demo with its payments) and off; just the relations its
  queries read (summary.RELATIONS).
- A problem stage whose input relation is empty (16_payment_problems without a payments
  export) is made from sql/problems/none.sql without planning its SQL: the same columns.
- Opening a folder reads a CSV's header with Python's csv module: a damaged CSV is still one
  sentence (DuckDB reads what Python cannot, as before).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import unicodedata
from pathlib import Path

import duckdb
import pytest

from conftest import AS_OF, customer, item

from dunning_batch.checks.summary import RELATIONS, write_summary
from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES, DEMO_PAYMENTS
from dunning_batch.errors import UserError
from dunning_batch.outputs.folder import connect_views
from dunning_batch.outputs.layout import OUTPUT_FILES
from dunning_batch.pipeline import NO_PROBLEMS, ROWS_FROM, STAGES, define_macros, relation, run_stage
from dunning_batch.run import run
from dunning_batch.session import RunOptions, Session, open_inputs
from dunning_batch.sql_runner import count_rows, select_types, table_from_file

SPACES = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs"}


def test_padding_is_the_tab_and_every_unicode_space_character():
    con = duckdb.connect()
    define_macros(con)
    [(padding,)] = con.execute("SELECT padding()").fetchall()
    assert len(padding) == 18 and set(padding) == {"\t"} | SPACES
    # blank() trims them all around a value, and keeps them inside it
    value = "\u3000\t\u00a0A\u2007B\u202f \u1680"
    [(trimmed,)] = con.execute("SELECT blank($v)", {"v": value}).fetchall()
    assert trimmed == "A\u2007B"


def same_summary_from_the_folder(out, tmp_path) -> bytes:
    """summary.html of the run, after checking that the finished folder's files make the same page."""
    written = (out / "summary.html").read_bytes()
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "summary.html").unlink()
    assert write_summary(copy).read_bytes() == written
    return written


def test_the_demo_summary_is_the_summary_of_its_folder(tmp_path):
    """Every money rule of SPEC §9 on: the run's relations hold the §9 columns the files hold."""
    out = tmp_path / "demo"
    run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, out, rates=DEMO_RATES, payments=DEMO_PAYMENTS, pdf=False)
    page = same_summary_from_the_folder(out, tmp_path).decode("utf-8")
    assert DEMO_AS_OF.isoformat() in page and "compensation" in page.lower()


def test_a_small_summary_without_money_rules_is_the_summary_of_its_folder(scenario, tmp_path):
    """No §9 key: the files lack the §9 columns and documents, which their views show NULL and
    empty, while the run's relations hold them. A row set aside, a name a spreadsheet would run."""
    items = [item("D1", 30, "120.00"), item("D2", 50, "80.00", customer_id="C2"), item("D3", 40, "=1+1")]
    outcome = scenario.run(items, [customer("C1"), customer("C2", name="=HYPERLINK(1)")], strict=False)
    page = same_summary_from_the_folder(outcome.out, tmp_path).decode("utf-8")
    assert len(outcome.letters) == 2
    assert '<div class="n">2</div><div class="what">items decided</div>' in page
    assert '<div class="n">1</div><div class="what">rejected rows</div>' in page


@pytest.mark.parametrize("stage", sorted(ROWS_FROM))
def test_a_problem_stage_with_no_input_row_is_made_in_the_columns_of_its_own_sql(scenario, stage):
    """pipeline.ROWS_FROM: in a run whose input relation is empty (no payments export), the
    stage's own SQL finds nothing either, and sql/problems/none.sql makes the very columns
    and types it makes."""
    config, items, customers = scenario.files([item("D1", 30)])
    session = Session(RunOptions(config, items, customers, AS_OF, pdf=False))
    open_inputs(session)
    con = session.con
    for earlier in STAGES[:STAGES.index(stage)]:
        run_stage(con, earlier, session.params, session.log)
    assert count_rows(con, ROWS_FROM[stage]) == 0
    assert table_from_file(con, "own_sql", stage, session.params) == 0
    assert table_from_file(con, "stand_in", NO_PROBLEMS) == 0
    assert describe(con, "own_sql") == describe(con, "stand_in")
    assert run_stage(con, stage, session.params, session.log) == 0
    assert describe(con, relation(stage)) == describe(con, "own_sql")


def describe(con, name: str) -> list[tuple[str, str]]:
    return select_types(con, "*", name)


def test_a_run_without_payments_records_no_payment_problem(scenario):
    outcome = scenario.run([item("D1", 30)])
    manifest = json.loads((outcome.out / "run.json").read_text(encoding="utf-8"))
    assert manifest["stage_rows"]["16_payment_problems"] == 0 and "16_payment_problems" in manifest["timings_seconds"]


def test_the_summary_shows_every_relation_its_queries_read_as_its_file():
    """summary.RELATIONS: every relation of the folder's data files that a query of sql/summary/
    or an analyst view names, so that no query of a run's summary reads a relation as the run
    holds it rather than as its file shows it."""
    sql = Path(__file__).resolve().parent.parent / "sql"
    text = "\n".join(p.read_text(encoding="utf-8") for folder in ("summary", "views")
                     for p in sorted((sql / folder).glob("*.sql")))
    text = re.sub(r"--[^\n]*", "", text)  # the headers name relations they do not read
    named = {f.relation for f in OUTPUT_FILES if re.search(rf"\b{f.relation}\b", text)}
    assert named == set(RELATIONS)


@pytest.mark.parametrize("damage", [b"\xff\xfe\x00garbage\n", b""])
def test_a_damaged_csv_of_a_folder_is_still_one_sentence(scenario, tmp_path, damage):
    """outputs.folder reads a CSV's header with Python's csv module; a header that is no UTF-8
    CSV goes to DuckDB as before, and a damaged file is named in one sentence."""
    outcome = scenario.run([item("D1", 30)])
    (outcome.out / "customer_actions.csv").write_bytes(damage)
    with pytest.raises(UserError, match=r"customer_actions\.csv: cannot be read as the file a run writes"):
        connect_views(outcome.out)
