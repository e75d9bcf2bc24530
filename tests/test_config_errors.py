"""Config problems (SPEC §3.4, §2.3, §7): every one stops the run with exit code 2 and a
message naming the key and the file, never a traceback, and nothing is written — in
non-strict mode too ("A config problem always stops the run")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import AS_OF, ROOT, SPEC_CONFIG, item, with_config
from dunning_batch.cli import main

# A second policy appended to SPEC_CONFIG; the tests edit it into each conflict.
SECOND_POLICY = """
[[policy]]
name = "second"
customer_classes = ["B2C"]
min_amount = { EUR = 5.00 }

  [[policy.level]]
  days_past_due = 10
  days_to_settle = 10
  template = "reminder"
"""

RATES_HEADER = "effective_from,rate_percent\n"


# ---------------------------------------------------------------------------- helpers


def run_cli(scenario, config: str, items=None, *extra: str, rates: str | None = None):
    """Run the CLI on `config`; `rates` is written as rates.csv beside the config."""
    config_path, items_path, customers_path = scenario.files(items or [item("I-1", 8, "250.00")], None, config)
    if rates is not None:
        (config_path.parent / "rates.csv").write_text(rates, encoding="utf-8")
    out = scenario.tmp_path / "out"
    result = CliRunner().invoke(main, [
        "run", "--config", str(config_path), "--open-items", str(items_path),
        "--customers", str(customers_path), "--as-of", AS_OF.isoformat(), "--out", str(out), *extra])
    return result, config_path, out


def assert_stopped(scenario, result: Result, out: Path) -> list[str]:
    """Exit 2 by sys.exit, no traceback, nothing written; returns the stderr lines."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert not out.exists()
    left = sorted(p.name for p in scenario.tmp_path.iterdir())
    assert all(name.startswith("in") for name in left), left
    return [line for line in result.stderr.splitlines() if line.strip()]


def config_line(lines: list[str], config_path: Path, key_pattern: str) -> str:
    """The line that names the config file and matches the key (a regex)."""
    found = [ln for ln in lines if ln.startswith(str(config_path)) and re.search(key_pattern, ln)]
    assert found, f"no line naming {config_path} and matching {key_pattern!r} in: {lines}"
    return found[0]


def check_config_error(scenario, config: str, key_pattern: str, **kwargs) -> str:
    result, config_path, out = run_cli(scenario, config, **kwargs)
    lines = assert_stopped(scenario, result, out)
    return config_line(lines, config_path, key_pattern)


# ------------------------------------------------------------------------ §3.4 problems


def test_the_spec_config_itself_runs(scenario):
    # The control: every case below is this config with one thing broken.
    result, _, out = run_cli(scenario, SPEC_CONFIG)
    assert result.exit_code == 0, result.output
    assert out.is_dir()


@pytest.mark.parametrize("old, new, key", [
    ('grouping = "customer"', 'grupping = "customer"', "grupping"),
    ('days_to_settle = 10', 'days_to_settle = 10\n  tempalte = "reminder"', "tempalte"),
    ('bic = "COBADEFFXXX"', 'bic = "COBADEFFXXX"\nibna = "x"', "ibna"),
    ('sequential = true', 'sequentiel = true', "sequentiel"),
    ('basis = "act/365"', 'bassis = "act/365"', "bassis"),
])
def test_unknown_key(scenario, old, new, key):
    line = check_config_error(scenario, with_config({old: new}), re.escape(key))
    assert "'" + key + "'" in line or '"' + key + '"' in line or f" {key}" in line


def test_unknown_top_level_table(scenario):
    check_config_error(scenario, SPEC_CONFIG + '\n[polcy]\nname = "x"\n', "polcy")


@pytest.mark.parametrize("old, new, key", [
    ("days_to_settle = 10", 'days_to_settle = "10"', "days_to_settle"),
    ("strict = true", 'strict = "yes"', "strict"),
    ("days_past_due = 7", "days_past_due = 7.5", "days_past_due"),
    ("interest = false", 'interest = "no"', "interest"),
    ('customer_classes = ["B2B"]', 'customer_classes = "B2B"', "customer_classes"),
    ("fixed_rate = 8.0", 'fixed_rate = "8 %"', "fixed_rate"),
    ('grouping = "customer"', 'grouping = "per_customer"', "grouping"),
])
def test_wrong_type_or_value(scenario, old, new, key):
    check_config_error(scenario, with_config({old: new}), re.escape(key))


@pytest.mark.parametrize("table, mapping, column", [
    ("open_items", 'amount = "Betrag", open_amount = "Betrag"', "Betrag"),
    ("customers", 'name = "Name1", address = "Name1"', "Name1"),
    ("payments", 'amount = "Paid", interest_charged = "Paid"', "Paid"),
])
def test_one_export_column_mapped_to_two_standard_columns(scenario, table, mapping, column):
    # Refused whether or not the export has the column (payments are not even given here):
    # the mapping itself gives one column two meanings.
    line = check_config_error(scenario, SPEC_CONFIG + f"\n[input.{table}]\ncolumns = {{ {mapping} }}\n",
                              rf"\[input\.{table}\] key 'columns'")
    assert f"the same export column '{column}'" in line
    assert "remove the other" in line


def test_payment_term_without_english_wording(scenario):
    # The letters word a payment term from the catalogues' [payment_terms]; English is every
    # language's fallback, so a code it lacks would reach a customer as the bare code.
    line = check_config_error(scenario, with_config({'payment_term = "IMMEDIATE"': 'payment_term = "NET7"'}),
                              r"\[\[policy\]\] 'standard' level 3 key 'payment_term'")
    assert "'NET7' has no wording in " in line and "templates/messages/en.toml" in line
    assert 'add NET7 = "..." under its [payment_terms]' in line


def test_thresholds_not_rising(scenario):
    check_config_error(scenario, with_config({"days_past_due = 21": "days_past_due = 5"}), "days_past_due")


def test_equal_thresholds_are_not_rising(scenario):
    check_config_error(scenario, with_config({"days_past_due = 21": "days_past_due = 7"}), "days_past_due")


@pytest.mark.parametrize("old, new, key", [
    ("days_past_due = 7", "days_past_due = -7", "days_past_due"),
    ("days_to_settle = 10", "days_to_settle = -1", "days_to_settle"),
    ("min_days_between_letters = 0", "min_days_between_letters = -3", "min_days_between_letters"),
])
def test_negative_days(scenario, old, new, key):
    line = check_config_error(scenario, with_config({old: new}), re.escape(key))
    assert "negative" in line or "-" in line


def test_policy_without_levels(scenario):
    config = SPEC_CONFIG.split("  [[policy.level]]")[0]
    check_config_error(scenario, config, r"\blevel")


def test_two_default_policies(scenario):
    config = SPEC_CONFIG + SECOND_POLICY.replace('name = "second"', 'name = "second"\ndefault = true')
    check_config_error(scenario, config, r"\bdefault\b")


def test_class_in_two_policies(scenario):
    config = SPEC_CONFIG + SECOND_POLICY.replace('["B2C"]', '["B2C", "B2B"]')
    line = check_config_error(scenario, config, r"customer[_ ]class")
    assert "B2B" in line


def test_duplicate_policy_names(scenario):
    config = SPEC_CONFIG + SECOND_POLICY.replace('name = "second"', 'name = "standard"')
    line = check_config_error(scenario, config, r"\bnamed?\b")
    assert "standard" in line


def test_interest_level_with_no_rate_source(scenario):
    config = with_config({"fixed_rate = 8.0\n": ""})
    check_config_error(scenario, config, r"fixed_rate|reference_rates")


def test_policy_interest_without_rate_source_when_global_has_none(scenario):
    config = with_config({"fixed_rate = 8.0\n": "", "min_amount = { EUR = 5.00 }":
                          'min_amount = { EUR = 5.00 }\n\n  [policy.interest]\n  basis = "act/360"'})
    check_config_error(scenario, config, r"fixed_rate|reference_rates")


def test_fixed_rate_and_reference_rates_in_one_table(scenario):
    config = with_config({"fixed_rate = 8.0\n": 'fixed_rate = 8.0\nreference_rates = "rates.csv"\n'})
    line = check_config_error(scenario, config, "fixed_rate", rates=RATES_HEADER + "2020-01-01,2.00\n")
    assert "reference_rates" in line


@pytest.mark.parametrize("old, new, key", [
    ("fee = { EUR = 5.00 }", "fee = { EUR = 5.00, EUX = 1.00 }", "fee"),
    ("min_amount = { EUR = 5.00 }", "min_amount = { EUR = 5.00, eur = 1.00 }", "min_amount"),
])
def test_money_table_with_unknown_currency_code(scenario, old, new, key):
    line = check_config_error(scenario, with_config({old: new}), rf"\b{key}\b")
    assert "EUX" in line or "eur" in line


def test_invalid_toml(scenario):
    config = with_config({'grouping = "customer"': 'grouping = "customer'})
    line = check_config_error(scenario, config, "TOML|toml")
    assert "line" in line  # where in the file


# ----------------------------------------------------------------- reference-rate coverage

REFERENCE_CONFIG = with_config({"fixed_rate = 8.0\n": 'reference_rates = "rates.csv"\nmargin = 5.0\n'})
# Due 2026-08-01, at level 1, 115 days past due: advances to level 2, which charges interest
# from 2026-08-02 to the run date.
INTEREST_ITEM = [item("I-1", 115, "1000.00", dunning_level=1)]


def test_reference_rates_that_do_not_cover_an_interest_day(scenario):
    assert INTEREST_ITEM[0]["due_date"] == "2026-08-01"
    result, config_path, out = run_cli(scenario, REFERENCE_CONFIG, INTEREST_ITEM,
                                       rates=RATES_HEADER + "2026-10-01,2.00\n")
    lines = assert_stopped(scenario, result, out)
    rates_path = config_path.parent / "rates.csv"
    found = [ln for ln in lines if str(rates_path) in ln]
    assert found, lines
    assert "2026-08" in found[0]  # the first day not covered


def test_reference_rates_covering_every_day_run(scenario):
    # The control for the test above: the same run with rates from before the due date.
    result, _, out = run_cli(scenario, REFERENCE_CONFIG, INTEREST_ITEM,
                             rates=RATES_HEADER + "2026-01-01,2.00\n2026-10-01,2.50\n")
    assert result.exit_code == 0, result.output
    assert out.is_dir()


def test_reference_rates_gap_stops_in_non_strict_mode_too(scenario):
    result, config_path, out = run_cli(scenario, REFERENCE_CONFIG, INTEREST_ITEM, "--no-strict",
                                       rates=RATES_HEADER + "2026-10-01,2.00\n")
    lines = assert_stopped(scenario, result, out)
    assert any(str(config_path.parent / "rates.csv") in ln for ln in lines), lines


# ------------------------------------------------------------ config problems always stop


@pytest.mark.parametrize("how", ["flag", "config"])
def test_config_problem_stops_in_non_strict_mode(scenario, how):
    config = with_config({'grouping = "customer"': 'grupping = "customer"'})
    extra: tuple[str, ...] = ()
    if how == "flag":
        extra = ("--no-strict",)
    else:
        config = with_config({"strict = true": "strict = false"}, base=config)
    result, config_path, out = run_cli(scenario, config, None, *extra)
    lines = assert_stopped(scenario, result, out)
    config_line(lines, config_path, "grupping")


def test_every_config_problem_is_listed(scenario):
    config = with_config({'grouping = "customer"': 'grupping = "customer"',
                          "days_to_settle = 10": "days_to_settle = -1",
                          "fee = { EUR = 5.00 }": "fee = { EUX = 5.00 }"})
    result, config_path, out = run_cli(scenario, config)
    lines = assert_stopped(scenario, result, out)
    config_line(lines, config_path, "grupping")
    config_line(lines, config_path, "days_to_settle")
    config_line(lines, config_path, "EUX")


def test_validate_reports_config_problems(scenario):
    config = with_config({'grouping = "customer"': 'grupping = "customer"'})
    config_path, items_path, customers_path = scenario.files([item("I-1", 8)], None, config)
    result = CliRunner().invoke(main, ["validate", "--config", str(config_path), "--open-items",
                                       str(items_path), "--customers", str(customers_path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    config_line([ln for ln in result.stderr.splitlines()], config_path, "grupping")


def test_validate_reports_a_reference_rate_gap(scenario):
    # §7: validate lists all problems; §3.4: a rate table that does not cover a day it is
    # needed for is one. With the run date given, validate can tell.
    config_path, items_path, customers_path = scenario.files(INTEREST_ITEM, None, REFERENCE_CONFIG)
    rates_path = config_path.parent / "rates.csv"
    rates_path.write_text(RATES_HEADER + "2026-10-01,2.00\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--config", str(config_path), "--open-items", str(items_path),
                                       "--customers", str(customers_path), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert any(str(rates_path) in ln for ln in result.stderr.splitlines()), result.output


# ------------------------------------------- sender fields and the run date (issue 15 #17)

@pytest.mark.parametrize("old, new, key, shown", [
    ('name = "Example GmbH"', 'name = "Example GmbH\\r\\nBcc: all@example.net"', "name", r"'\r'"),
    ('name = "Example GmbH"', 'name = "Example\\u0000GmbH"', "name", r"'\x00'"),
    ('email = "ar@example.com"', 'email = "ar@example.com\\nBcc: all@example.net"', "email", r"'\n'"),
    ('bic = "COBADEFFXXX"', 'bic = "COBA\\tDEFFXXX"', "bic", r"'\t'"),
])
def test_a_control_character_in_a_sender_field_is_a_config_error(scenario, old, new, key, shown):
    # A line break in [sender] name went into the From header of every email and the letterhead.
    line = check_config_error(scenario, with_config({old: new}), rf"\[sender\] key '{key}'")
    assert line.endswith(f"[sender] key '{key}': holds the control character {shown}; it must be one line of text")


def test_a_line_break_inside_a_sender_address_line_is_a_config_error(scenario):
    config = with_config({'address = ["Hauptstr. 1", "10115 Berlin", "Germany"]':
                          'address = ["Hauptstr. 1", "10115 Berlin\\nGermany"]'})
    line = check_config_error(scenario, config, r"\[sender\] key 'address'")
    assert line.endswith("[sender] key 'address': line 2 holds the control character '\\n'; give each line of the "
                         "address as its own string")


@pytest.mark.parametrize("as_of", ["9999-12-25", "3000-01-01", "1899-12-31", "0001-01-01"])
def test_a_run_date_outside_1900_to_2999_is_a_usage_error(scenario, as_of):
    # 9999-12-25 failed with exit 3 (a pay-by date past year 9999); the range keeps every date a
    # run computes inside the calendar.
    config_path, _, _ = scenario.files([item("I-1", 8, "250.00")], None, SPEC_CONFIG)
    folder = config_path.parent
    done = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "run",
                           "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
                           "customers.csv", "--as-of", as_of, "--out", "out"],
                          cwd=folder, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.splitlines()[-1] == (f"Error: Invalid value for '--as-of': {as_of} is not a run date this "
                                            f"tool takes; give a date from 1900-01-01 to 2999-12-31")
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "customers.csv", "open_items.csv"]


def test_the_first_and_last_run_dates_are_taken(scenario):
    for as_of in ("1900-01-01", "2999-12-31"):
        config_path, items_path, customers_path = scenario.files([], None, SPEC_CONFIG)
        out = scenario.tmp_path / f"out-{as_of}"
        result = CliRunner().invoke(main, ["run", "--config", str(config_path), "--open-items", str(items_path),
                                           "--customers", str(customers_path), "--as-of", as_of, "--out", str(out)])
        assert result.exit_code == 0, (as_of, result.output)


@pytest.mark.parametrize("value, what", [
    ("0", "must be a number of years from 1 to 100, not 0"),
    ("101", "must be a number of years from 1 to 100, not 101"),
    ('"20"', "must be a whole number, not '20'"),
])
def test_plausible_years_outside_1_to_100_is_a_config_error(scenario, value, what):
    line = check_config_error(scenario, with_config({"strict = true": f"strict = true\nplausible_years = {value}"}),
                              r"\[run\] key 'plausible_years'")
    assert line.endswith(f"[run] key 'plausible_years': {what}"), line


# ------------------------------------------------- rates a config may give (issue 15 #16)

@pytest.mark.parametrize("new, key, what", [
    ("fixed_rate = 8000", "fixed_rate", "must be a percent from 0 to 100, not 8000"),
    ("fixed_rate = 100.5", "fixed_rate", "must be a percent from 0 to 100, not 100.5"),
    ("fixed_rate = -1", "fixed_rate", "must be a percent from 0 to 100, not -1"),
])
def test_a_fixed_rate_outside_0_to_100_is_a_config_error(scenario, new, key, what):
    # 8000 (for 8.000) was charged as 8,000 % a year; a 13-digit rate overflowed (exit 3).
    line = check_config_error(scenario, with_config({"fixed_rate = 8.0": new}), rf"\[interest\] key '{key}'")
    assert line.endswith(f"[interest] key '{key}': {what}"), line


def test_a_margin_outside_minus_100_to_100_is_a_config_error(scenario):
    line = check_config_error(scenario, with_config({"fixed_rate = 8.0": 'reference_rates = "rates.csv"\nmargin = 900'}),
                              r"\[interest\] key 'margin'", rates=RATES_HEADER + "2026-01-01,2.00\n")
    assert line.endswith("[interest] key 'margin': must be a percent from -100 to 100, not 900"), line


def test_a_reference_rate_outside_minus_100_to_100_is_a_config_error(scenario):
    result, config_path, out = run_cli(scenario, with_config({"fixed_rate = 8.0": 'reference_rates = "rates.csv"'}),
                                       rates=RATES_HEADER + "2026-01-01,2.00\n2026-07-01,20261101\n")
    lines = assert_stopped(scenario, result, out)
    assert f"{config_path.parent / 'rates.csv'}:3: expected an ISO date and a percent from -100 to 100 (at most 6 " \
           f"decimals), got '2026-07-01,20261101'" in lines, lines


def test_a_reference_rate_plus_margin_above_100_is_a_config_error(scenario):
    config = with_config({"fixed_rate = 8.0": 'reference_rates = "rates.csv"\nmargin = 9'})
    line = check_config_error(scenario, config, r"\[interest\] key 'margin'",
                              rates=RATES_HEADER + "2026-01-01,2.00\n2026-07-01,95.5\n")
    assert line.endswith("[interest] key 'margin': the rate from 2026-07-01 is 95.5 + margin 9 = 104.5; a rate "
                         "charged is at most 100 percent"), line


def test_days_to_settle_beyond_ten_years_is_a_config_error(scenario):
    # 3,000,000 days put the pay-by date past year 9999: letters failed to render (exit 3).
    line = check_config_error(scenario, with_config({"days_to_settle = 10": "days_to_settle = 3000000"}),
                              r"level 1 key 'days_to_settle'")
    assert line.endswith("level 1 key 'days_to_settle': must be a number of days from 0 to 3650, not 3000000"), line
