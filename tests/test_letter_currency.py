"""SPEC §11.1, letters across currencies: a policy's `letter_currency`, the `--rates` input, and
every amount of a letter in the letter currency, each figure computed by hand beside it.

Run date AS_OF = 2026-11-24; `item(doc_id, n, amount)` is due n days before it. The base is
SPEC_CONFIG at 10 % (TEN): level 1 after 7 days (no fee, no interest), level 2 after 21 days
(fee 5.00, interest), level 3 after 45 days (fee 10.00, interest, final); letter minimum 5.00
EUR, interest minimum 1.00 EUR, act/365 to the letter date. With `letter_currency = "EUR"`
(EUR_LETTERS) a customer's EUR and USD items share one letter in EUR: each line is
open_amount x rate, rounded half away from zero to the cent, and the totals are sums of lines.
The rates (RATES, "1 from = rate to"): USD->EUR 0.9200 of 2026-11-20 and 0.9215 of
2026-11-23; GBP->EUR 1.1500 of 2026-11-24.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import AS_OF, ROOT, SPEC_CONFIG, Outcome, customer, days_before, item, with_config, write_csv

from dunning_batch.checks.reconcile import reconcile
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
from dunning_batch.errors import ConfigError, InputError
from dunning_batch.run import run, validate

D = Decimal
TEN = with_config({"fixed_rate = 8.0": "fixed_rate = 10.0"})
POLICY_MIN = "min_amount = { EUR = 5.00 }"
RATES = """rate_date,from_currency,to_currency,rate
2026-11-20,USD,EUR,0.9200
2026-11-23,USD,EUR,0.9215
2026-11-24,GBP,EUR,1.1500
"""
CLI = [sys.executable, "-c", "from dunning_batch.cli import main; main()"]


def policy(*keys: str, base: str = TEN) -> str:
    """`base` with keys added to the standard policy."""
    return with_config({POLICY_MIN: "\n".join([POLICY_MIN, *keys])}, base)


EUR_LETTERS = policy('letter_currency = "EUR"')


def usd(doc_id: str, days_past_due: int, amount: str, **fields) -> dict:
    return item(doc_id, days_past_due, amount, currency="USD", **fields)


def write_inputs(folder: Path, items: list[dict], config: str, rates: str | None = RATES,
                 customers: list[dict] | None = None) -> None:
    """config.toml, open_items.csv, customers.csv and (unless None) rates.csv in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(config, encoding="utf-8")
    write_csv(folder / "open_items.csv", items, OPEN_ITEM_COLUMNS)
    write_csv(folder / "customers.csv", customers or [customer()], CUSTOMER_COLUMNS)
    if rates is not None:
        (folder / "rates.csv").write_text(rates, encoding="utf-8")


def run_rates(tmp_path: Path, items: list[dict], config: str = EUR_LETTERS, rates: str | None = RATES,
              customers: list[dict] | None = None, name: str = "night", **options) -> Outcome:
    """A run of `items` with `rates` (rates.csv) as --rates; its outputs."""
    folder = tmp_path / name
    write_inputs(folder, items, config, rates, customers)
    options.setdefault("pdf", False)
    run(folder / "config.toml", folder / "open_items.csv", folder / "customers.csv", AS_OF, folder / "out",
        rates=folder / "rates.csv" if rates is not None else None, **options)
    return Outcome(folder / "out")


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The command as a user runs it: in `cwd`, with relative paths."""
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


# ------------------------------------------------------------------------- the config keys

@pytest.mark.parametrize("keys, says", [
    (['letter_currency = "EURO"'], "key 'letter_currency': 'EURO' is neither a known ISO 4217 currency code"),
    (['rate_date = "due_date"'], "key 'rate_date': is set but the policy has no letter_currency"),
    (["rate_days_before = 2"], "key 'rate_days_before': is set but the policy has no letter_currency"),
    (['letter_currency = "EUR"', "rate_days_before = -1"], "key 'rate_days_before': must be a number of days"),
    (['letter_currency = "EUR"', 'rate_date = "invoice_date"'], "key 'rate_date': must be one of 'run', 'due_date'"),
])
def test_letter_currency_keys_are_checked(tmp_path, keys, says):
    write_inputs(tmp_path, [item("INV-1", 10)], policy(*keys))
    with pytest.raises(ConfigError) as caught:
        validate(tmp_path / "config.toml", tmp_path / "open_items.csv", tmp_path / "customers.csv", AS_OF)
    assert says in "\n".join(caught.value.lines())


def test_a_customers_letter_currency_must_be_a_currency_code(tmp_path):
    write_inputs(tmp_path, [item("INV-1", 10)], policy('letter_currency = "customer"'),
                 customers=[customer(letter_currency="Euro")])
    problems = validate(tmp_path / "config.toml", tmp_path / "open_items.csv", tmp_path / "customers.csv", AS_OF,
                        rates=tmp_path / "rates.csv")
    assert problems == [f"{tmp_path / 'customers.csv'}:2: letter_currency: 'Euro' is not a known ISO 4217 "
                        f"currency code"]


# ------------------------------------------------------------------------- the rates file

BAD_RATES = """rate_date,from_currency,to_currency,rate
2026-11-23,USD,EUR,0.92155555555
2026-11-23,USD,EUR,0.9215
24.11.2026,USD,EUR,1e3
2026-11-24,EUR,EUR,1
2026-11-24,USD,GBP,0
"""


@pytest.mark.parametrize("strict", [True, False])
def test_rates_file_problems_stop_the_run_strict_or_not(tmp_path, strict):
    """The rates are reference data: a bad row is never set aside (it would convert at an older
    rate without a word), so a lenient run stops on it too; nothing is written."""
    write_inputs(tmp_path, [item("INV-1", 10), usd("INV-2", 12, "100.05")], EUR_LETTERS, BAD_RATES)
    with pytest.raises(InputError) as caught:
        run(tmp_path / "config.toml", tmp_path / "open_items.csv", tmp_path / "customers.csv", AS_OF,
            tmp_path / "out", rates=tmp_path / "rates.csv", strict=strict, pdf=False)
    rates = tmp_path / "rates.csv"
    assert caught.value.lines() == [
        f"{rates}:2: rate: 0.92155555555 has more than 10 decimals; give the rate with at most 10",
        f"{rates}:3: rate_date: repeats the USD->EUR rate of 2026-11-23 (first at row 2); a pair has one rate "
        f"a day: keep one row",
        f"{rates}:4: rate: '1e3' is not a plain decimal rate above zero (digits, one decimal point, at most 10 "
        f"decimals, no exponent)",
        f"{rates}:4: rate_date: '24.11.2026' is not a date in the format %Y-%m-%d",
        f"{rates}:5: to_currency: is EUR, the same as from_currency; a rate converts one currency into another "
        f"(a line in its letter's own currency needs none)",
        f"{rates}:6: rate: must be above zero (1 from_currency = rate to_currency), not 0",
    ]
    assert not (tmp_path / "out").exists()


def test_rates_file_problems_exit_2_on_the_command_line(tmp_path):
    write_inputs(tmp_path, [usd("INV-2", 12, "100.05")], EUR_LETTERS, BAD_RATES)
    done = cli(tmp_path, "run", "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
               "customers.csv", "--rates", "rates.csv", "--as-of", "2026-11-24", "--out", "out", "--no-pdf",
               "--no-strict")
    assert done.returncode == 2, done.stderr
    assert "rates.csv:5: to_currency: is EUR, the same as from_currency" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_the_rates_file_may_map_its_columns_and_write_decimal_commas(tmp_path):
    """[input.rates] reads an export as it is, like [input.payments]: the column names, a day
    format and decimal commas of a German bank's table."""
    config = EUR_LETTERS + '''
[input.rates]
columns = { rate_date = "Datum", from_currency = "Von", to_currency = "Nach", rate = "Kurs" }
date_format = "%d.%m.%Y"
decimal_comma = true
delimiter = ";"
'''
    rates = "Datum;Von;Nach;Kurs\n23.11.2026;USD;EUR;0,9215\n"
    outcome = run_rates(tmp_path, [usd("INV-2", 12, "100.05")], config, rates)
    [line] = outcome.lines
    assert (line["rate"], line["letter_amount"]) == (D("0.9215"), D("92.20"))


# ------------------------------------------------------------------------- a missing rate

def test_a_missing_rate_stops_run_and_validate_naming_the_pair_and_the_day(tmp_path):
    """rate_days_before = 5: the rate day is 2026-11-19, before the first USD->EUR rate (11-20)."""
    write_inputs(tmp_path, [item("INV-1", 10), usd("INV-2", 12, "100.05")],
                 policy('letter_currency = "EUR"', "rate_days_before = 5"))
    want = ("open_items.csv:3: currency: no USD->EUR rate on or before 2026-11-19 in rates.csv (rate day of the "
            "item: run date 2026-11-24 - 5 days); its first USD->EUR rate is of 2026-11-20; add a row with "
            "rate_date 2026-11-19 (or earlier), from_currency USD, to_currency EUR and the rate (1 USD = rate EUR)")
    for command in ("run", "validate"):
        args = ["--config", "config.toml", "--open-items", "open_items.csv", "--customers", "customers.csv",
                "--rates", "rates.csv", "--as-of", "2026-11-24"]
        if command == "run":
            args += ["--out", "out", "--no-pdf"]
        done = cli(tmp_path, command, *args)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr.strip() == want, command
        assert not (tmp_path / "out").exists()


def test_without_a_rates_file_a_conversion_says_to_give_one(tmp_path):
    write_inputs(tmp_path, [usd("INV-2", 12, "100.05")], EUR_LETTERS, rates=None)
    done = cli(tmp_path, "validate", "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
               "customers.csv", "--as-of", "2026-11-24")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "open_items.csv:2: currency: is USD, but policy 'standard' writes its letters in EUR and the run has no "
        "exchange rates; give them with --rates (a USD->EUR rate on or before 2026-11-24, the rate day of the "
        "item: run date 2026-11-24 - 0 days)")


def test_only_the_direct_pair_converts_and_the_message_says_the_inverse_is_there(tmp_path):
    rates = "rate_date,from_currency,to_currency,rate\n2026-11-24,EUR,USD,1.0852\n"
    write_inputs(tmp_path, [usd("INV-2", 12, "100.05")], EUR_LETTERS, rates)
    problems = validate(tmp_path / "config.toml", tmp_path / "open_items.csv", tmp_path / "customers.csv", AS_OF,
                        rates=tmp_path / "rates.csv")
    assert problems == [f"{tmp_path / 'open_items.csv'}:2: currency: no USD->EUR rate on or before 2026-11-24 in "
                        f"{tmp_path / 'rates.csv'} (rate day of the item: run date 2026-11-24 - 0 days); it has "
                        f"EUR->USD rates, but only the direct pair converts a line; add a row with rate_date "
                        f"2026-11-24 (or earlier), from_currency USD, to_currency EUR and the rate (1 USD = rate EUR)"]


def test_a_lenient_run_rejects_the_item_without_a_rate(tmp_path):
    """strict = false: the item with no rate is set aside with its reason; the EUR item is dunned."""
    outcome = run_rates(tmp_path, [item("INV-1", 10), usd("INV-2", 12, "100.05", due_date=days_before(12))],
                        policy('letter_currency = "EUR"', 'rate_date = "due_date"'), strict=False)
    # rate day = due date 2026-11-12 - 0 days: before every USD->EUR rate
    [rejected] = outcome.rejected
    assert (rejected["row_number"], rejected["currency"]) == (3, "USD")
    assert rejected["reason"].startswith("currency: no USD->EUR rate on or before 2026-11-12 in ")
    assert "(rate day of the item: due date 2026-11-12 - 0 days)" in rejected["reason"]
    assert outcome.decisions["INV-1"]["reason"] == "advanced"


# ------------------------------------------------------------------------- the conversion

def letter_id(key: str) -> str:
    return f"DL-{AS_OF:%Y%m%d}-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def line_view(outcome: Outcome) -> list[tuple]:
    return [(r["line_type"], r["doc_id"], r["currency"], r["open_amount"], r["interest_amount"], r["rate"],
             r["rate_date"], r["letter_amount"]) for r in outcome.lines]


def test_eur_and_usd_items_share_one_eur_letter_each_line_rounded_half_up(tmp_path):
    """USD at 0.9215 (of 2026-11-23, the latest on or before the run date): 100.05 x 0.9215 =
    92.196075 -> 92.20; 200.10 x 0.9215 = 184.39215 -> 184.39. One letter C1|EUR||, level 1 (no
    fee, no interest): overdue 100.00 + 92.20 + 184.39 = 376.59."""
    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), usd("INV-2", 12, "100.05"),
                                   usd("INV-3", 15, "200.10")])
    [letter] = outcome.letters
    assert letter["letter_id"] == letter_id("C1|EUR||")
    assert (letter["currency"], letter["overdue_total"], letter["total_due"]) == ("EUR", D("376.59"), D("376.59"))
    rate, day = D("0.9215"), dt.date(2026, 11, 23)
    assert line_view(outcome) == [
        ("overdue", "INV-3", "USD", D("200.10"), None, rate, day, D("184.39")),
        ("overdue", "INV-2", "USD", D("100.05"), None, rate, day, D("92.20")),
        ("overdue", "INV-1", "EUR", D("100.00"), None, D("1"), None, D("100.00")),
    ]
    # decisions keep each item's own currency and amount (SPEC §8.2 per input currency)
    assert {d: (r["currency"], r["open_amount"], r["reason"]) for d, r in outcome.decisions.items()} == {
        "INV-1": ("EUR", D("100.00"), "advanced"), "INV-2": ("USD", D("100.05"), "advanced"),
        "INV-3": ("USD", D("200.10"), "advanced")}
    assert [c.line() for c in reconcile(outcome.out) if not c.ok] == []


def test_a_credit_is_converted_away_from_zero(tmp_path):
    """include_credits: a USD credit of -10.50 x 0.9215 = -9.67575 -> -9.68 EUR."""
    config = with_config({"include_credits = false": "include_credits = true"}, EUR_LETTERS)
    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), usd("CRN-1", 5, "-10.50", doc_type="credit_memo")],
                        config)
    [letter] = outcome.letters
    assert (letter["credit_total"], letter["total_due"]) == (D("-9.68"), D("90.32"))


@pytest.mark.parametrize("days_before, rate, rate_date, amount", [
    (0, "0.9215", dt.date(2026, 11, 23), "92.20"),    # rate day 11-24: the row of 11-23
    (1, "0.9215", dt.date(2026, 11, 23), "92.20"),    # rate day 11-23: its own row
    (3, "0.92", dt.date(2026, 11, 20), "92.05"),      # rate day 11-21: the latest before it, 11-20; 92.046
])
def test_the_rate_is_the_latest_on_or_before_the_run_date_minus_days_before(tmp_path, days_before, rate,
                                                                            rate_date, amount):
    outcome = run_rates(tmp_path, [usd("INV-2", 12, "100.05")],
                        policy('letter_currency = "EUR"', f"rate_days_before = {days_before}"))
    [line] = outcome.lines
    assert (line["rate"], line["rate_date"], line["letter_amount"]) == (D(rate), rate_date, D(amount))


def test_rate_date_due_date_takes_each_items_due_date(tmp_path):
    """Rates USD->EUR 0.91 of 11-10 and 0.93 of 11-13. INV-A due 11-12 -> 0.91: 100.05 x 0.91 =
    91.0455 -> 91.05; INV-B due 11-14 -> 0.93: 200.10 x 0.93 = 186.093 -> 186.09."""
    rates = "rate_date,from_currency,to_currency,rate\n2026-11-10,USD,EUR,0.91\n2026-11-13,USD,EUR,0.93\n"
    outcome = run_rates(tmp_path, [usd("INV-A", 12, "100.05"), usd("INV-B", 10, "200.10")],
                        policy('letter_currency = "EUR"', 'rate_date = "due_date"'), rates)
    assert {r["doc_id"]: (r["rate"], r["rate_date"], r["letter_amount"]) for r in outcome.lines} == {
        "INV-A": (D("0.91"), dt.date(2026, 11, 10), D("91.05")),
        "INV-B": (D("0.93"), dt.date(2026, 11, 13), D("186.09"))}
    assert outcome.letters[0]["overdue_total"] == D("277.14")


def test_min_amount_is_in_the_letter_currency(tmp_path):
    """min_amount EUR 100.00: 105.00 USD is above 100 but converts to 96.7575 -> 96.76 EUR,
    below the minimum: no letter, reason below_min_amount."""
    config = with_config({POLICY_MIN: 'min_amount = { EUR = 100.00 }\nletter_currency = "EUR"'}, TEN)
    outcome = run_rates(tmp_path, [usd("INV-2", 12, "105.00")], config)
    assert outcome.letters == []
    assert outcome.decisions["INV-2"]["reason"] == "below_min_amount"
    details = outcome._rows("SELECT * FROM item_details")[0]
    assert (details["candidate_overdue_total"], details["letter_currency"], details["letter_amount"]) == (
        D("96.76"), "EUR", D("96.76"))


LEVEL_2_USD = usd("INV-2", 30, "2500.00", dunning_level=1, last_dunned_on=days_before(20))


def test_fee_is_in_the_letter_currency_and_interest_is_computed_in_usd_then_converted(tmp_path):
    """Level 2: fee EUR 5.00 (the config has no USD fee: none is needed). Interest in USD:
    2500.00 x 30 days x 10 % / 365 = 20.547945 -> 20.55 USD; x 0.9215 = 18.936825 -> 18.94 EUR.
    Overdue 2500.00 x 0.9215 = 2303.75 EUR; total due 2303.75 + 5.00 + 18.94 = 2327.69 EUR."""
    outcome = run_rates(tmp_path, [LEVEL_2_USD])
    [letter] = outcome.letters
    assert (letter["level"], letter["overdue_total"], letter["fee"], letter["interest_total"], letter["total_due"]) == (
        2, D("2303.75"), D("5.00"), D("18.94"), D("2327.69"))
    rate, day = D("0.9215"), dt.date(2026, 11, 23)
    assert line_view(outcome) == [
        ("overdue", "INV-2", "USD", D("2500.00"), None, rate, day, D("2303.75")),
        ("interest", "INV-2", "USD", D("2500.00"), D("20.55"), rate, day, D("18.94")),
    ]
    assert [(f["currency"], f["amount"]) for f in outcome.fees] == [("EUR", D("5.00"))]
    assert [c.line() for c in reconcile(outcome.out) if not c.ok] == []


def test_fee_percent_is_taken_of_the_converted_overdue_total(tmp_path):
    """fee_percent 1.5 on 2303.75 EUR = 34.55625 -> 34.56 EUR; total 2303.75 + 34.56 + 18.94 = 2357.25."""
    config = with_config({'  fee = { EUR = 5.00 }\n  interest = true\n  template = "second_reminder"':
                          '  fee_percent = 1.5\n  interest = true\n  template = "second_reminder"'}, EUR_LETTERS)
    outcome = run_rates(tmp_path, [LEVEL_2_USD], config)
    [letter] = outcome.letters
    assert (letter["fee"], letter["total_due"]) == (D("34.56"), D("2357.25"))
    assert [c.line() for c in reconcile(outcome.out) if not c.ok] == []


BOTH = re.sub(r"\{ EUR = ([\d.]+) \}", r"{ EUR = \1, USD = \1 }", TEN)
CUSTOMER_LETTERS = BOTH.replace("min_amount = { EUR = 5.00, USD = 5.00 }",
                                "min_amount = { EUR = 5.00, USD = 5.00 }\nletter_currency = \"customer\"")
CUSTOMER_RATES = RATES + "2026-11-24,EUR,USD,1.0852\n"


def test_letter_currency_customer_takes_the_customers_column_else_the_items_own(tmp_path):
    """C1 writes in USD: EUR 100.00 x 1.0852 = 108.52 USD + 50.00 USD = 158.52 USD, one letter.
    C2 has no letter_currency: one letter per currency, as without the key."""
    items = [item("INV-1", 10, "100.00"), usd("INV-2", 10, "50.00"),
             item("INV-3", 10, "70.00", customer_id="C2"), usd("INV-4", 10, "30.00", customer_id="C2")]
    outcome = run_rates(tmp_path, items, CUSTOMER_LETTERS, CUSTOMER_RATES,
                        customers=[customer("C1", letter_currency="USD"), customer("C2")])
    totals = {l["letter_id"]: (l["currency"], l["overdue_total"]) for l in outcome.letters}
    assert totals == {letter_id("C1|USD||"): ("USD", D("158.52")), letter_id("C2|EUR||"): ("EUR", D("70.00")),
                      letter_id("C2|USD||"): ("USD", D("30.00"))}
    assert {r["doc_id"]: (r["rate"], r["letter_amount"]) for r in outcome.lines} == {
        "INV-1": (D("1.0852"), D("108.52")), "INV-2": (D("1"), D("50.00")),
        "INV-3": (D("1"), D("70.00")), "INV-4": (D("1"), D("30.00"))}


def test_run_json_records_the_rates_input(tmp_path):
    outcome = run_rates(tmp_path, [usd("INV-2", 12, "100.05")])
    rates = outcome.manifest["inputs"]["rates"]
    assert (Path(rates["path"]).name, rates["rows"]) == ("rates.csv", 3)
    assert rates["sha256"] == hashlib.sha256((tmp_path / "night" / "rates.csv").read_bytes()).hexdigest()
    assert (outcome.out / "cfg_letter_currencies.parquet").is_file()


def test_without_the_key_the_new_columns_are_not_written(tmp_path):
    """SPEC §11 off: letter_lines and item_details keep the columns of SPEC §5 and §9 (the pins
    of tests/test_no_money_rules.py hold the bytes); with the key they gain the conversion."""
    import pyarrow.parquet as pq

    off = run_rates(tmp_path, [item("INV-1", 10)], TEN, name="off")
    on = run_rates(tmp_path, [item("INV-1", 10)], EUR_LETTERS, name="on")
    new = {"currency", "rate", "rate_date", "letter_amount"}
    assert not new & set(pq.read_schema(off.out / "letter_lines.parquet").names)
    assert new <= set(pq.read_schema(on.out / "letter_lines.parquet").names)
    assert {"letter_currency", "rate_day"} <= set(pq.read_schema(on.out / "item_details.parquet").names)
    assert not (off.out / "cfg_letter_currencies.parquet").exists()


def test_late_payment_interest_is_converted_at_the_payments_rate(tmp_path):
    """SPEC §9.5 in an EUR letter: P-1, 2000.00 USD paid 10 days late: 2000.00 x 10 x 10 % / 365 =
    5.479452 -> 5.48 USD, x 0.9215 = 5.04982 -> 5.05 EUR; P-2, 1000.00 EUR 10 days late: 2.74 EUR.
    Interest total 18.94 (INV-2) + 5.05 + 2.74 = 26.73 EUR. payments_charged keeps each payment's
    interest in its own currency, for the ERP to mark it."""
    from dunning_batch.config import PAYMENT_COLUMNS

    config = with_config({'  fee = { EUR = 5.00 }\n  interest = true\n  template = "second_reminder"':
                          '  fee = { EUR = 5.00 }\n  interest = true\n  late_payment_interest = true\n'
                          '  template = "second_reminder"'}, EUR_LETTERS)
    folder = tmp_path / "night"
    write_inputs(folder, [LEVEL_2_USD], config)
    payments = [{"payment_id": "P-1", "customer_id": "C1", "doc_id": "INV-8", "currency": "USD",
                 "due_date": "2026-10-01", "paid_on": "2026-10-11", "amount": "2000.00"},
                {"payment_id": "P-2", "customer_id": "C1", "doc_id": "INV-9", "currency": "EUR",
                 "due_date": "2026-10-01", "paid_on": "2026-10-11", "amount": "1000.00"}]
    write_csv(folder / "payments.csv", payments, PAYMENT_COLUMNS)
    run(folder / "config.toml", folder / "open_items.csv", folder / "customers.csv", AS_OF, folder / "out",
        rates=folder / "rates.csv", payments=folder / "payments.csv", pdf=False)
    outcome = Outcome(folder / "out")
    late = [(r["doc_id"], r["currency"], r["interest_amount"], r["rate"], r["letter_amount"])
            for r in outcome.lines if r["line_type"] == "late_interest"]
    assert late == [("INV-8", "USD", D("5.48"), D("0.9215"), D("5.05")), ("INV-9", "EUR", D("2.74"), D("1"), D("2.74"))]
    [letter] = outcome.letters
    assert letter["interest_total"] == D("26.73")
    assert outcome._rows("SELECT payment_id, interest_amount FROM payments_charged ORDER BY payment_id") == [
        {"payment_id": "P-1", "interest_amount": D("5.48")}, {"payment_id": "P-2", "interest_amount": D("2.74")}]
    assert [c.line() for c in reconcile(outcome.out) if not c.ok] == []


# ------------------------------------------------------------------------- letters and explain

def test_the_letter_shows_each_line_in_its_currency_and_in_the_letters(tmp_path):
    """The PDF: USD lines in $ with their EUR amount beside, the EUR line as it is, the rates note
    under the table, each USD interest line with its EUR amount, the totals in EUR."""
    from pypdf import PdfReader

    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), LEVEL_2_USD], pdf=True, workers=1)
    [letter] = outcome.letters
    text = "\n".join(page.extract_text() for page in PdfReader(outcome.out / letter["pdf_path"]).pages)
    assert "Document Due date Days overdue Open amount Interest In EUR" in text
    assert "INV-2 Oct 25, 2026 30 $2,500.00 $20.55 €2,303.75" in text
    assert "INV-1 Nov 14, 2026 10 €100.00 €0.27 €100.00" in text
    assert "Amounts in other currencies are converted into EUR at the reference rates:\n" \
           "1 USD = 0.9215 EUR (rate of Nov 23, 2026)" in text
    assert "(30 days): $20.55 = €18.94" in text
    # 2303.75 + 100.00 = 2403.75 overdue; interest 18.94 + 0.27 = 19.21; fee 5.00
    assert "Overdue amount €2,403.75\nInterest €19.21\nDunning fee €5.00\nTotal due €2,427.96" in text


def test_a_german_letter_words_the_rates_note_from_its_catalogue(tmp_path):
    from pypdf import PdfReader

    outcome = run_rates(tmp_path, [usd("INV-2", 12, "100.05")], customers=[customer(language="de")], pdf=True,
                        workers=1)
    [letter] = outcome.letters
    text = "\n".join(page.extract_text() for page in PdfReader(outcome.out / letter["pdf_path"]).pages)
    assert "Beträge in anderen Währungen sind zu den Referenzkursen in EUR umgerechnet:\n" \
           "1 USD = 0,9215 EUR (Kurs vom 23.11.2026)" in text


def test_explain_tells_the_rate_and_its_day(tmp_path):
    from dunning_batch.checks.explain import explain

    outcome = run_rates(tmp_path, [LEVEL_2_USD])
    text = explain(outcome.out, "INV-2")
    assert ("Its letter is in EUR: USD 2,500.00 at 0.9215 (rate of 2026-11-23, the latest on or before the rate "
            "day 2026-11-24) = EUR 2,303.75.") in text
    assert "Interest on 2,500.00 USD: 10 % a year (act/365) for 30 days, 2026-10-26 to 2026-11-24 = 20.55 USD." in text
    assert "At 0.9215: USD 20.55 = EUR 18.94." in text
    assert "total due 2,327.69 EUR." in text


def test_explain_words_a_minimum_in_the_letter_currency(tmp_path):
    from dunning_batch.checks.explain import explain

    config = with_config({POLICY_MIN: 'min_amount = { EUR = 100.00 }\nletter_currency = "EUR"'}, TEN)
    outcome = run_rates(tmp_path, [usd("INV-2", 12, "105.00")], config)
    assert ("that letter's overdue total 96.76 EUR is below policy standard's minimum of 100.00 EUR"
            in explain(outcome.out, "INV-2"))


def test_the_ecb_example_table_reads_clean_and_converts_eur_into_a_usd_letter(tmp_path):
    """fixtures/rates_ecb.csv (ECB reference rates, fixtures/README.md): 100.00 EUR in a USD letter
    at 1.0705 (of 2024-06-28, the latest on or before the run date) = 107.05 USD."""
    rates = (ROOT / "fixtures" / "rates_ecb.csv").read_text(encoding="utf-8")
    config = re.sub(r"\{ EUR = ([\d.]+) \}", r"{ USD = \1 }", TEN).replace(
        "min_amount = { USD = 5.00 }", 'min_amount = { USD = 5.00 }\nletter_currency = "USD"', 1)
    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00")], config, rates)
    [line] = outcome.lines
    assert (line["rate"], line["rate_date"], line["letter_amount"]) == (D("1.0705"), dt.date(2024, 6, 28), D("107.05"))
    assert outcome.letters[0]["currency"] == "USD"


def test_a_dask_run_converts_like_one_machine(tmp_path):
    """run --dask: every shard reads the whole rates file; the folder is byte for byte the same."""
    pytest.importorskip("distributed")
    items = [item("INV-1", 10, "100.00"), usd("INV-2", 12, "100.05"),
             usd("INV-3", 15, "200.10", customer_id="C2"), LEVEL_2_USD | {"doc_id": "INV-4", "customer_id": "C3"}]
    customers = [customer("C1"), customer("C2"), customer("C3")]
    one = run_rates(tmp_path, items, customers=customers, name="one").out
    dask = run_rates(tmp_path, items, customers=customers, name="dask", dask="local:2").out
    names = sorted(p.name for p in one.iterdir() if p.is_file() and p.name != "run.json")
    assert names == sorted(p.name for p in dask.iterdir() if p.is_file() and p.name != "run.json")
    different = [n for n in names if (one / n).read_bytes() != (dask / n).read_bytes()]
    assert different == []
    assert len(Outcome(dask).letters) == 3


def test_min_percent_compares_with_the_converted_balance(tmp_path):
    """min_percent 50: INV-1 100.00 EUR overdue; NOT-1 105.00 USD not yet due counts in the
    balance converted: 96.7575 -> 96.76, balance 196.76 EUR, 50 % = 98.38 <= 100.00: the letter
    goes out (unconverted, 205.00 would have suppressed it)."""
    outcome = run_rates(tmp_path, [item("INV-1", 10, "100.00"), usd("NOT-1", -5, "105.00")],
                        policy('letter_currency = "EUR"', "min_percent = 50"))
    [letter] = outcome.letters
    assert letter["overdue_total"] == D("100.00")
    details = {r["doc_id"]: r for r in outcome._rows("SELECT * FROM item_details")}
    assert details["INV-1"]["open_balance"] == D("196.76")


def test_a_courtesy_notice_sums_converted_lines(tmp_path):
    """pre_due_days 5: a USD item due in 3 days goes into an EUR notice: 100.05 -> 92.20 EUR."""
    outcome = run_rates(tmp_path, [usd("INV-2", -3, "100.05")],
                        policy('letter_currency = "EUR"', "pre_due_days = 5"))
    [notice] = outcome.letters
    assert notice["letter_id"] == letter_id("C1|EUR||pre_due")
    assert (notice["currency"], notice["current_total"], notice["total_due"]) == ("EUR", D("92.20"), D("92.20"))


def test_the_rates_may_be_a_parquet_file_with_typed_columns(tmp_path):
    """A Parquet rates file keeps its types: DATE days and DECIMAL rates are read as they are."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "night"
    write_inputs(folder, [usd("INV-2", 12, "100.05")], EUR_LETTERS, rates=None)
    pq.write_table(pa.table({"rate_date": pa.array([dt.date(2026, 11, 23)], pa.date32()),
                             "from_currency": ["USD"], "to_currency": ["EUR"],
                             "rate": pa.array([D("0.921500")], pa.decimal128(10, 6))}), folder / "rates.parquet")
    run(folder / "config.toml", folder / "open_items.csv", folder / "customers.csv", AS_OF, folder / "out",
        rates=folder / "rates.parquet", pdf=False)
    [line] = Outcome(folder / "out").lines
    assert (line["rate"], line["rate_date"], line["letter_amount"]) == (D("0.9215"), dt.date(2026, 11, 23), D("92.20"))


def test_uk_compensation_bands_read_the_converted_amount_of_a_gbp_letter(tmp_path):
    """A GBP letter (letter_currency "GBP") of an EUR invoice of 1,100.00 at EUR->GBP 0.87:
    957.00 GBP, below 1,000.00: compensation 40.00 GBP (the EUR figure would have given 70.00).
    Interest 1100.00 x 30 x 10 % / 365 = 9.041096 -> 9.04 EUR -> 7.8648 -> 7.86 GBP; fee 5.00 GBP;
    total 957.00 + 7.86 + 5.00 + 40.00 = 1,009.86 GBP."""
    config = re.sub(r"\{ EUR = ([\d.]+) \}", r"{ GBP = \1 }", TEN).replace(
        "min_amount = { GBP = 5.00 }", 'min_amount = { GBP = 5.00 }\nletter_currency = "GBP"', 1).replace(
        '  interest = true\n  template = "second_reminder"', '  interest = true\n  compensation = "uk"\n'
                                                            '  template = "second_reminder"')
    rates = "rate_date,from_currency,to_currency,rate\n2026-11-24,EUR,GBP,0.87\n"
    invoice = item("INV-1", 30, "1100.00", amount="1100.00", dunning_level=1, last_dunned_on=days_before(20))
    outcome = run_rates(tmp_path, [invoice], config, rates)
    [letter] = outcome.letters
    assert (letter["currency"], letter["overdue_total"], letter["interest_total"], letter["fee"],
            letter["compensation_total"], letter["total_due"]) == (
        "GBP", D("957.00"), D("7.86"), D("5.00"), D("40.00"), D("1009.86"))
    assert [c.line() for c in reconcile(outcome.out) if not c.ok] == []
