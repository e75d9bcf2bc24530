"""The analyst and CI commands over an output folder: query, explain, diff, and summary.html.

All on the bundled demo (fixtures/demo/README.md says which customer shows which rule).
"""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from dunning_batch.checks.summary import write_summary
from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES, main
from dunning_batch.run import run

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "fixtures" / "demo" / "expected_decisions.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("checks") / "demo"
    run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, out, rates=DEMO_RATES, pdf=False)
    return out


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def letter_of(folder: Path, customer_id: str, currency: str) -> str:
    con = duckdb.connect()
    return con.execute("SELECT letter_id FROM read_parquet($path) WHERE customer_id = $c AND currency = $cur",
                       {"path": str(folder / "letters.parquet"), "c": customer_id, "cur": currency}).fetchone()[0]


# ---- query -----------------------------------------------------------------------------------

def test_query_prints_an_aligned_table_with_numbers_right_aligned(demo):
    result = invoke("query", demo, "SELECT level, count(*) AS letters, sum(total_due) AS total_due "
                                   "FROM letters GROUP BY level ORDER BY level")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "level  letters  total_due\n"
        "-----  -------  ---------\n"
        "    0        1     750.00\n"   # C036's courtesy notice (SPEC §9.6)
        "    1       11   24987.52\n"   # + C038's USD letter 2538.13 (SPEC §11.1)
        "    2       13   69392.02\n"   # + C031 4293.07, C032 649.22, C037 3486.19 (GBP)
        "    3        3   36109.88\n"   # + C033 25208.82, C034 6141.41
        "(4 rows)\n")


def test_query_table_left_aligns_text_and_prints_decimals_exactly(demo):
    result = invoke("query", demo, "SELECT customer_id, template, total_due, 0.10::DECIMAL(18,2) + 0.20 AS exact "
                                   "FROM letters WHERE customer_id IN ('C004', 'C021') ORDER BY customer_id")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "customer_id  template      total_due  exact\n"
        "-----------  ------------  ---------  -----\n"
        "C004         final_notice    4759.65   0.30\n"
        "C021         reminder           8.00   0.30\n"
        "(2 rows)\n")


def test_query_analyst_views_as_csv(demo):
    result = invoke("query", demo, "SELECT currency, bucket, items, open_amount FROM aging_buckets "
                                   "WHERE currency = 'PLN' ORDER BY bucket_order", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.output == ("currency,bucket,items,open_amount\n"
                             "PLN,current,8,11909.00\n"
                             "PLN,1-30,22,17588.99\n"
                             "PLN,31-60,6,17499.99\n")


def test_query_json_keeps_decimals_exact_and_dates_iso(demo):
    result = invoke("query", demo, "SELECT customer_id, level, total_due, pay_by, is_final FROM letters "
                                   "WHERE customer_id = 'C004'", "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"total_due": 4759.65' in result.output
    assert json.loads(result.output, parse_float=Decimal) == [
        {"customer_id": "C004", "level": 3, "total_due": Decimal("4759.65"), "pay_by": "2026-12-01",
         "is_final": True}]


def test_query_csv_to_a_file(demo, tmp_path):
    target = tmp_path / "levels.csv"
    result = invoke("query", demo, "SELECT * FROM letters_by_level", "--format", "csv", "--to", target)
    assert result.exit_code == 0, result.output
    lines = target.read_text().splitlines()
    assert lines[0] == ("policy,level,currency,letters,overdue_total,credit_total,fees,interest_in_total,"
                        "compensation_total,notice_total,total_due,interest_not_in_total,current_not_in_total")
    assert "standard,3,EUR,1,4695.00,0.00,10.00,54.65,0.00,0.00,4759.65,0.00,0.00" in lines
    assert "wrote 15 row(s)" in result.output  # the note goes to stderr, which CliRunner mixes in


def test_query_parquet_to_a_file_keeps_the_types(demo, tmp_path):
    target = tmp_path / "top.parquet"
    result = invoke("query", demo, "SELECT customer_id, currency, overdue_amount FROM top_customers",
                    "--format", "parquet", "--to", target)
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($p))",
                             {"p": str(target)}).fetchall())
    assert types["overdue_amount"].startswith("DECIMAL")
    first = con.execute("SELECT * FROM read_parquet($p) LIMIT 1", {"p": str(target)}).fetchone()
    assert first == ("C033", "EUR", Decimal("25000.00"))


def test_query_parquet_needs_a_file(demo):
    result = invoke("query", demo, "SELECT 1", "--format", "parquet")
    assert result.exit_code == 2
    assert result.output.strip() == "--format parquet writes a binary file: name it with --to FILE"


def test_bad_sql_is_one_line_with_duckdbs_message(demo):
    result = invoke("query", demo, "SELECT * FROM lettrs")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("query failed: Catalog Error: Table with name lettrs does not exist")
    assert "Traceback" not in result.output


def test_query_refuses_a_folder_that_is_no_run(tmp_path):
    result = invoke("query", tmp_path, "SELECT 1")
    assert result.exit_code == 2
    assert "not an output folder" in result.output


def test_query_never_writes_into_the_output_folder(demo):
    result = invoke("query", demo, "SELECT 1", "--format", "csv", "--to", demo / "letters.csv")
    assert result.exit_code == 2
    assert not (demo / "letters.csv").exists()


# ---- explain ---------------------------------------------------------------------------------

# What explain must say for the first item of each (outcome, reason) in expected_decisions.csv:
# the reason's key words and its figures, checked by hand against fixtures/demo/README.md.
EXPLANATIONS = {
    ("dunned", "advanced"): [  # DBM-40002, C022
        "Outcome: dunned (advanced), level 0 -> 1.",
        "9 days past due exceeds level 1's threshold of 7 days (policy standard)",
        "level 2 (second_reminder), pay by 2026-12-01, total due 8,674.25 EUR",
        "Interest on 310.00 EUR: 6.5 % a year (act/365) for 9 days, 2026-11-16 to 2026-11-24 = 0.50 EUR"],
    ("dunned", "piggyback"): [  # DBM-40001, C002 USD
        "5 days past due does not exceed level 1's threshold of 7 days",
        "rides in letter", "which INV-10009 triggered", "raised to level 1"],
    ("excluded", "below_level_threshold"): [  # INV-10048, consumer
        "10 days past due does not exceed level 1's threshold of 14 days (policy consumer)"],
    ("excluded", "below_min_amount"): [  # INV-10058, C018 PLN
        "overdue total 19.99 PLN is below policy standard's minimum of 20.00 PLN", "no letter went out"],
    ("excluded", "blocked"): ["The item is blocked for dunning (blocked = true)."],  # INV-10030
    ("excluded", "credit"): [  # CRN-20005, C016
        "lowers the balance", "no letter goes out for customer C016 in EUR"],
    ("excluded", "customer_blocked"): ["Customer C005 is blocked from dunning"],  # INV-10020
    ("excluded", "customer_final"): [  # INV-10026, C007
        "final reminder", "INV-10026 is at level 3, the last level of policy standard"],
    ("excluded", "customer_in_credit"): [  # CRN-20006, C020
        "customer is in credit", "overdue total 225.50 plus credits -300.00 is -74.50 EUR, not above zero"],
    ("excluded", "disputed"): ["The item is in dispute (disputed = true)"],  # INV-10034
    ("excluded", "in_grace"): ["in grace until 2026-11-24: the run date 2026-11-24 is not after it"],  # INV-10038
    ("excluded", "no_policy"): ["No dunning policy applies to customer C006"],  # INV-10023
    ("excluded", "not_due"): ["not yet due: due 2026-11-28, 4 days after the run date 2026-11-24"],  # INV-10055
    ("excluded", "too_soon"): [  # INV-10047, consumer
        "40 days past due exceeds level 2's threshold of 30 days",
        "the last letter was on 2026-11-09, only 15 days ago",
        "level 1 -> 2 needs 16 days: max(30 - 14, min_days_between_letters 14) = 16", "Too soon"],
    ("listed", "credit"): [  # CRN-20001, C001
        "listed as a credit in letter", "which INV-10001 and INV-10002 triggered",
        "total due 2,050.40 EUR"],
    ("listed", "current"): [  # INV-10004, C001
        "not yet due: due 2026-12-10, 16 days after the run date", "listed as a current (not yet due) item"],
    ("listed", "listed"): [  # INV-10007, C002 EUR
        "15 days past due does not exceed level 2's threshold of 21 days", "listed at its level 1 in letter",
        "Interest on 920.50 EUR: 8 % a year (act/365) for 15 days, 2026-11-10 to 2026-11-24 = 3.03 EUR"],
    ("excluded", "below_min_percent"): [  # INV-10206, C035 (SPEC §9.3)
        "overdue total 100.00 EUR is below policy de_b2b's min_percent of 10 % of the customer's open "
        "balance 2,600.00 EUR"],
    ("excluded", "beyond_level_range"): [  # INV-10216, C039 (SPEC §11.3)
        "90 days past due is beyond level 1's range (days_to = 60): it is not raised to level 1."],
    ("listed", "pre_due"): [  # INV-10208, C036 (SPEC §9.6)
        "goes into courtesy notice", "up to 5 days before the due date",
        "level 0 (pre_due), pay by 2026-11-27, total due 750.00 EUR"],
}


def first_item_per_reason() -> dict[tuple[str, str], str]:
    with EXPECTED.open(newline="") as handle:
        picks: dict[tuple[str, str], str] = {}
        for row in csv.DictReader(handle):
            picks.setdefault((row["outcome"], row["reason"]), row["doc_id"])
    return picks


def test_every_reason_of_the_demo_has_an_expected_explanation():
    assert set(first_item_per_reason()) == set(EXPLANATIONS)


@pytest.mark.parametrize("outcome_reason", sorted(EXPLANATIONS), ids="/".join)
def test_explain_names_the_reason_and_its_figures(demo, outcome_reason):
    doc_id = first_item_per_reason()[outcome_reason]
    result = invoke("explain", demo, doc_id)
    assert result.exit_code == 0, result.output
    outcome, reason = outcome_reason
    assert result.output.startswith(f"{doc_id}: ")
    assert f"Outcome: {outcome} ({reason})" in result.output
    for words in EXPLANATIONS[outcome_reason]:
        assert words in result.output, f"{doc_id}: {words!r} not in\n{result.output}"


def test_explain_the_spacing_rule_with_its_dates(demo):
    result = invoke("explain", demo, "INV-10006")  # level 1 -> 2, last letter 14 days ago, needs 21 - 7
    assert "25 days past due exceeds level 2's threshold of 21 days" in result.output
    assert ("the last letter was on 2026-11-10, 14 days ago; level 1 -> 2 needs 14 days: "
            "max(21 - 7, min_days_between_letters 0) = 14. Met.") in result.output
    letter = letter_of(demo, "C002", "EUR")
    assert f"Letter {letter}: level 2 (second_reminder), pay by 2026-12-01, total due 4,381.85 EUR." in result.output


def test_explain_a_sequential_policy_advances_one_level(demo):
    result = invoke("explain", demo, "INV-10009")  # 30 days past due, level 0: only level 1
    assert "30 days past due exceeds level 1's threshold of 7 days" in result.output
    assert "sequential" in result.output and "also exceeds level 2's threshold of 21 days" in result.output


def test_explain_a_customer_lists_each_item_by_doc_id(demo):
    with DEMO_ITEMS.open(newline="") as handle:
        doc_ids = sorted(r["doc_id"] for r in csv.DictReader(handle) if r["customer_id"] == "C001")
    with EXPECTED.open(newline="") as handle:
        expected = {r["doc_id"]: r for r in csv.DictReader(handle)}
    result = invoke("explain", demo, "--customer", "C001")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Customer C001: {len(doc_ids)} items in this run, 1 letter")
    paragraphs = result.output.split("\n\n")[1:]
    assert [p.split(":")[0] for p in paragraphs] == doc_ids
    for doc_id, paragraph in zip(doc_ids, paragraphs):
        assert f"Outcome: {expected[doc_id]['outcome']} ({expected[doc_id]['reason']})" in paragraph


@pytest.mark.parametrize("args, named", [(["NO-SUCH-DOC"], "item 'NO-SUCH-DOC'"),
                                         (["--customer", "C999"], "customer 'C999'")])
def test_explain_something_not_in_the_folder_is_exit_2_naming_it(demo, args, named):
    result = invoke("explain", demo, *args)
    assert result.exit_code == 2
    assert named in result.output and len(result.output.strip().splitlines()) == 1


def test_explain_needs_an_item_or_a_customer(demo):
    assert invoke("explain", demo).exit_code == 2
    assert invoke("explain", demo, "INV-10001", "--customer", "C001").exit_code == 2


# ---- diff ------------------------------------------------------------------------------------

def run_demo(tmp_path: Path, name: str, config: Path = DEMO_CONFIG, items: Path = DEMO_ITEMS) -> Path:
    out = tmp_path / name
    run(config, items, DEMO_CUSTOMERS, DEMO_AS_OF, out, rates=DEMO_RATES, pdf=False)
    return out


def test_diff_of_a_changed_threshold(demo, tmp_path):
    """standard's level 1 at > 10 days instead of > 7: C021's only item (10 days) no longer
    triggers, C018's PLN items no longer reach a (suppressed) letter, and level 1 -> 2 needs
    21 - 10 = 11 days, so C027 INV-10100 (last letter 12 days ago) advances."""
    config_dir = tmp_path / "config"
    shutil.copytree(DEMO_CONFIG.parent, config_dir)
    config = config_dir / DEMO_CONFIG.name
    text = config.read_text()
    assert text.count("days_past_due = 7\n") == 3   # standard's level 1 comes first; de_b2b, uk_b2b keep 7
    config.write_text(text.replace("days_past_due = 7\n", "days_past_due = 10\n", 1))
    changed = run_demo(tmp_path, "threshold-10", config=config)

    result = invoke("diff", demo, changed, "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["differ"] is True
    assert report["letters"]["added"] == [] and report["letters"]["changed"] == []
    [removed] = report["letters"]["removed"]
    assert (removed["letter_id"], removed["customer_id"], removed["level_a"], removed["total_due_a"]) == \
        (letter_of(demo, "C021", "EUR"), "C021", 1, "8.00")
    assert [(r["doc_id"], r["level_after_a"], r["level_after_b"]) for r in report["level_changes"]] == \
        [("INV-10064", 1, None), ("INV-10100", None, 2)]
    shifts = {f"{r['outcome']}/{r['reason']}": (r["items_a"], r["items_b"]) for r in report["reason_counts"]}
    # (de_b2b's, uk_b2b's and us_b2b's items add 8 advanced and 2 listed on both sides)
    assert shifts == {"dunned/advanced": (49, 44), "dunned/piggyback": (15, 20),
                      "excluded/below_level_threshold": (4, 7), "excluded/below_min_amount": (2, 0),
                      "listed/listed": (14, 13)}

    text_result = invoke("diff", demo, changed)
    assert text_result.exit_code == 1
    assert "letters: 0 added, 1 removed, 0 changed" in text_result.output
    assert "INV-10064 (C021): A 0 -> 1, B no level change" in text_result.output
    assert "INV-10100 (C027): A no level change, B 1 -> 2" in text_result.output
    assert "dunned/advanced" in text_result.output and "(-5)" in text_result.output


def test_diff_shows_a_changed_letter_with_its_lines(demo, tmp_path):
    """Without C001's INV-10003 (a piggyback of 310.40), C001's letter loses that line."""
    items = tmp_path / "open_items.csv"
    lines = DEMO_ITEMS.read_text().splitlines(keepends=True)
    items.write_text("".join(line for line in lines if not line.startswith("INV-10003,")))
    fewer = run_demo(tmp_path, "fewer", items=items)

    result = invoke("diff", demo, fewer, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    [changed] = report["letters"]["changed"]
    assert changed["letter_id"] == letter_of(demo, "C001", "EUR")
    assert (changed["total_due_a"], changed["total_due_b"]) == ("2050.40", "1740.00")
    assert (changed["lines_added"], changed["lines_removed"]) == ([], ["INV-10003"])
    assert [r["doc_id"] for r in report["level_changes"]] == ["INV-10003"]
    text = invoke("diff", demo, fewer).output
    assert "total due 2050.40 -> 1740.00; lines removed INV-10003" in text


def test_diff_of_identical_runs_is_exit_0(demo, tmp_path):
    again = run_demo(tmp_path, "again")
    result = invoke("diff", demo, again)
    assert result.exit_code == 0, result.output
    assert "no differences" in result.output
    assert json.loads(invoke("diff", demo, again, "--format", "json").output)["differ"] is False


def test_diff_of_a_folder_that_is_no_run_is_exit_2(demo, tmp_path):
    result = invoke("diff", demo, tmp_path)
    assert result.exit_code == 2
    assert "not an output folder" in result.output


# ---- summary.html ----------------------------------------------------------------------------

def test_summary_html_is_one_offline_page_with_svg_charts_and_the_totals(demo, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(demo, folder)
    path = write_summary(folder)
    assert path == folder / "summary.html"
    html = path.read_text(encoding="utf-8")
    assert "<svg" in html and "<rect" in html
    for total_due in ("82,305.04", "3,486.19", "23,859.28", "21,588.91"):  # totals per currency of run.json
        assert total_due in html
    for heading in ("Letters per level", "Total due per level, EUR", "Aging of open items, PLN",
                    "Items excluded, by reason"):
        assert heading in html
    assert "customer_final" in html and ">166<" in html  # exclusions and items decided
    assert "<script" not in html.lower()
    assert "http" not in html.lower()


# ---- help --------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["query", "explain", "diff"])
def test_every_check_command_has_help_with_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example: dunning-batch " + command in result.output
