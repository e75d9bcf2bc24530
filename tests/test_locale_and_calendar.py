"""Issue 19: letters formatted by the customer's locale (language and country, Babel), pay-by
dates on business days ([run] pay_by_calendar, the holidays package), and no letter to the
print channel without a postal address (SPEC §10.1).

Every check reads a real outcome: the text of the rendered PDF (pypdf), the email in the
outbox, the parquet outputs and run.json.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import subprocess
import sys
from pathlib import Path

import holidays
import pytest
from pypdf import PdfReader

from conftest import ROOT, SPEC_CONFIG, customer, item, with_config
from dunning_batch.errors import ConfigError

NNBSP = "\u202f"  # narrow no-break space: French digit groups, and before ; ? ! %
NBSP = "\u00a0"


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def letter_texts(outcome) -> dict[str, str]:
    """customer_id -> the text of its letter's PDF."""
    return {x["customer_id"]: pdf_text(outcome.out / x["pdf_path"]) for x in outcome.letters}


# ------------------------------------------------------------------ locale by customer

LOCALE_ITEMS = [
    item("INV-GB", 10, "1234.56", customer_id="GB"),
    item("INV-US", 10, "1234.56", customer_id="US"),
    item("INV-FR", 10, "1234.56", customer_id="FR"),
    item("INV-IN", 10, "1234567.00", customer_id="IN"),
    item("INV-CH", 10, "1234.56", customer_id="CH"),
    item("INV-XX", 10, "1234.56", customer_id="XX"),
]
LOCALE_CUSTOMERS = [
    customer("GB", language="en", country="GB", address="1 High Street\nLeeds LS1 1AA"),
    customer("US", language="en", country="US", address="1 Main St\nChicago, IL 60601"),
    customer("FR", language="fr_FR", country="FR", address="1 rue de la Paix\n75002 Paris"),
    customer("IN", language="en_IN", address="1 MG Road\nBengaluru 560001"),
    customer("CH", language="de-CH", country="CH", address="Bahnhofstrasse 1\n8001 Zürich"),
    customer("XX", language="xx", country="DE", address="Hauptstr. 2\n10115 Berlin"),
]


@pytest.fixture(scope="module")
def locale_run(tmp_path_factory):
    from conftest import Scenario
    scenario = Scenario(tmp_path_factory.mktemp("locale"))
    return scenario.run(LOCALE_ITEMS, LOCALE_CUSTOMERS, pdf=True)


def test_en_with_a_gb_country_gets_day_first_dates(locale_run):
    texts = letter_texts(locale_run)
    assert "24 Nov 2026" in texts["GB"] and "Nov 24, 2026" not in texts["GB"]
    assert "4 Dec 2026" in texts["GB"]                         # the pay-by date, run date + 10 days
    assert "Nov 24, 2026" in texts["US"] and "24 Nov 2026" not in texts["US"]
    assert "€1,234.56" in texts["GB"] and "€1,234.56" in texts["US"]


def test_a_locale_like_fr_FR_gets_the_french_catalogue_and_french_numbers(locale_run):
    text = letter_texts(locale_run)["FR"]
    assert "Rappel de paiement" in text and "Payment reminder" not in text
    assert f"1{NNBSP}234,56{NBSP}€" in text                      # U+202F survives into the PDF (DejaVu Sans)
    assert "24 nov. 2026" in text


def test_en_IN_groups_in_lakhs(locale_run):
    text = letter_texts(locale_run)["IN"]
    assert "€12,34,567.00" in text and "€1,234,567.00" not in text
    assert "24 Nov 2026" in text


def test_de_CH_with_a_hyphen_gets_the_german_catalogue_and_swiss_numbers(locale_run):
    text = letter_texts(locale_run)["CH"]
    assert "Zahlungserinnerung" in text
    assert "EUR\u00a01’234.56" in text
    assert "24.11.2026" in text


def test_a_language_without_a_catalogue_stays_english(locale_run):
    # as before issue 19: English words; the formats of English in the customer's country
    text = letter_texts(locale_run)["XX"]
    assert "Payment reminder" in text


def test_letters_keep_the_language_as_the_export_gave_it(locale_run):
    languages = {x["customer_id"]: x["language"] for x in locale_run.letters}
    assert languages["FR"] == "fr_fr" and languages["CH"] == "de-ch"   # the stages keep it in lower case


def test_the_email_formats_like_the_letter(tmp_path):
    from conftest import Scenario
    customers = [customer("GB", language="en", country="GB", email="ap@example.co.uk", address="1 High St\nLeeds"),
                 customer("FR", language="fr_FR", country="FR", email="compta@example.fr", address="1 rue\nParis")]
    outcome = Scenario(tmp_path).run([item("INV-GB", 10, "1234.56", customer_id="GB"),
                                      item("INV-FR", 10, "1234.56", customer_id="FR")], customers, pdf=True)
    bodies = {}
    for letter in outcome.letters:
        message = email.message_from_bytes((outcome.out / "outbox" / f"{letter['letter_id']}.eml").read_bytes(),
                                           policy=email.policy.default)
        bodies[letter["customer_id"]] = message.get_body(("plain",)).get_content()
    assert "4 Dec 2026" in bodies["GB"] and "€1,234.56" in bodies["GB"]
    assert f"1{NNBSP}234,56{NBSP}€" in bodies["FR"] and "4 déc. 2026" in bodies["FR"]


def test_letter_locale():
    from dunning_batch.letters.templating import catalog, letter_locale
    assert letter_locale("en", "GB") == "en-GB"
    assert letter_locale("en", "IE") == "en-IE"
    assert letter_locale("en", "US") == "en" and letter_locale("en", None) == "en"   # today's formats
    assert letter_locale("de", "DE") == "de" and letter_locale("de", "AT") == "de-AT"
    assert letter_locale("fr", "CH") == "fr-CH" and letter_locale("fr", "BE") == "fr-BE"
    assert letter_locale("fr_fr", "FR") == "fr" and letter_locale("en_in", None) == "en-IN"
    assert letter_locale("de-ch", "DE") == "de-CH"          # the language's region wins over the country
    assert letter_locale("pl", "ZZ") == "pl"                # a region Babel does not know: the language's own
    assert catalog("fr_FR") == catalog("fr") and catalog("xx") == catalog("en")


def test_french_catalogue_never_breaks_a_line_before_high_punctuation():
    import re
    import tomllib
    texts = tomllib.loads((ROOT / "templates" / "messages" / "fr.toml").read_text(encoding="utf-8"))

    def strings(table):
        for value in table.values():
            yield from strings(value) if isinstance(value, dict) else [value]
    breakable = [s for s in strings(texts) if re.search(r"\s[:;?!%»]|«\s", s.replace(NBSP, "").replace(NNBSP, ""))
                 or re.search(r" [:;?!%»]|« ", s)]
    assert not breakable
    assert f"suivant{NBSP}:" in texts["common"]["bank_details"]


# ------------------------------------------------------------------ pay-by dates on business days

def calendar_config(calendar: str | None, days_to_settle: int = 32) -> str:
    """SPEC_CONFIG whose level 2 (fee 5.00, interest) settles in `days_to_settle` days, interest
    to the pay-by date, with [run] pay_by_calendar = `calendar` (None: unset)."""
    replacements = {'days_to_settle = 7\n  fee = { EUR = 5.00 }': f'days_to_settle = {days_to_settle}\n  fee = {{ EUR = 5.00 }}',
                    'calculate_to = "letter_date"': 'calculate_to = "pay_by_date"'}
    if calendar is not None:
        replacements['strict = true'] = f'strict = true\npay_by_calendar = "{calendar}"'
    return with_config(replacements)


LEVEL_2 = [item("INV-2", 30, "2500.00", dunning_level=1, last_dunned_on="2026-11-04")]


def test_pay_by_on_a_saturday_holiday_moves_to_monday(scenario):
    # 2026-11-24 + 32 days = Saturday 2026-12-26, Boxing Day (Zweiter Weihnachtstag) in Germany
    assert dt.date(2026, 12, 26).isoweekday() == 6 and dt.date(2026, 12, 26) in holidays.country_holidays("DE")
    outcome = scenario.run(LEVEL_2, config=calendar_config("DE"))
    [letter] = outcome.letters
    assert letter["pay_by"] == dt.date(2026, 12, 28)
    # what reads the pay-by date follows it: interest to the pay-by date, the fee document's due date
    [line] = [x for x in outcome.lines if x["line_type"] == "interest"]
    assert line["interest_to"] == dt.date(2026, 12, 28)
    assert line["interest_days"] == (dt.date(2026, 12, 28) - dt.date(2026, 10, 25)).days
    [fee] = outcome.fees
    assert fee["due_date"] == dt.date(2026, 12, 28)
    run = outcome.manifest["run"]
    assert run["pay_by_calendar"] == "DE"
    assert run["pay_by_holidays"]["2026-12-26"] == "Second Day of Christmas"


def test_unset_calendar_leaves_the_computed_date(scenario):
    outcome = scenario.run(LEVEL_2, config=calendar_config(None))
    [letter] = outcome.letters
    assert letter["pay_by"] == dt.date(2026, 12, 26)                 # a Saturday, as computed
    [line] = [x for x in outcome.lines if x["line_type"] == "interest"]
    assert line["interest_to"] == dt.date(2026, 12, 26)
    assert "pay_by_calendar" not in outcome.manifest["run"]


def test_a_subdivision_moves_over_its_own_holidays(scenario):
    # 2026-11-24 + 43 days = Wednesday 2027-01-06, Epiphany: a holiday in Bavaria, not Germany-wide
    epiphany = dt.date(2027, 1, 6)
    assert epiphany in holidays.country_holidays("DE", subdiv="BY") and epiphany not in holidays.country_holidays("DE")
    assert scenario.run(LEVEL_2, config=calendar_config("DE", 43)).letters[0]["pay_by"] == epiphany
    assert scenario.run(LEVEL_2, config=calendar_config("DE-BY", 43)).letters[0]["pay_by"] == dt.date(2027, 1, 7)


def test_a_weekend_moves_without_a_holiday(scenario):
    # 2026-11-24 + 11 = Saturday 2026-12-05, no holiday: Monday 2026-12-07
    assert scenario.run(LEVEL_2, config=calendar_config("FR", 11)).letters[0]["pay_by"] == dt.date(2026, 12, 7)


@pytest.mark.parametrize("calendar, words", [
    ("XX", ["'XX'", "list_supported_countries"]),
    ("DE-ZZ", ["'ZZ'", "DE-BY"]),
])
def test_an_unknown_calendar_is_a_config_error(scenario, calendar, words):
    with pytest.raises(ConfigError) as caught:
        scenario.run(LEVEL_2, config=calendar_config(calendar))
    message = str(caught.value)
    assert "pay_by_calendar" in message and all(w in message for w in words), message


def test_calendar_codes_in_any_case():
    from dunning_batch.config.holiday_calendar import parse, problem
    assert parse("de-by") == ("DE", "BY") and parse("DE-augsburg") == ("DE", "Augsburg")
    assert problem("de-by") is None and problem("gb-eng") is None


# ------------------------------------------------------------------ print channel without an address

NO_ADDRESS = [customer("C1", address=""), customer("C2", address="\n", email="c2@example.com", delivery="both"),
              customer("C3", email="c3@example.com")]
THREE_ITEMS = [item("INV-1", 10), item("INV-2", 10, customer_id="C2"), item("INV-3", 10, customer_id="C3")]


def test_print_without_address_stops_a_strict_run(tmp_path):
    from conftest import Scenario, write_csv
    from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
    write_csv(tmp_path / "open_items.csv", THREE_ITEMS, OPEN_ITEM_COLUMNS)
    write_csv(tmp_path / "customers.csv", NO_ADDRESS, CUSTOMER_COLUMNS)
    (tmp_path / "config.toml").write_text(SPEC_CONFIG, encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "run",
                             "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
                             "customers.csv", "--as-of", "2026-11-24", "--out", "out", "--no-pdf"],
                            cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 2, result.stderr
    assert "customers.csv:2: address: is empty, but delivery 'print' sends the letter by post" in result.stderr
    assert "give the postal address" in result.stderr and "row 3" in result.stderr   # C2: both, a line break only
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_print_without_address_rejects_the_customer_non_strict(scenario):
    outcome = scenario.run(THREE_ITEMS, NO_ADDRESS, config=with_config({"strict = true": "strict = false"}))
    rejected = {(r["source"], r["row_number"]): r["reason"] for r in outcome.rejected}
    assert rejected[("customers", 2)].startswith("address: is empty, but delivery 'print'")
    assert rejected[("customers", 3)].startswith("address: is empty, but delivery 'both'")
    assert "customer 'C1' was rejected" in rejected[("open_items", 2)]
    assert [x["customer_id"] for x in outcome.letters] == ["C3"]      # email only: no address needed
