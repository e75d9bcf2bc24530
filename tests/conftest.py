"""Shared test helpers: write a small config and exports, run the job, read the outputs back."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES, main
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
from dunning_batch.run import run

ROOT = Path(__file__).resolve().parent.parent

# The config of SPEC §3, trimmed to what the rules need: one default policy, three levels.
SPEC_CONFIG = """
[run]
grouping = "customer"
consolidate_branches = true
include_not_due = false
include_credits = false
include_disputed = false
default_language = "en"
strict = true

[sender]
name = "Example GmbH"
address = ["Hauptstr. 1", "10115 Berlin", "Germany"]
email = "ar@example.com"
iban = "DE89370400440532013000"
bic = "COBADEFFXXX"

[interest]
basis = "act/365"
calculate_to = "letter_date"
include_in_total = true
fixed_rate = 8.0
min_amount = { EUR = 1.00 }

[[policy]]
name = "standard"
default = true
customer_classes = ["B2B"]
sequential = true
min_days_between_letters = 0
min_amount = { EUR = 5.00 }

  [[policy.level]]
  days_past_due = 7
  days_to_settle = 10
  fee = { EUR = 0.00 }
  interest = false
  template = "reminder"

  [[policy.level]]
  days_past_due = 21
  days_to_settle = 7
  fee = { EUR = 5.00 }
  interest = true
  template = "second_reminder"

  [[policy.level]]
  days_past_due = 45
  days_to_settle = 7
  fee = { EUR = 10.00 }
  interest = true
  template = "final_notice"
  credit_hold = true
  payment_term = "IMMEDIATE"
"""

AS_OF = dt.date(2026, 11, 24)


def days_before(days: int, as_of: dt.date = AS_OF) -> str:
    """The ISO date `days` days before the run date: an item due then is `days` days past due."""
    return (as_of - dt.timedelta(days=days)).isoformat()


def write_csv(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def item(doc_id: str, days_past_due: int, open_amount: str = "100.00", **fields: Any) -> dict[str, Any]:
    """An open item of customer C1 in EUR, due `days_past_due` days before the run date."""
    row = {"doc_id": doc_id, "customer_id": "C1", "doc_type": "invoice", "currency": "EUR",
           "due_date": days_before(days_past_due), "open_amount": open_amount, "dunning_level": 0}
    row.update(fields)
    return row


def customer(customer_id: str = "C1", **fields: Any) -> dict[str, Any]:
    """A customer; with a postal address unless `fields` give one, since a letter for the post
    (the default channel without an email) needs one (SPEC §10.1)."""
    row = {"customer_id": customer_id, "name": f"Customer {customer_id}", "address": "1 Example Street\n10115 Berlin"}
    row.update(fields)
    return row


@dataclass
class Outcome:
    """A finished run's outputs, read back as plain Python values."""

    out: Path

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        con = duckdb.connect()
        con.execute(f"SET file_search_path = '{self.out}'")
        con.execute((self.out / "views.sql").read_text())
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        return [dict(zip(names, r)) for r in result.fetchall()]

    @property
    def decisions(self) -> dict[str, dict[str, Any]]:
        return {r["doc_id"]: r for r in self._rows("SELECT * FROM decisions")}

    @property
    def letters(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM letters ORDER BY letter_id")

    @property
    def lines(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM letter_lines ORDER BY letter_id, line_no")

    @property
    def levels_update(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM levels_update ORDER BY doc_id")

    @property
    def actions(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM customer_actions ORDER BY letter_id, action")

    @property
    def fees(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM fee_documents ORDER BY letter_id")

    @property
    def rejected(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM rejected ORDER BY source, row_number")

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out / "run.json").read_text())

    def reason(self, doc_id: str) -> str:
        return self.decisions[doc_id]["reason"]


class Scenario:
    """Writes exports and a config into a temporary folder and runs the job on them."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.runs = 0

    def files(self, items: list[dict], customers: list[dict] | None = None,
              config: str = SPEC_CONFIG) -> tuple[Path, Path, Path]:
        self.runs += 1
        folder = self.tmp_path / f"in{self.runs}"
        folder.mkdir()
        items_path = write_csv(folder / "open_items.csv", items, OPEN_ITEM_COLUMNS)
        customers_path = write_csv(folder / "customers.csv", customers or [customer()], CUSTOMER_COLUMNS)
        config_path = folder / "config.toml"
        config_path.write_text(config, encoding="utf-8")
        return config_path, items_path, customers_path

    def run(self, items: list[dict], customers: list[dict] | None = None, config: str = SPEC_CONFIG,
            as_of: dt.date = AS_OF, **options: Any) -> Outcome:
        config_path, items_path, customers_path = self.files(items, customers, config)
        out = self.tmp_path / f"out{self.runs}"
        options.setdefault("pdf", False)  # the rules need no letters rendered; tests/test_letters.py does
        run(config_path, items_path, customers_path, as_of, out, **options)
        return Outcome(out)


@pytest.fixture(scope="session", autouse=True)
def one_rendering_process():
    """A run in this process renders with this process alone unless the test asks for
    `workers`. On a multi-core machine the default starts a helper process with every run with
    PDFs (when DuckDB starts deciding), and the helper imports WeasyPrint: about a second of CPU,
    hundreds of times in the suite, for a test's few letters, which this process renders in far
    less. The PDFs' bytes do not depend on the processes
    (tests/test_letters.py::test_two_workers_give_the_same_bytes_as_one). The default itself is
    still run: by the commands the tests start as processes of their own (the README's examples,
    crash, ledger send, read side, out guard) and by tests/test_render_environment.py."""
    from dunning_batch.letters import pool

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pool, "default_workers", lambda: 1)
        yield


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return Scenario(tmp_path)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The demo's output folder (fixtures/demo run with PDFs, outbox and print batch, no payments).
    Rendering it takes seconds, so it is made once per test process and shared by the modules
    that read it (delivery, send guard, reconcile, read side): a test that changes a folder
    works on its own copy."""
    out = tmp_path_factory.mktemp("demo_run") / "out"
    run(DEMO_CONFIG, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_AS_OF, out, rates=DEMO_RATES)
    return out


@pytest.fixture(scope="session")
def demo_command(tmp_path_factory) -> tuple[str, Path]:
    """`dunning-batch demo --out OUT` (in this process, as `make demo` runs it: with the demo's
    payments export, SPEC §9.5, PDFs, outbox and print batch): what it printed and its folder.
    Made once per test process for the tests of the command (atomic, money rules) and the
    modules that compare with the demo (CLI pipes, Dask); they only read it, or copy it."""
    out = tmp_path_factory.mktemp("demo_command") / "out"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output, out


@pytest.fixture(scope="session")
def demo_payments_run(demo_command) -> Path:
    """The demo's folder as `make demo` writes it (demo_command's)."""
    return demo_command[1]


def with_config(replacements: dict[str, str], base: str = SPEC_CONFIG) -> str:
    """SPEC_CONFIG with text replaced: with_config({'grouping = "customer"': 'grouping = "document"'})."""
    text = base
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


# ------------------------------------------------------------------ the longest tests first
# `make test` runs pytest-xdist --dist worksteal: each worker starts on its half of the suite
# in file order, and an idle worker takes tests from the other's queue, but never a part of a
# test. A test of a minute that starts late is the suite's tail, so the longest ones (measured
# on one worker, in seconds) run first, longest first; their modules' fixtures are their own
# (test_crash's two tests move together). Nothing else changes order.

# Processes of a run and its helpers: tests that kill a run check that none is left behind.
def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


LONGEST_FIRST = (  # seconds on a quiet machine (a loaded run's durations / 2.4, nights' ratio)
    "tests/test_ledger_nights.py::test_sixty_nights_never_the_same_letter_twice",                        # ~130
    "tests/test_readme.py::test_every_readme_example_runs_as_written",                                   # ~60
    "tests/test_crash.py::test_sigkill_while_rendering_leaves_no_folder_and_the_next_run_succeeds",      # ~45
    "tests/test_crash.py::test_workers_die_with_a_killed_run",
    "tests/test_fuzz.py::test_hostile_text_in_every_field_is_refused_by_row_or_runs_clean",              # ~30
    "tests/test_invariants.py::test_spec_8_invariants_hold_for_generated_exports",                       # ~30
    "tests/test_letters.py::test_a_3000_line_letter_is_printed_whole_in_bounded_memory",                 # ~30
    "tests/test_seed_features_model.py::test_the_engine_decides_and_converts_as_the_model_of_spec_11",   # ~17
    "tests/test_fuzz.py::test_odd_but_well_formed_exports",                                              # ~16
)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    rank = {nodeid: n for n, nodeid in enumerate(LONGEST_FIRST)}
    first = sorted((i for i in items if i.nodeid in rank), key=lambda i: rank[i.nodeid])
    items[:] = first + [i for i in items if i.nodeid not in rank]


# ------------------------------------------------------------------ no silent skips
# CI runs every test: a test or module skipped (a package or a binary missing, say) fails
# the suite, with the skipped tests named, unless it carries @pytest.mark.allow_skip(reason)
# for a genuine platform reason (a Linux-only mechanism on another system).

SKIPPED: list[tuple[str, str]] = []  # (test or module, why), in the order pytest met them


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_skip(reason): this test may be skipped, for the platform reason "
                                       "given; any other skip fails the suite")


def _skip_reason(report) -> str:
    return report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:  # a whole module, e.g. pytest.importorskip at its top
        SKIPPED.append((report.nodeid, _skip_reason(report)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # an xfail is reported as skipped too: it is an expected failure, not a skip
    if report.skipped and not hasattr(report, "wasxfail") and "allow_skip" not in report.keywords:
        SKIPPED.append((report.nodeid, _skip_reason(report)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if SKIPPED and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if not SKIPPED:
        return
    terminalreporter.section("skipped tests fail the suite", sep="=", red=True, bold=True)
    for nodeid, reason in SKIPPED:
        terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)
    terminalreporter.line("install what is missing (make test installs .[test,dask]); a skip for a genuine "
                          "platform reason needs @pytest.mark.allow_skip(reason)")
