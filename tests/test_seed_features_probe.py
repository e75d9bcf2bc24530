"""SPEC §11 probed as a customer and as an attacker would (task 21-probe): what broke, each
with the smallest fixture that shows it.

Run date AS_OF = 2026-11-24 and the rates of tests/test_letter_currency.py (USD->EUR 0.9200 of
2026-11-20 and 0.9215 of 2026-11-23; GBP->EUR 1.1500 of 2026-11-24) unless a test gives its
own; `usd(doc, n, amount)` is a USD item due n days before the run date, in a policy with
`letter_currency = "EUR"` (EUR_LETTERS).
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import SPEC_CONFIG, customer, item
from test_contacts import assert_one_problem, run_in_folder
from test_letter_currency import EUR_LETTERS, LEVEL_2_USD, cli, run_rates, usd, write_inputs

from dunning_batch.checks.reconcile import reconcile
from dunning_batch.digest import sha256_of
from dunning_batch.errors import ConfigError
from dunning_batch.outputs import write_json
from dunning_batch.outputs.folder import read_manifest

D = Decimal
RUN = ["run", "--config", "config.toml", "--open-items", "open_items.csv", "--customers", "customers.csv",
       "--rates", "rates.csv", "--as-of", "2026-11-24", "--out", "out", "--no-pdf"]


def rewrite_lines(out: Path, sql_set: str) -> None:
    """letter_lines.parquet with `sql_set` (a REPLACE list) applied: the file an attacker writes."""
    path = out / "letter_lines.parquet"
    changed = path.with_suffix(".new")
    duckdb.connect().execute(f"COPY (SELECT * REPLACE ({sql_set}) FROM read_parquet('{path}')) TO '{changed}' "
                             f"(FORMAT parquet)")
    changed.replace(path)


# ------------------------------------------------------------------ a rate that converts into nothing

def test_a_rate_that_turns_an_amount_into_zero_stops_the_run(tmp_path):
    """1 USD = 0.0000000001 EUR (a plain decimal above zero with 10 decimals, so the rates file
    reads clean): 100.05 USD x 0.0000000001 = 0.000000010005 -> 0.00 EUR. Before, the item was
    dunned in a letter for 0.00 EUR (INV-2 raised to level 1 for nothing) and INV-1's letter
    silently left it out of its total; now the run stops, exit 2, naming the item's row (an
    amount of 100 or more: a smaller one may be a residue, the next test)."""
    tiny = "rate_date,from_currency,to_currency,rate\n2026-11-20,USD,EUR,0.0000000001\n"
    write_inputs(tmp_path, [item("INV-1", 10, "100.00"), usd("INV-2", 12, "100.05")], EUR_LETTERS, tiny)
    done = cli(tmp_path, *RUN)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
    assert done.stderr.strip() == (
        "open_items.csv:3: open_amount: 100.05 USD at the rate 0.0000000001 (USD->EUR of 2026-11-20) is 0 EUR in "
        "its letter; an amount of 100 or more cannot convert into nothing: check that rate in rates.csv")


def test_a_residue_of_a_weak_currency_may_round_to_nothing(tmp_path):
    """Rounding to nothing is not wrong in itself: at IDR->EUR 0.0000576 (a real order of
    magnitude) a residue of 50.00 IDR is 0.00288 -> 0.00 EUR, and 100000.00 IDR is 5.76 EUR; the
    run goes on. Only an amount of 100 or more that converts into nothing stops it."""
    rates = "rate_date,from_currency,to_currency,rate\n2026-11-20,IDR,EUR,0.0000576\n"
    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), item("INV-2", 12, "100000.00", currency="IDR"),
                                   item("INV-3", 11, "50.00", currency="IDR")], rates=rates)
    assert [(r["doc_id"], r["letter_amount"]) for r in outcome.lines] == [
        ("INV-2", D("5.76")), ("INV-3", D("0.00")), ("INV-1", D("100.00"))]


# ------------------------------------------------------------------ reconcile on a tampered folder

def test_reconcile_fails_a_changed_rate_whose_totals_still_add_up(tmp_path):
    """letter_lines.rate of INV-2 changed from 0.9215 to 0.5 with its letter_amount (92.20) and
    the letter's totals left as they were: the totals are still the sums of the letter amounts,
    so only the conversion 100.05 x 0.5 = 50.03 <> 92.20 shows the change. Before, only check 6
    (the file's sha256 against run.json, which the same attacker can rewrite) failed."""
    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), usd("INV-2", 12, "100.05")])
    assert [c.name for c in reconcile(outcome.out) if not c.ok] == []
    rewrite_lines(outcome.out, "CASE WHEN doc_id = 'INV-2' THEN CAST(0.5 AS DECIMAL(28, 10)) ELSE rate END AS rate")
    failed = {c.name: c.detail for c in reconcile(outcome.out) if not c.ok}
    assert "3 letter totals" in failed
    assert "1 with a letter_amount that is not its line's amount at its rate" in failed["3 letter totals"]


def test_reconcile_fails_a_line_in_the_letter_currency_at_another_rate(tmp_path):
    """INV-1 is in EUR, the letter's currency: rate 1 by rule. Rate and letter_amount changed
    together (2 and 200.00) with the totals left: the line no longer adds up to the letter
    (100.00 + 92.20 = 192.20 <> 200.00 + 92.20), and its rate is not 1."""
    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), usd("INV-2", 12, "100.05")])
    rewrite_lines(outcome.out, "CASE WHEN doc_id = 'INV-1' THEN CAST(2 AS DECIMAL(28, 10)) ELSE rate END AS rate, "
                               "CASE WHEN doc_id = 'INV-1' THEN CAST(200 AS DECIMAL(18, 2)) ELSE letter_amount END "
                               "AS letter_amount")
    failed = {c.name: c.detail for c in reconcile(outcome.out) if not c.ok}
    assert "1 with a letter_amount that is not its line's amount at its rate" in failed["3 letter totals"]


def test_reconcile_recomputes_converted_interest(tmp_path):
    """Interest lines convert too, and the check recomputes them: a level-2 letter of INV-2
    (2,500.00 USD -> 2,303.75 EUR; interest 20.55 USD x 0.9215 = 18.937 -> 18.94 EUR) passes, and
    fails once the interest line's letter_amount is 18.93 with its total left."""
    outcome = run_rates(tmp_path, [LEVEL_2_USD])
    assert [(r["line_type"], r["rate"], r["letter_amount"]) for r in outcome.lines] == [
        ("overdue", D("0.9215"), D("2303.75")), ("interest", D("0.9215"), D("18.94"))]
    assert [c.line() for c in reconcile(outcome.out) if not c.ok] == []
    rewrite_lines(outcome.out, "CASE WHEN line_type = 'interest' THEN CAST(18.93 AS DECIMAL(18, 2)) "
                               "ELSE letter_amount END AS letter_amount")
    failed = {c.name: c.detail for c in reconcile(outcome.out) if not c.ok}
    assert "1 with a letter_amount that is not its line's amount at its rate" in failed["3 letter totals"]


# ------------------------------------------------------------------ the sales rep

def rep_config(rep_id: str, name: str) -> str:
    return SPEC_CONFIG + f'\n[sales_rep.{rep_id}]\nname = "{name}"\nemail = "john.rep@example.com"\n'


def test_a_rep_name_with_an_encoded_word_is_a_config_error(scenario):
    """A name the config gives as =?utf-8?b?QXR0YWNrZXIgPGFAZXZpbC5jb20+?= went into Reply-To as
    it is, and a mail program decodes it into 'Attacker <a@evil.com>': the customer's answer
    would go to a@evil.com (Python's own parser reads that address out of the header)."""
    config = rep_config("jr", "=?utf-8?b?QXR0YWNrZXIgPGFAZXZpbC5jb20+?=")
    with pytest.raises(ConfigError) as caught:
        scenario.run([item("INV-1", 10)], [customer(email="ap@acme.example", sales_rep="jr")], config=config)
    assert caught.value.lines() == [
        f"{scenario.tmp_path / 'in1' / 'config.toml'}: [sales_rep.jr] key 'name': "
        "'=?utf-8?b?QXR0YWNrZXIgPGFAZXZpbC5jb20+?=' holds an RFC 2047 encoded word (=?...?=), which mail "
        "programs decode into other text in the Reply-To header; give the name as plain text"]


def test_the_unknown_rep_hint_is_a_table_header_toml_reads(scenario):
    """customers.csv names rep 'j r': the hint said to add [sales_rep.j r], which is not TOML.
    It now quotes the ID, and the table it names is the one the run then takes."""
    result, work = run_in_folder(scenario, [customer(email="ap@acme.example", sales_rep="j r")],
                                 rep_config("jr", "John Rep"))
    line = assert_one_problem(result, work, "customers.csv:2: sales_rep:")
    assert 'add a [sales_rep."j r"] table with its name and email' in line
    config = rep_config('"j r"', "Joan Rep")
    outcome = scenario.run([item("INV-1", 10)], [customer(email="ap@acme.example", sales_rep="j r")], config=config)
    [row] = outcome._rows("SELECT sales_rep, sales_rep_name FROM recipients")
    assert row == {"sales_rep": "j r", "sales_rep_name": "Joan Rep"}


# ------------------------------------------------------------------ the ledger's history

def test_history_of_a_converted_item_states_its_amounts_in_the_letters_currency(tmp_path):
    """INV-2, 2,500.00 USD at level 1, goes into a level-2 EUR letter: 2,500.00 x 0.9215 =
    2,303.75 EUR, interest 20.55 USD x 0.9215 = 18.94 EUR, fee 5.00, total due 2,327.69 EUR.
    The ledger keeps one currency per letter, the letter's; before, `history` printed the USD
    figures with it ("2,500.00 EUR open ... interest 30 days 20.55 EUR"), amounts the letter
    never asked for."""
    from dunning_batch.ledger.history import history

    outcome = run_rates(tmp_path, [LEVEL_2_USD], ledger=tmp_path / "ledger.duckdb")
    assert outcome.letters[0]["total_due"] == D("2327.69")
    text = history(tmp_path / "ledger.duckdb", "INV-2").text
    assert ("level 1 -> 2, 2,303.75 EUR open, fee 5.00 EUR, interest 30 days 18.94 EUR, total due 2,327.69 EUR"
            in text), text


# ------------------------------------------------------------------ separators in a rate

def rates_lines(tmp_path: Path, rates: str, config: str = EUR_LETTERS) -> list[str]:
    """The problem lines of `run` on one USD item with `rates` (exit 2, nothing written)."""
    write_inputs(tmp_path, [usd("INV-2", 12, "100.00")], config, rates)
    done = cli(tmp_path, *RUN)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
    return [line for line in done.stderr.splitlines() if line.startswith("rates.csv:")]


def test_a_rate_with_a_thousands_separator_is_refused(tmp_path):
    """'4,309' (PLN per EUR written with a decimal comma, in a file read without decimal_comma)
    was read as 4309, the grouping amounts may have: 100.00 USD became 430,900.00 EUR in the
    letter, without a word. A rate has one decimal separator and no grouping."""
    rates = 'rate_date,from_currency,to_currency,rate\n2026-11-23,USD,EUR,"4,309"\n2026-11-23,GBP,EUR,"1,070.5"\n'
    hint = ("a rate is plain digits with one decimal point and no thousands separator (if ',' is its decimal "
            "comma, set decimal_comma = true under [input.rates])")
    assert rates_lines(tmp_path, rates) == [f"rates.csv:2: rate: '4,309' holds ','; {hint} (and 1 more row "
                                            f"like it: row 3)"]


def test_with_decimal_comma_a_dot_in_a_rate_is_refused(tmp_path):
    """decimal_comma = true: '0.921' was read as 921 (a dot groups thousands there); '0,921' is
    the rate."""
    config = EUR_LETTERS + "\n[input.rates]\ndecimal_comma = true\n"
    rates = 'rate_date,from_currency,to_currency,rate\n2026-11-23,USD,EUR,0.921\n'
    assert rates_lines(tmp_path, rates, config) == [
        "rates.csv:2: rate: '0.921' holds '.'; a rate is plain digits with one decimal comma and no thousands "
        "separator ('.' is the decimal point without decimal_comma under [input.rates])"]
    outcome = run_rates(tmp_path, [usd("INV-2", 12, "100.00")], config,
                        'rate_date,from_currency,to_currency,rate\n2026-11-23,USD,EUR,"0,921"\n', name="comma")
    assert [(r["rate"], r["letter_amount"]) for r in outcome.lines] == [(D("0.921"), D("92.10"))]


# ------------------------------------------------------------------ a rate too large to be one

def test_a_huge_typed_decimal_rate_is_an_input_error_not_a_crash(tmp_path):
    """A Parquet rate DECIMAL(38,10) of 100000000000000000000.5 (21 integer digits) crashed the
    parse stage (exit 3: 'Casting value ... to type DECIMAL(28,10) failed'); now the row is
    refused like a text rate of 17 digits, whose message said it was 'not a plain decimal'."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_inputs(tmp_path, [usd("INV-2", 12, "100.00")], EUR_LETTERS, rates=None)
    pq.write_table(pa.table({"rate_date": pa.array([dt.date(2026, 11, 23)], pa.date32()),
                             "from_currency": ["USD"], "to_currency": ["EUR"],
                             "rate": pa.array([D("100000000000000000000.5")], pa.decimal128(38, 10))}),
                   tmp_path / "rates.parquet")
    done = cli(tmp_path, *[a if a != "rates.csv" else "rates.parquet" for a in RUN])
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert ("rates.parquet:1: rate: 100000000000000000000.5000000000 is more than a rate can be (at most 16 digits "
            "before the decimal point); check the row") in done.stderr.splitlines()
    text_rates = "rate_date,from_currency,to_currency,rate\n2026-11-23,USD,EUR,99999999999999999\n"
    assert rates_lines(tmp_path / "text", text_rates) == [
        "rates.csv:2: rate: 99999999999999999 is more than a rate can be (at most 16 digits before the decimal "
        "point); check the row"]


# ------------------------------------------------------------------ rate_days_before

@pytest.mark.parametrize("days", [3651, 9999999999])
def test_rate_days_before_is_bounded(tmp_path, days):
    """rate_days_before = 9999999999 crashed the run (exit 3, 'Value 9999999999 too large to fit
    in C integer type'), and 3650000 looked for a rate 'on or before 7968-07-15 (BC)'; the key
    is now 0 to 3650 days, like days_to_settle."""
    write_inputs(tmp_path, [usd("INV-2", 12, "100.00")],
                 EUR_LETTERS.replace('letter_currency = "EUR"', f'letter_currency = "EUR"\nrate_days_before = {days}'))
    done = cli(tmp_path, *RUN)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip() == (f"config.toml: [[policy]] 'standard' key 'rate_days_before': must be a number of "
                                   f"days, 0 to 3650, not {days}")


# ------------------------------------------------------------------ explain

def test_explain_does_not_give_an_excluded_item_a_letter(tmp_path):
    """INV-2 (100.05 USD) is blocked: it is in no letter, yet explain said "Its letter is in EUR".
    The conversion is still told (100.05 x 0.9215 = 92.196075 -> 92.20), as its policy's; INV-1's
    letter keeps the sentence it had."""
    from dunning_batch.checks.explain import explain

    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), usd("INV-2", 12, "100.05", blocked="true"),
                                   usd("INV-3", 10, "50.00")])
    blocked = explain(outcome.out, "INV-2")
    assert "Its letter is in" not in blocked
    assert ("Its policy writes its letters in EUR: USD 100.05 at 0.9215 (rate of 2026-11-23, the latest on or "
            "before the rate day 2026-11-24) = EUR 92.20.") in blocked
    assert ("Its letter is in EUR: USD 50.00 at 0.9215 (rate of 2026-11-23, the latest on or before the rate day "
            "2026-11-24) = EUR 46.08.") in explain(outcome.out, "INV-3")


def test_a_sender_name_with_an_encoded_word_is_a_config_error(scenario):
    """The same trick on [sender] name put 'Attacker <a@evil.com>' into From (older than §11,
    found beside the rep's Reply-To)."""
    config = SPEC_CONFIG.replace('name = "Example GmbH"', 'name = "=?utf-8?b?QXR0YWNrZXIgPGFAZXZpbC5jb20+?="', 1)
    with pytest.raises(ConfigError) as caught:
        scenario.run([item("INV-1", 10)], [customer(email="ap@acme.example")], config=config)
    assert caught.value.lines() == [
        f"{scenario.tmp_path / 'in1' / 'config.toml'}: [sender] key 'name': "
        "'=?utf-8?b?QXR0YWNrZXIgPGFAZXZpbC5jb20+?=' holds an RFC 2047 encoded word (=?...?=), which mail "
        "programs decode into other text in the From header; give the name as plain text"]


# ------------------------------------------------------------------ render of a tampered folder

@pytest.mark.parametrize("column, value", [
    ("sales_rep_email", "anna.weber@example.com\r\nBcc: x@evil.example"),
    ("sales_rep_name", "=?utf-8?b?QXR0YWNrZXIgPGFAZXZpbC5jb20+?="),   # "Attacker <a@evil.com>"
    ("contact_email", "ap@harborline-logistics.com\nBcc: y@evil.example"),
], ids=["rep-email-crlf", "rep-name-encoded-word", "contact-email-lf"])
def test_render_of_a_folder_whose_recipients_were_changed_is_one_sentence(demo_run, tmp_path, column, value):
    """`render` rebuilds the emails from recipients.parquet, which anyone who can write the folder
    can change: the demo's C038 (contact and rep, SPEC §11.2) with a header injected into one
    of its columns is exit 2 naming the file and the letter (before: exit 3, or a Reply-To
    carrying the attacker's address), and no new folder. The attacker here also writes the
    file's new sha256 into run.json, past render's check of the run's files
    (tests/test_render.py::test_render_of_a_folder_whose_files_changed_since_the_run_renders_nothing)."""
    folder = tmp_path / "night"
    shutil.copytree(demo_run, folder)
    path = folder / "recipients.parquet"
    changed = path.with_suffix(".new")
    duckdb.connect().execute(
        f"COPY (SELECT * REPLACE (CASE WHEN customer_id = 'C038' THEN $value ELSE {column} END AS {column}) "
        f"FROM read_parquet('{path}')) TO '{changed}' (FORMAT parquet)", {"value": value})
    changed.replace(path)
    manifest = read_manifest(folder)
    manifest["outputs"]["recipients.parquet"]["sha256"] = sha256_of(path)
    write_json(folder / "run.json", manifest)
    done = cli(folder, "render", ".", "--out", "../again")
    assert done.returncode == 2, (done.stdout, done.stderr)
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("recipients.parquet: letter DL-20261124-") and "changed after its run" in line
    assert not (tmp_path / "again").exists()
