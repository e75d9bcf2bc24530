"""Every config key, section by section: its kind, default, allowed values and one-line meaning.

The one place these facts live: `load.py` reads each key through `Table.get(key)`, which takes
the kind, default and allowed values from here (a key missing here cannot be read: Table.get
fails), and `reference.py` writes docs/config.md from the same entries. To add a key, add one
`Key(...)` line to its section below, then run `python -m dunning_batch.config.reference >
docs/config.md`. Range checks that need more than a kind or a list of values stay in load.py;
their bounds are the model's constants, which `allowed` quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..letters.payment_codes import QR_KINDS
from .model import (BASES, CALCULATE_TO, COMPENSATION_KINDS, CUSTOMER_COLUMNS, DOC_TYPES, FEE_TIER_MODES, GROUPINGS,
                    LEVELS_COLUMNS, MAX_DAYS_TO_SETTLE, MISSING_CUSTOMERS, OPEN_ITEM_COLUMNS, OVERPAID_INVOICE,
                    PAYMENT_COLUMNS, PLAUSIBLE_YEARS, RATE_COLUMNS, RATE_DATES, RATE_DECIMALS, STALE_EXPORT)
from .model import MAX_DAYS_TO  # SPEC §11.3
from .model import MAX_RATE_DAYS_BEFORE  # SPEC §11.1

REQUIRED = object()   # no default: the key must be given
INHERITED = object()  # the default is the value of the enclosing table (a policy's [policy.interest])


@dataclass(frozen=True)
class Key:
    """One config key. `example` is the TOML line docs/config.md shows (the default when omitted)."""

    name: str
    kind: str  # a kind of toml_table.KIND_WORDS, or "money" (a table of amounts by currency)
    default: Any
    doc: str
    choices: tuple = ()
    allowed: str = ""  # bounds load.py checks beyond the kind, in words
    example: str = ""
    default_text: str = ""  # the default in words where it is not a TOML value


@dataclass(frozen=True)
class Section:
    """A TOML table the loader reads: its heading in docs/config.md and its keys."""

    heading: str
    doc: str
    keys: tuple[Key, ...]

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)

    @property
    def anchor(self) -> str:
        """The GitHub anchor of the heading in docs/config.md."""
        return "".join(c for c in self.heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


_RATE = f"a percent a year, at most {RATE_DECIMALS} decimals"

_INTEREST_KEYS = (
    Key("basis", "str", "act/365", "Day count of interest: days between the dates over the days of a year.",
        choices=BASES, example='basis = "act/360"'),
    Key("calculate_to", "str", "letter_date", "Interest runs up to the letter's date or to its pay-by date.",
        choices=CALCULATE_TO, example='calculate_to = "pay_by_date"'),
    Key("include_in_total", "bool", True, "Interest is part of the letter's total due (false: shown, not "
        "demanded).", example="include_in_total = false"),
    Key("fixed_rate", "decimal", None, "A fixed interest rate; one rate source: this or reference_rates.",
        allowed=f"0 to 100, {_RATE}", example="fixed_rate = 9.12", default_text="none"),
    Key("reference_rates", "str", None, "A CSV file (relative to the config) of `effective_from,rate_percent` "
        "rows: a rate that changes over time.", example='reference_rates = "rates/base_rate.csv"',
        default_text="none"),
    Key("margin", "decimal", None, "Percentage points over the reference rate.",
        allowed=f"-100 to 100, {_RATE}; rate + margin at most 100", example="margin = 9.0", default_text="0"),
    Key("min_amount", "money", None, "Interest below this amount per letter (per currency) is dropped.",
        example="min_amount = { EUR = 1.00 }", default_text="none"),
)

def _format_keys(columns: tuple[str, ...], columns_example: str) -> tuple[Key, ...]:
    """The keys every [input.*] table has; `columns` are the standard columns it may map."""
    return (
        Key("columns", "str_table", {}, "Standard column name -> the export's column name, for columns "
            "named otherwise in the export; an export column feeds one standard column.",
            allowed="standard columns: " + ", ".join(columns), example=columns_example,
            default_text="each standard column read from the export column of its own name"),
        Key("date_format", "str", "%Y-%m-%d", "The dates' format (Python strftime codes); must read back "
            "day, month and year.", example='date_format = "%d.%m.%Y"'),
        Key("decimal_comma", "bool", False, "Amounts are written 1.250,00 (comma before the decimals, dots "
            "between thousands)."),
        Key("delimiter", "str", ",", "The CSV field separator.", allowed="one character other than a quote "
            "or newline", example='delimiter = ";"'),
        Key("encoding", "str", "utf-8", "The CSV file's text encoding.", allowed="an encoding Python knows",
            example='encoding = "cp1252"'),
    )


SECTIONS: dict[str, Section] = {s.heading: s for s in (
    Section("top level", "The tables of a config: [sender] with its name and at least one [[policy]] are required, "
            "the others have defaults.", (
        Key("run", "table", {}, "How the run groups items and what it includes.", example="[run]",
            default_text="all defaults"),
        Key("sender", "table", {}, "The creditor named on the letters.", example="[sender]",
            default_text="required (its name)"),
        Key("interest", "table", {}, "Interest rules every policy inherits.", example="[interest]",
            default_text="no rate source"),
        Key("input", "table", {}, "How the exports are read.", example="[input.open_items]",
            default_text="standard columns, ISO dates, comma-separated UTF-8"),
        Key("policy", "list[table]", [], "The dunning policies, each with its levels.", example="[[policy]]",
            default_text="none: a config needs at least one"),
        Key("output", "table", {}, "How the files for the ERP are laid out.", example="[output.levels_update]",
            default_text="all defaults"),
        # SPEC §11.2
        Key("sales_rep", "table", {}, "The sales representatives customers name in their sales_rep column, "
            "one table each ([sales_rep.ID]).", example="[sales_rep.jr]", default_text="none"),
    )),
    Section("[run]", "What one run decides and how it groups letters.", (
        Key("grouping", "str", "customer", "What one letter covers: a customer, a customer at one level, or "
            "one document.", choices=GROUPINGS),
        Key("consolidate_branches", "bool", True, "One letter per customer across its branches (false: one "
            "per branch)."),
        Key("include_not_due", "bool", False, "Letters also list items not yet due."),
        Key("include_credits", "bool", False, "Letters list open credits, which lower the total due."),
        Key("include_disputed", "bool", False, "Disputed items are dunned too (default: excluded, reason "
            "disputed)."),
        Key("default_language", "str", "en", "The letters' language for customers without one.",
            example='default_language = "de"'),
        Key("strict", "bool", True, "Any input error stops the run (false: the bad rows are rejected, the "
            "rest is decided)."),
        Key("plausible_years", "int", 20, "Dates further than this many years from the run date are input "
            "errors (a year typed 0206).", allowed=f"{PLAUSIBLE_YEARS[0]} to {PLAUSIBLE_YEARS[1]}"),
        Key("ledger", "str", None, "The ledger file (relative to this config) that remembers letters across "
            "nights.", example='ledger = "ledger.duckdb"', default_text="none"),
        Key("stale_export", "str", "stop", "What a run does with items whose export lags the ledger.",
            choices=STALE_EXPORT),
        Key("pay_by_calendar", "str", None, "A pay-by date that falls on a Saturday, a Sunday or a public "
            "holiday of this calendar moves to the next business day (the courtesy notice's pay-by, the "
            "invoices' own due date, does not move).", allowed="a country (ISO 3166-1 alpha-2) with an "
            "optional subdivision after a hyphen, as the holidays package names them: "
            "holidays.list_supported_countries()", example='pay_by_calendar = "DE-BY"',
            default_text="none: dates as computed"),
    )),
    Section("[sender]", "The creditor: letterhead, reply address and bank account on every letter.", (
        Key("name", "str", REQUIRED, "The creditor's name.", example='name = "Muster GmbH"'),
        Key("address", "list[str]", [], "The creditor's postal address, one string per line.",
            example='address = ["Hauptstr. 1", "10115 Berlin"]'),
        Key("email", "str", "", "The From address of the emails; a plain local@domain.",
            example='email = "billing@example.com"'),
        Key("iban", "str", "", "The account customers pay to.", example='iban = "DE89370400440532013000"'),
        Key("bic", "str", "", "The bank's BIC.", example='bic = "COBADEFFXXX"'),
        # payment codes (issue 19): the QR code and the creditor's structured address it needs
        Key("qr", "str", None, "The payment QR code on the letters: the EPC069-12 code (EUR letters, a "
            "SEPA IBAN), the Swiss QR-bill's payment part (CHF and EUR letters, a CH or LI IBAN that is "
            "no QR-IBAN), or none. A letter whose currency the scheme does not take, or whose total due "
            "is 0 or less, gets no code.", choices=QR_KINDS, example='qr = "swiss"',
            default_text='"epc" when iban is a SEPA account (and name at most 70 characters), else "none"'),
        Key("street", "str", "", "The creditor's street and house number, for the Swiss QR-bill.",
            example='street = "Bahnhofstrasse 1"'),
        Key("postcode", "str", "", "The creditor's postcode; required with qr = \"swiss\".",
            example='postcode = "8001"'),
        Key("city", "str", "", "The creditor's town; required with qr = \"swiss\".",
            example='city = "Zürich"'),
        Key("country", "str", "", "The creditor's country (ISO 3166 two letters); required with "
            "qr = \"swiss\".", example='country = "CH"'),

        # layout (issue 19): the letterhead's phone and the legal footer (what §35a GmbHG asks of a
        # German GmbH's business letters); each line shows only where set
        Key("phone", "str", "", "The phone number in the letterhead and the footer.",
            example='phone = "+49 30 1234567"'),
        Key("website", "str", "", "The website in the letter's footer.", example='website = "www.example.com"'),
        Key("register", "str", "", "The commercial register: court and number, in the letter's footer.",
            example='register = "Amtsgericht Berlin-Charlottenburg HRB 12345"'),
        Key("managing_directors", "list[str]", [], "The managing directors named in the letter's footer.",
            example='managing_directors = ["Erika Mustermann"]'),
        Key("vat_id", "str", "", "The VAT identification number in the letter's footer.",
            example='vat_id = "DE123456789"'),
    )),
    Section("[interest]", "Default interest rules; a policy's [policy.interest] overrides them key by key.",
            _INTEREST_KEYS),
    Section("[input]", "How the exports are read, one table per input.", (
        Key("open_items", "table", {}, "The open items export (--open-items).", example="[input.open_items]",
            default_text="all defaults"),
        Key("customers", "table", {}, "The customers export (--customers).", example="[input.customers]",
            default_text="all defaults"),
        Key("payments", "table", {}, "The payments export (--payments).", example="[input.payments]",
            default_text="all defaults"),
        Key("rates", "table", {}, "The exchange rates (--rates).", example="[input.rates]",
            default_text="all defaults"),
    )),
    Section("[input.open_items]", "The open items export (SPEC §2.1).", _format_keys(
        OPEN_ITEM_COLUMNS, 'columns = { doc_id = "Belegnummer", open_amount = "Offen" }') + (
        Key("doc_types", "str_table", {}, "The export's document type values -> the standard types.",
            allowed=", ".join(DOC_TYPES), example='doc_types = { RE = "invoice", GS = "credit_memo" }',
            default_text="the values are the standard types"),
        Key("currency", "str", None, "The currency of every row, for an export without a currency column "
            "(not with a mapped or present currency column).", allowed="an ISO 4217 code, upper case",
            example='currency = "USD"', default_text="none: the export has a currency column"),
        Key("overpaid_invoice", "str", "error", "An invoice, debit memo, fee or refund with a negative open "
            "amount is an input error, or an open credit (decided as a credit_memo).", choices=OVERPAID_INVOICE),
    )),
    Section("[input.customers]", "The customers export (SPEC §2.2).", _format_keys(
        CUSTOMER_COLUMNS, 'columns = { customer_id = "Kunde", name = "Name 1" }') + (
        Key("missing", "str", "error", "Customers the items name but the customers file lacks are an input "
            "error, or created with name = id and the default language (--customers may then be left out). "
            "A created customer has no postal address: a run that renders letters stops on it (strict) or "
            "rejects its items (non-strict); --no-pdf decides it as usual.",
            choices=MISSING_CUSTOMERS),
        Key("language_by_country", "str_table", {}, "The language of customers without one, by country "
            "(ISO 3166-1 alpha-2), before [run] default_language.", allowed="languages with a message "
            "catalogue (templates/messages), or a locale of one such as fr_FR",
            example='language_by_country = { DE = "de", AT = "de", FR = "fr" }'),
    )),
    Section("[input.payments]", "The payments export (SPEC §9.5).", _format_keys(
        PAYMENT_COLUMNS, 'columns = { payment_id = "Zahlung", paid_on = "Zahldatum" }')),
    Section("[input.rates]", "The exchange rates of letters across currencies (SPEC §11.1): 1 from_currency "
            "= rate to_currency on rate_date.", _format_keys(
        RATE_COLUMNS, 'columns = { rate_date = "Datum", rate = "Kurs" }')),
    Section("[output]", "How the files written for the ERP are laid out.", (
        Key("levels_update", "table", {}, "levels_update.csv, the file the ERP re-imports.",
            example="[output.levels_update]", default_text="all defaults"),
    )),
    Section("[output.levels_update]", "levels_update.csv (levels_update.parquet always keeps SPEC §5's names "
            "and types).", (
        Key("columns", "str", "standard", "\"standard\": SPEC §5's column names and ISO dates; \"export\": "
            "the open-items export's column names, date_format, delimiter and encoding, for the ERP to "
            "re-import.", choices=LEVELS_COLUMNS),
    )),
    Section("[[policy]]", "A dunning policy: which customers it covers, its levels and its thresholds.", (
        Key("name", "str", REQUIRED, "The policy's name (unique); customers name it in their policy column.",
            example='name = "standard"'),
        Key("default", "bool", False, "The policy of customers with no policy and no matching class (one "
            "policy at most)."),
        Key("customer_classes", "list[str]", [], "The customer classes this policy covers (a class belongs "
            "to one policy).", example='customer_classes = ["retail", "small"]'),
        Key("sequential", "bool", True, "An item advances at most one level per run (SPEC §4.3)."),
        Key("min_days_between_letters", "int", 0, "Days that must pass since the last letter before the next.",
            allowed="0 or more", example="min_days_between_letters = 14"),
        Key("min_amount", "money", None, "No letter when the overdue total is below this amount (per "
            "currency).", example="min_amount = { EUR = 10.00 }", default_text="none"),
        Key("min_percent", "decimal", None, "No letter when the overdue total is below this percent of the "
            "customer's open total (SPEC §9.3).", allowed=f"0 to 100, at most {RATE_DECIMALS} decimals",
            example="min_percent = 5", default_text="none"),
        Key("pre_due_days", "int", None, "A reminder this many days before items fall due (SPEC §9.6).",
            allowed="1 to 99", example="pre_due_days = 5", default_text="none"),
        Key("compensation_amount", "money", None, "The flat compensation of a level with compensation = "
            "\"eu\" (SPEC §9.2).", example="compensation_amount = { EUR = 40.00 }",
            default_text="{ EUR = 40.00 }"),
        Key("letter_currency", "str", None, "One letter per customer in this currency, whatever the items' "
            "currencies: each line converted at the --rates exchange rate (SPEC §11.1); \"customer\": the "
            "customers file's letter_currency column, else the item's own currency.",
            allowed='an ISO 4217 code (upper case) or "customer"', example='letter_currency = "EUR"',
            default_text="none: one letter per currency"),
        Key("rate_date", "str", "run", "The day a line's exchange rate is taken for: the run date or the "
            "item's due date (an item without one: the run date); needs letter_currency.", choices=RATE_DATES),
        Key("rate_days_before", "int", 0, "The rate day is this many days before that date; the rate used is "
            "the latest on or before it; needs letter_currency.", allowed=f"0 to {MAX_RATE_DAYS_BEFORE}",
            example="rate_days_before = 1"),
        Key("level", "list[table]", [], "The levels, in rising days past due ([[policy.level]]).",
            example="[[policy.level]]", default_text="required: at least one"),
        Key("interest", "table", {}, "This policy's interest rules ([policy.interest]).",
            example="[policy.interest]", default_text="the [interest] rules"),
    )),
    Section("[policy.interest]", "A policy's interest rules; each key left out is the [interest] value "
            "(a rate source given here replaces [interest]'s).",
            tuple(Key(k.name, k.kind, INHERITED, k.doc, k.choices, k.allowed, k.example,
                      "the [interest] value") for k in _INTEREST_KEYS)),
    Section("[[policy.level]]", "One dunning level of a policy; levels are numbered 1, 2, ... in order.", (
        Key("days_past_due", "int", REQUIRED, "An item qualifies for the level when its days past due exceed "
            "this; rises strictly from level to level.", allowed="0 or more", example="days_past_due = 14"),
        Key("days_to_settle", "int", 0, "The letter's pay-by date is this many days after the run date.",
            allowed=f"0 to {MAX_DAYS_TO_SETTLE}", example="days_to_settle = 10"),
        Key("days_to", "int", None, "An item more than this many days past due is not raised to the level "
            "(SPEC §11.3, reason beyond_level_range): sequential advance stops below it, non-sequential "
            "advance may pass it for a higher level whose range holds.",
            allowed=f"more than the level's days_past_due, at most {MAX_DAYS_TO}", example="days_to = 90",
            default_text="none: no upper end"),
        Key("template", "str", REQUIRED, "The letter template (templates/NAME.html.j2).",
            example='template = "reminder"'),
        Key("fee", "money", None, "A fixed fee per letter, per currency.", example="fee = { EUR = 5.00 }",
            default_text="none"),
        Key("fee_percent", "decimal", None, "A fee of this percent of the overdue total (SPEC §9.1).",
            allowed=f"0 to 100, at most {RATE_DECIMALS} decimals; one of fee, fee_percent, fee_tiers",
            example="fee_percent = 1.5", default_text="none"),
        Key("fee_tiers", "table", None, "A tiered fee per currency: tables {over, fixed, percent} (SPEC §9.1).",
            example="fee_tiers = { EUR = [ {over = 0.00, fixed = 5.00}, {over = 1000.00, percent = 1.0} ] }",
            default_text="none"),
        Key("fee_tier_mode", "str", None, "How tiers add up; required with fee_tiers.", choices=FEE_TIER_MODES,
            example='fee_tier_mode = "single"', default_text="none"),
        Key("fee_min", "money", None, "The least fee_percent or fee_tiers charge, per currency.",
            example="fee_min = { EUR = 5.00 }", default_text="none"),
        Key("fee_max", "money", None, "The most fee_percent or fee_tiers charge, per currency.",
            example="fee_max = { EUR = 50.00 }", default_text="none"),
        Key("interest", "bool", False, "The letter charges interest (needs a rate source)."),
        Key("post_interest", "bool", False, "The interest is posted as a document of its own (SPEC §9.4); "
            "needs interest = true."),
        Key("late_payment_interest", "bool", False, "Interest on payments made late (SPEC §9.5); needs "
            "interest = true and [run] grouping = \"customer\"."),
        Key("compensation", "str", None, "A flat late-payment compensation (SPEC §9.2).",
            choices=COMPENSATION_KINDS, example='compensation = "eu"', default_text="none"),
        Key("credit_hold", "bool", False, "The customer is put on credit hold (customer_actions.csv)."),
        Key("payment_term", "str", None, "A payment term code worded by the catalogues' [payment_terms].",
            example='payment_term = "net10"', default_text="none"),
    )),
    Section("[sales_rep.ID]", "A sales representative (SPEC §11.2): the letters of the customers whose sales_rep "
            "column names ID show the rep as their contact for questions, and their emails get the rep as "
            "Reply-To (From stays [sender]).", (
        Key("name", "str", REQUIRED, "The rep's name, as the letter prints it.", example='name = "Jane Roe"'),
        Key("email", "str", REQUIRED, "The rep's email address: the Reply-To of the emails; a plain local@domain.",
            example='email = "jane.roe@example.com"'),
        Key("phone", "str", "", "The rep's phone number, printed under the name.",
            example='phone = "+49 30 1234568"', default_text="none"),
    )),
    Section("fee tier", "One step of a level's fee_tiers: applies to the overdue total above `over`.", (
        Key("over", "decimal", REQUIRED, "The tier starts above this amount; the first is 0.00, then rising.",
            allowed="0 or more", example="over = 1000.00"),
        Key("fixed", "decimal", Decimal(0), "A fixed part of the fee.", allowed="0 or more", example="fixed = 5.00"),
        Key("percent", "decimal", Decimal(0), "A percent of the part above `over`.",
            allowed=f"0 to 100, at most {RATE_DECIMALS} decimals", example="percent = 1.0"),
    )),
)}
