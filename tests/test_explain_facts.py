"""`explain` only formats: every fact it cites is a column of item_details, made by the stage
whose rule it is (SPEC §4.2-§4.6, §9.3, §9.6), so a rule changed in SQL changes the story.

Run date AS_OF = 2026-11-24; SPEC_CONFIG's levels are > 7 / > 21 / > 45 days past due, the
policy is sequential with min_amount EUR 5.00; level 2 and 3 charge interest (act/365).
"""

from __future__ import annotations

import ast
import json
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import AS_OF, customer, days_before, item, with_config

from dunning_batch import sql_runner
from dunning_batch.checks.explain import explain

ROOT = Path(__file__).resolve().parent.parent
SPACING_RULE = "greatest(lt.days_past_due - lc.days_past_due, t.min_days_between_letters)"


def min_days(n: int) -> str:
    return with_config({"min_days_between_letters = 0": f"min_days_between_letters = {n}"})


def details(outcome) -> dict[str, dict]:
    return {r["doc_id"]: r for r in outcome._rows("SELECT * FROM item_details")}


# ------------------------------------------------------------------------- the spacing rule

@pytest.mark.parametrize("gap, needed, reason, verdict", [
    (0, 14, "advanced", "Met."),           # max(21 - 7, 0) = 14 <= 16 days since the last letter
    (20, 20, "too_soon", "Too soon"),      # max(21 - 7, 20) = 20 > 16
])
def test_the_spacing_the_stage_asked_is_in_item_details_and_explain_says_it(scenario, gap, needed, reason, verdict):
    items = [item("INV-1", 30, "500.00", dunning_level=1, last_dunned_on=days_before(16))]
    outcome = scenario.run(items, config=min_days(gap))
    assert outcome.reason("INV-1") == reason
    row = details(outcome)["INV-1"]
    assert (row["threshold_level"], row["threshold_days_past_due"], row["level_before_days_past_due"],
            row["min_days_between_letters"], row["spacing_days_needed"], row["days_since_last_letter"]) == (
        2, 21, 7, gap, needed, 16)
    text = explain(outcome.out, "INV-1")
    assert (f"the last letter was on {days_before(16)}, " in text
            and f"level 1 -> 2 needs {needed} days: max(21 - 7, min_days_between_letters {gap}) = {needed}. "
                f"{verdict}" in text), text


def test_a_spacing_rule_changed_in_sql_alone_changes_explains_story(scenario, monkeypatch):
    """30_advance's rule replaced by another (the levels' distance plus the minimum gap): the
    decision and explain's figures both follow the SQL, with no Python changed."""
    original = sql_runner.sql_text

    def changed(name: str) -> str:
        text = original(name)
        if name == "30_advance":
            assert SPACING_RULE in text
            return text.replace(SPACING_RULE, "lt.days_past_due - lc.days_past_due + t.min_days_between_letters")
        return text

    monkeypatch.setattr(sql_runner, "sql_text", changed)
    items = [item("INV-1", 30, "500.00", dunning_level=1, last_dunned_on=days_before(16))]
    outcome = scenario.run(items, config=min_days(5))   # greatest(14, 5) = 14 would be met
    assert outcome.reason("INV-1") == "too_soon"         # 14 + 5 = 19 > 16
    text = explain(outcome.out, "INV-1")
    assert "only 16 days ago; level 1 -> 2 needs 19 days" in text and "= 19. Too soon" in text, text
    assert details(outcome)["INV-1"]["spacing_days_needed"] == 19


# ----------------------------------------------------------------------- the other facts

PRE_DUE = with_config({"min_amount = { EUR = 5.00 }": "min_amount = { EUR = 5.00 }\npre_due_days = 5"})
ITEMS = [
    # C1: one level-2 letter with interest; the fee earns none; INV-SEQ is capped at one level
    item("INV-2", 30, "500.00", dunning_level=1), item("FEE-1", 30, "5.00", doc_type="fee", dunning_level=1),
    item("INV-SEQ", 50, "80.00"), item("INV-LOW", 5, "20.00"),
    # C2: final (F-LAST at level 3, the last), so all its items are excluded
    item("F-LAST", 60, "300.00", customer_id="C2", dunning_level=3), item("F-OTHER", 10, "40.00", customer_id="C2"),
    # C3 in its own grace; G-ITEM in the item's grace (tested first)
    item("G-ITEM", 10, "40.00", customer_id="C3", grace_until=AS_OF.isoformat()), item("G-CUST", 10, "40.00", customer_id="C3"),
    # C4: a letter of 4.00 is below the minimum 5.00
    item("SMALL", 10, "4.00", customer_id="C4"),
    # C5: no dunning letter, so a courtesy notice for an item due in 3 days
    item("SOON", -3, "70.00", customer_id="C5"),
]
CUSTOMERS = [customer("C1"), customer("C2"), customer("C3", grace_until="2026-12-31"), customer("C4"), customer("C5")]


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    from conftest import Scenario
    outcome = Scenario(tmp_path_factory.mktemp("facts")).run(ITEMS, CUSTOMERS, config=PRE_DUE)
    return outcome, details(outcome)


@pytest.mark.parametrize("doc_id, columns, sentence", [
    ("F-OTHER", {"final_doc_id": "F-LAST", "final_level": 3},
     "F-LAST is at level 3, the last level of policy standard"),
    ("G-ITEM", {"grace_of": "item"}, "The item is in grace until 2026-11-24"),
    ("G-CUST", {"grace_of": "customer"}, "Customer C3 is in grace until 2026-12-31"),
    ("INV-LOW", {"threshold_level": 1, "threshold_days_past_due": 7, "reached_level": None},
     "5 days past due does not exceed level 1's threshold of 7 days (policy standard)"),
    ("INV-SEQ", {"sequential": True, "threshold_level": 1, "threshold_days_past_due": 7, "reached_level": 3,
                 "reached_days_past_due": 45},
     "Policy standard is sequential: an item advances one level per run, although 50 days also exceeds "
     "level 3's threshold of 45 days."),
    ("INV-2", {"letter_charges_interest": True, "interest_basis": "act/365", "interest_eligible": True},
     "8 % a year (act/365) for 30 days"),
    ("FEE-1", {"letter_charges_interest": True, "interest_eligible": False},
     "interest is charged on overdue invoices, debit memos and refunds only"),
    ("SMALL", {"min_amount": Decimal("5.00"), "min_percent": None, "pre_due_days": None},
     "overdue total 4.00 EUR is below policy standard's minimum of 5.00 EUR"),
    ("SOON", {"pre_due_days": 5, "min_amount": Decimal("5.00")},
     "policy standard sends a notice up to 5 days before the due date"),
])
def test_each_fact_is_a_column_of_item_details_and_explain_cites_it(facts, doc_id, columns, sentence):
    outcome, rows = facts
    assert {k: rows[doc_id][k] for k in columns} == columns
    text = explain(outcome.out, doc_id)
    assert sentence in text, text


def test_explain_needs_no_policies_in_run_json(facts, tmp_path):
    """The folder's files answer, not run.json's record of the policies (which is to go):
    emptied, explain says the same."""
    outcome, _ = facts
    before = {doc: explain(outcome.out, doc) for doc in ("INV-2", "INV-SEQ", "SMALL", "SOON", "F-OTHER")}
    manifest_path = outcome.out / "run.json"
    saved = manifest_path.read_text(encoding="utf-8")
    try:
        manifest = json.loads(saved)
        manifest["policies"] = {}
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
        assert {doc: explain(outcome.out, doc) for doc in before} == before
    finally:
        manifest_path.write_text(saved, encoding="utf-8")


# ---------------------------------------------------------------- no rule in explain's Python

@pytest.mark.parametrize("module", ["explain.py", "wording.py"])
def test_explain_and_its_words_hold_no_rule_and_no_policy_lookup(module):
    tree = ast.parse((ROOT / "dunning_batch" / "checks" / module).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value == "policies":
            found.append(f"line {node.lineno}: reads 'policies' (run.json's policies)")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "SELECT" in node.value.upper().split():
            found.append(f"line {node.lineno}: SQL text (it belongs in sql/explain/)")
        if isinstance(node, (ast.Name, ast.alias)):
            name = node.id if isinstance(node, ast.Name) else (node.asname or node.name)
            if name in ("RAISING_TYPES", "INTEREST_TYPES", "LOWERING_TYPES", "DOC_TYPES"):
                found.append(f"line {node.lineno}: names {name} (a doc-type rule)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("max", "min"):
            found.append(f"line {node.lineno}: {node.func.id}() (a rule worked out in Python)")
        if isinstance(node, ast.Attribute) and node.attr in ("connect", "policies", "levels", "timedelta"):
            found.append(f"line {node.lineno}: .{node.attr}")
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for imported in modules:
            # dates are printed as the folder holds them; the policies are not looked up
            if imported.split(".")[0] == "datetime" or "config" in imported.split("."):
                found.append(f"line {node.lineno}: imports {imported}")
    assert found == []



def test_a_folder_written_before_the_facts_is_one_sentence(scenario, tmp_path):
    """A folder of an earlier version (item_details without the facts) is named as such, exit 2."""
    import duckdb
    from click.testing import CliRunner

    from dunning_batch.cli import main

    outcome = scenario.run([item("INV-1", 30, "500.00")])
    details_file = Path(outcome.out) / "item_details.parquet"
    older = tmp_path / "older.parquet"
    con = duckdb.connect()
    con.execute("COPY (SELECT * EXCLUDE (spacing_days_needed) FROM read_parquet($f)) TO '" + str(older) + "'",
                {"f": str(details_file)})
    older.replace(details_file)
    result = CliRunner().invoke(main, ["explain", str(outcome.out), "INV-1"])
    assert result.exit_code == 2, result.output
    assert "lacks the facts explain reads" in result.output and "Traceback" not in result.output
