"""Per-stage tests in the style of SQLMesh's unit tests: for every stage file sql/NN_name.sql,
tests/stages/NN_name.toml gives typed input relations and the rows the stage must make; the
stage runs ALONE on those tables (with the macros of sql/00_macros.sql and the parameters of
the case), and its rows are compared with the expected ones, ignoring order.

The format of a case is described in tests/stage_cases.py. A stage file without a case fails
here, and so does a case whose stage file is gone (a renamed stage).
"""

from __future__ import annotations

import pytest

from dunning_batch import pipeline
from stage_cases import CASES, load_case, run_case

# Stages with no case of their own, and why.
EXEMPT = {
    # computed in Python (addresses.py), not a file of sql/; tests/test_delivery.py and the
    # bad-input corpus judge its addresses, 11_customer_problems.toml takes its rows as input
    "04_address_checks": "a Python stage",
}
SQL_STAGES = [s for s in pipeline.STAGES if s not in pipeline.PYTHON_STAGES]


def test_every_stage_file_has_a_case():
    missing = [s for s in pipeline.STAGES if s not in EXEMPT and not (CASES / f"{s}.toml").is_file()]
    assert not missing, f"stage(s) without a case in tests/stages/: {missing}; add NN_name.toml or list in EXEMPT"


def test_every_case_names_a_stage():
    orphans = sorted(p.stem for p in CASES.glob("*.toml") if p.stem not in SQL_STAGES)
    assert not orphans, f"case(s) for no stage file of sql/: {orphans} (renamed stage?)"


def test_the_stage_list_is_the_file_names_in_order():
    assert list(pipeline.STAGES) == sorted(pipeline.STAGES)
    assert len({s[:2] for s in pipeline.STAGES}) == len(pipeline.STAGES), "two stages share a number"
    assert pipeline.INPUT_STAGES + pipeline.REJECTION_STAGES + pipeline.DECISION_STAGES == pipeline.STAGES
    assert pipeline.REJECTION_STAGES == ("20_rejected",)
    assert pipeline.PROBLEM_STAGES[-1] == "19_problems"


@pytest.mark.parametrize("stage", [s for s in SQL_STAGES if (CASES / f"{s}.toml").is_file()])
def test_stage(stage):
    want, got, columns = run_case(stage, load_case(stage))
    missing, extra = want - got, got - want
    assert not missing and not extra, (
        f"{stage} ({', '.join(columns)}):\n  expected but not made: {sorted(map(repr, missing))}"
        f"\n  made but not expected: {sorted(map(repr, extra))}")


# Queries of sql/ledger/ the run reads the ledger with (README "Running every night"), each
# with a case in tests/stages/ledger/ of the same form.
LEDGER_CASES = sorted(p.stem for p in (CASES / "ledger").glob("*.toml"))


@pytest.mark.parametrize("query", LEDGER_CASES)
def test_ledger_query(query):
    want, got, columns = run_case(f"ledger/{query}", load_case(f"ledger/{query}"), query=True)
    missing, extra = want - got, got - want
    assert not missing and not extra, (
        f"ledger/{query} ({', '.join(columns)}):\n  expected but not made: {sorted(map(repr, missing))}"
        f"\n  made but not expected: {sorted(map(repr, extra))}")


def test_the_ledger_queries_that_decide_have_cases():
    assert {"counted_letters", "item_state", "export_lag", "item_overrides"} <= set(LEDGER_CASES)
