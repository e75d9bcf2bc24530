"""The project carries its own documentation: docs/SPEC.md is the published copy of the
contract, docs/config.md the reference of every config key (generated, never stale), and
nothing a user reads points outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SPEC_CONFIG, item, with_config
from dunning_batch.cli import main
from dunning_batch.config import load_config
from dunning_batch.config.keys import SECTIONS
from dunning_batch.config.reference import COMMAND, example
from dunning_batch.config.toml_table import MISSING, Table, check_kind
from dunning_batch.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SHARED_SPEC = ROOT.parent / "shared" / "SPEC.md"


def test_docs_spec_is_the_contract():
    published = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    assert published.startswith("# dunning_batch — what it computes, exactly")
    if SHARED_SPEC.is_file():  # where the contract's source sits beside the clone (CI, developers)
        assert published == SHARED_SPEC.read_text(encoding="utf-8")


def test_readme_and_messages_point_into_the_repository():
    texts = [ROOT / "README.md", *sorted((ROOT / "dunning_batch").rglob("*.py")),
             *sorted((ROOT / "templates").rglob("*"))]
    outside = [str(p.relative_to(ROOT)) for p in texts if p.is_file() and "../shared" in p.read_text(encoding="utf-8")]
    assert outside == []


# ------------------------------------------------------------------ docs/config.md (issue 18)
# The config reference is generated from dunning_batch/config/keys.py, the entries the loader
# reads every key through (kind, default, allowed values), so it cannot drift from the code.



def test_docs_config_md_is_what_its_generator_writes():
    """Run as the reference's own header says, from the repository root."""
    generated = subprocess.run([sys.executable, "-m", "dunning_batch.config.reference"], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                               check=True).stdout
    written = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert written == generated, f"docs/config.md is stale: regenerate it with `{COMMAND}` from the repository root"


def test_docs_config_md_lists_every_table_and_key_with_type_default_and_example():
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for heading in ("[run]", "[sender]", "[interest]", "[[policy]]", "[[policy.level]]", "[policy.interest]",
                    "[input.open_items]", "[input.customers]", "[input.payments]"):
        assert f"\n## {heading}\n" in text
    assert ('| `grouping` | a string | `"customer"` | `"customer"`, `"customer_level"`, `"document"` | '
            '`grouping = "customer_level"` |') in text
    assert "| `days_past_due` | a whole number | required | 0 or more | `days_past_due = 14` |" in text
    assert "| `delimiter` | a string | `\",\"` | one character other than a quote or newline | `delimiter = \";\"` |" in text


@pytest.mark.parametrize("section", SECTIONS.values(), ids=lambda s: s.heading)
def test_every_example_of_the_reference_is_a_value_the_loader_takes(section):
    """Each one-line example is TOML of the key's kind and among its allowed values."""
    for key in section.keys:
        line = example(key)
        if line.startswith("["):
            continue  # a table heading: the section of its own
        value = tomllib.loads(line, parse_float=Decimal)[key.name]
        kind = "table" if key.kind == "money" else key.kind
        assert check_kind(value, kind) is not MISSING, line
        assert not key.choices or value in key.choices, line


def test_a_key_without_an_entry_in_keys_py_cannot_be_read():
    table = Table({"grouping": "customer"}, "[run]", [], "config.toml", "[run]")
    with pytest.raises(LookupError, match=r"'colour' of \[run\] has no Key\(\.\.\.\) in dunning_batch/config/keys.py"):
        table.get("colour")
    with pytest.raises(TypeError, match="keys.py"):
        table.get("grouping", "str", "customer")


@pytest.mark.parametrize("old, new, anchor, hint", [
    ('grouping = "customer"', 'groupping = "customer"', "#run", "did you mean 'grouping'? "),
    ('template = "final_notice"', 'template = "final_notice"\n  fee_percnt = 1.0', "#policylevel",
     "did you mean 'fee_percent'? "),
    ("[[policy]]", "[input.customers]\nencodnig = \"cp1252\"\nsheet = 1\n\n[[policy]]", "#inputcustomers", ""),
])
def test_an_unknown_key_names_its_table_in_docs_config_md(tmp_path, old, new, anchor, hint):
    path = tmp_path / "config.toml"
    path.write_text(with_config({old: new}, SPEC_CONFIG), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = [p for p in caught.value.problems if "is not a known key" in p]
    assert problems and all("the keys of" in p and f"are listed in docs/config.md{anchor}" in p for p in problems)
    assert hint in problems[0]
    assert all("SPEC §3" not in p for p in caught.value.problems)
    heading = next(s.heading for s in SECTIONS.values() if f"#{s.anchor}" == anchor)
    assert f"\n## {heading}\n" in (ROOT / "docs" / "config.md").read_text(encoding="utf-8")


def test_validate_with_a_misspelt_key_says_where_the_keys_are(scenario):
    """As a user meets it: `validate` from the folder of the files, exit 2, one line."""
    config = with_config({"[[policy]]": "[input.open_items]\ndecimal_coma = true\n\n[[policy]]"})
    config_path, _, _ = scenario.files([item("I-1", 8, "250.00")], None, config)
    done = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "validate",
                           "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
                           "customers.csv"], cwd=config_path.parent, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert ("config.toml: [input.open_items] key 'decimal_coma': is not a known key; did you mean "
            "'decimal_comma'? the keys of [input.open_items] are listed in docs/config.md#inputopen_items"
            ) in done.stderr.splitlines(), done.stderr


def test_the_config_option_help_points_at_docs_config_md():
    for command in ("run", "validate"):
        result = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
        assert "docs/config.md" in result.output and "SPEC §3" not in result.output, result.output


def test_no_message_sends_a_user_to_spec_section_3_for_config_keys():
    sources = sorted((ROOT / "dunning_batch").rglob("*.py"))
    stale = [str(p.relative_to(ROOT)) for p in sources if "against SPEC §3" in p.read_text(encoding="utf-8")
             or 'help="The TOML config (SPEC §3)' in p.read_text(encoding="utf-8")]
    assert stale == []
