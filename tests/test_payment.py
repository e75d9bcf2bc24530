"""Letters that get paid (issue 19): the ISO 11649 payment reference of every letter, the
payment QR code read back from the rendered PDF with a real decoder (pypdfium2 rasterises the
page, zxing-cpp decodes it), IBAN and BIC checked when the config loads, and the reference in
the email and in `explain`.

The EPC letters are the demo's (the session's shared run, config/example.toml: a DE IBAN);
the Swiss QR-bill has its own small run (a CH IBAN, qr = "swiss"), made once for the module.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pypdfium2
import pytest
import zxingcpp
from stdnum import iso11649

from conftest import ROOT, SPEC_CONFIG, Scenario, customer, item, with_config
from dunning_batch.digest import sha256_of
from dunning_batch.letters.batches import letter_contexts, sender_of
from dunning_batch.letters.payment_codes import creditor_reference, payment_code
from dunning_batch.letters.render import render_batch
from dunning_batch.outputs import write_json
from dunning_batch.outputs.folder import read_manifest

DEMO_IBAN = "DE89370400440532013000"
SWISS_IBAN = "CH9300762011623852957"  # an ordinary Swiss IBAN (a QR-IBAN takes no RF reference)

SWISS_CONFIG = with_config({
    'iban = "DE89370400440532013000"\nbic = "COBADEFFXXX"':
        f'iban = "CH93 0076 2011 6238 5295 7"\nbic = "UBSWCHZH80A"\nqr = "swiss"\n'
        f'street = "Bahnhofstrasse 1"\npostcode = "8001"\ncity = "Zürich"\ncountry = "CH"',
    "min_amount = { EUR = 1.00 }": "min_amount = { EUR = 1.00, CHF = 1.00 }",
    "min_amount = { EUR = 5.00 }": "min_amount = { EUR = 5.00, CHF = 5.00 }",
    "fee = { EUR = 0.00 }": "fee = { EUR = 0.00, CHF = 0.00 }",
    "fee = { EUR = 5.00 }": "fee = { EUR = 5.00, CHF = 5.00 }",
    "fee = { EUR = 10.00 }": "fee = { EUR = 10.00, CHF = 10.00 }",
})


def letters_of(out: Path) -> dict[str, dict]:
    con = duckdb.connect()
    rows = con.execute("SELECT * FROM read_parquet($p) ORDER BY letter_id", {"p": str(out / "letters.parquet")})
    names = [d[0] for d in rows.description]
    return {r[0]: dict(zip(names, r)) for r in rows.fetchall()}


def decoded(pdf: Path) -> list[tuple[int, list[str]]]:
    """(page number, payload lines) of every QR code on the PDF's pages, as a banking app reads them."""
    document = pypdfium2.PdfDocument(str(pdf))
    found = []
    for number in range(len(document)):
        image = document[number].render(scale=200 / 72).to_pil()
        for code in zxingcpp.read_barcodes(image):
            found.append((number + 1, code.text.replace("\r\n", "\n").split("\n")))
    return found


@pytest.fixture(scope="module")
def swiss_run(tmp_path_factory) -> Path:
    """A CHF letter (C1, German), a EUR letter (C2, English), both with Swiss QR-bills, a
    CHF letter of 32 lines (C3) whose second page has room for the payment part, and one of 12
    lines (C4) whose one page has not."""
    scenario = Scenario(tmp_path_factory.mktemp("swiss"))
    items = [item("INV-1", 30, "1234.50", currency="CHF"),
             item("INV-2", 10, "80.05", currency="EUR", customer_id="C2")]
    items += [item(f"LONG-{n:02}", 30, "10.00", currency="CHF", customer_id="C3") for n in range(32)]
    items += [item(f"MID-{n:02}", 30, "10.00", currency="CHF", customer_id="C4") for n in range(12)]
    customers = [customer("C1", language="de"), customer("C2"), customer("C3", language="de"),
                 customer("C4", language="de")]
    outcome = scenario.run(items, customers, config=SWISS_CONFIG, pdf=True)
    return outcome.out


# ------------------------------------------------------------------ the reference


def test_the_reference_check_digits_are_iso_11649s():
    """The standard's own example (ISO 11649, annex): body 539007547034 takes check digits 18."""
    assert creditor_reference("539007547034") == "RF18539007547034"


def test_every_letter_has_an_rf_reference_made_of_its_id(demo_run):
    letters = letters_of(demo_run)
    con = duckdb.connect()
    columns = [d[0] for d in con.execute("SELECT * FROM read_parquet($p) LIMIT 0",
                                         {"p": str(demo_run / "letters.parquet")}).description]
    assert columns[-2:] == ["pdf_path", "payment_reference"]  # after the columns of SPEC §5
    for letter_id, letter in letters.items():
        reference = letter["payment_reference"]
        assert iso11649.is_valid(reference), reference
        # the date as YYDDD (2026-11-24 is day 328) and the id's 16 hex digits: unique across nights
        assert reference[:2] == "RF" and reference[4:] == "26328" + letter_id[-16:].upper()
    assert letters["DL-20261124-0214c89edb90d63f"]["payment_reference"] == "RF28263280214C89EDB90D63F"


# ------------------------------------------------------------------ EPC069-12


def test_a_eur_letter_carries_the_epc_code_with_the_exact_total_and_its_reference(demo_run):
    letters = letters_of(demo_run)
    eur = [l for l in letters.values() if l["currency"] == "EUR"]
    assert len(eur) >= 10
    for letter in eur[:4] + [letters["DL-20261124-d8a8b2b84aad6d4f"]]:  # the last on page 2 of 2
        [(page, payload)] = decoded(demo_run / letter["pdf_path"])
        bcd, version, charset, sct, bic, name, iban, amount, purpose, reference = payload[:10]
        assert (bcd, version, sct, bic, name, iban) == ("BCD", "002", "SCT", "COBADEFFXXX", "Example GmbH", DEMO_IBAN)
        assert amount.startswith("EUR") and Decimal(amount[3:]) == letter["total_due"]
        assert iso11649.is_valid(reference) and reference == letter["payment_reference"]
    assert [page for page, _ in decoded(demo_run / "pdf/DL-20261124-d8a8b2b84aad6d4f.pdf")] == [2]


def test_letters_in_other_currencies_carry_no_epc_code(demo_run):
    others = [l for l in letters_of(demo_run).values() if l["currency"] in ("USD", "PLN", "GBP")]
    assert {l["currency"] for l in others} == {"USD", "PLN", "GBP"}
    for letter in others:
        assert decoded(demo_run / letter["pdf_path"]) == []


def test_the_letter_prints_the_reference_and_the_iban_in_groups_of_four(demo_run):
    document = pypdfium2.PdfDocument(str(demo_run / "pdf/DL-20261124-0214c89edb90d63f.pdf"))
    text = document[len(document) - 1].get_textpage().get_text_range()
    assert "RF28 2632 8021 4C89 EDB9 0D63 F" in text
    assert "IBAN DE89 3704 0044 0532 0130 00" in text


@pytest.mark.parametrize("total", ["0.00", "-12.50", "1000000000.00"])
def test_no_code_for_a_total_of_zero_or_less_or_above_the_maximum(demo_run, tmp_path, total):
    contexts = [c for c in letter_contexts(demo_run, "DL-20261124-0214c89edb90d63f")
                if c["letter_id"] == "DL-20261124-0214c89edb90d63f"]
    contexts[0]["total_due"] = Decimal(total)
    assert payment_code(contexts[0], sender_of(demo_run)) is None
    render_batch(contexts, sender_of(demo_run), tmp_path)
    assert decoded(tmp_path / "DL-20261124-0214c89edb90d63f.pdf") == []


def test_the_default_code_follows_the_iban_and_qr_none_is_kept(tmp_path):
    from dunning_batch.config.load import load_config

    path = tmp_path / "config.toml"
    path.write_text(SPEC_CONFIG, encoding="utf-8")
    assert load_config(path).sender["qr"] == "epc"  # a DE IBAN: SEPA
    path.write_text(with_config({'bic = "COBADEFFXXX"': 'bic = "COBADEFFXXX"\nqr = "none"'}), encoding="utf-8")
    assert load_config(path).sender["qr"] == "none"
    path.write_text(with_config({'iban = "DE89370400440532013000"': 'iban = "DE89 3704 0044 0532 0130 00"'}),
                    encoding="utf-8")
    assert load_config(path).sender["iban"] == DEMO_IBAN  # kept without its spaces


def test_no_code_when_the_sender_says_qr_none(demo_run, tmp_path):
    contexts = [c for c in letter_contexts(demo_run, "DL-20261124-0214c89edb90d63f")
                if c["letter_id"] == "DL-20261124-0214c89edb90d63f"]
    sender = dict(sender_of(demo_run), qr="none")
    render_batch(contexts, sender, tmp_path)
    assert decoded(tmp_path / "DL-20261124-0214c89edb90d63f.pdf") == []
    document = pypdfium2.PdfDocument(str(tmp_path / "DL-20261124-0214c89edb90d63f.pdf"))
    assert "RF28 2632 8021 4C89 EDB9 0D63 F" in document[0].get_textpage().get_text_range()  # the reference stays


# ------------------------------------------------------------------ Swiss QR-bill


def test_a_chf_letter_carries_a_swiss_qr_bill(swiss_run):
    [chf] = [l for l in letters_of(swiss_run).values() if l["customer_id"] == "C1"]
    [(page, payload)] = decoded(swiss_run / chf["pdf_path"])
    assert payload[:4] == ["SPC", "0200", "1", SWISS_IBAN]
    assert payload[4:11] == ["S", "Example GmbH", "Bahnhofstrasse 1", "", "8001", "Zürich", "CH"]
    assert Decimal(payload[18]) == chf["total_due"] == Decimal("1234.50") and payload[19] == "CHF"
    assert payload[27] == "SCOR" and payload[28] == chf["payment_reference"]
    assert iso11649.is_valid(payload[28])
    assert payload[30] == "EPD"


def test_the_swiss_bill_takes_eur_letters_too(swiss_run):
    [eur] = [l for l in letters_of(swiss_run).values() if l["currency"] == "EUR"]
    [(page, payload)] = decoded(swiss_run / eur["pdf_path"])
    assert payload[0] == "SPC" and Decimal(payload[18]) == eur["total_due"] and payload[19] == "EUR"
    assert payload[28] == eur["payment_reference"]


def word_boxes(page, word: str) -> list[tuple[float, float]]:
    """(left, top) in mm from the page's left and bottom edges, of each `word` on the page."""
    text, mm = page.get_textpage(), 72 / 25.4
    chars = text.get_text_range()
    starts = [i for i in range(len(chars)) if chars.startswith(word, i)]
    return [(text.get_charbox(i)[0] / mm, text.get_charbox(i)[3] / mm) for i in starts]


def test_the_payment_part_is_the_bottom_105_mm_of_a_page_of_its_own_when_the_last_has_no_room(swiss_run):
    # twelve lines: page one ends below the top of the payment part, which takes a page of its own
    [chf] = [l for l in letters_of(swiss_run).values() if l["customer_id"] == "C4"]
    document = pypdfium2.PdfDocument(str(swiss_run / chf["pdf_path"]))
    assert len(document) == 2
    last = document[1]
    # the receipt's title ("Empfangsschein") and the payment part's ("Zahlteil") where SIX puts
    # them: 5 mm and 67 mm from the page's left edge (across the page margin), in the bottom 105 mm
    [(left, top)] = word_boxes(last, "Empfangsschein")
    assert abs(left - 5) < 1.5 and 90 < top < 105, (left, top)
    [(left, top)] = word_boxes(last, "Zahlteil")
    assert abs(left - 67) < 1.5 and 90 < top < 105, (left, top)
    assert word_boxes(last, "Zu zahlender Betrag") == []  # the totals stay on page one
    assert word_boxes(document[0], "Zahlteil") == []


def test_a_one_line_letter_and_its_payment_part_share_page_one(swiss_run):
    [chf] = [l for l in letters_of(swiss_run).values() if l["customer_id"] == "C1"]
    document = pypdfium2.PdfDocument(str(swiss_run / chf["pdf_path"]))
    assert len(document) == 1
    [(_, totals_top)] = word_boxes(document[0], "Zu zahlender Betrag")
    [(left, top)] = word_boxes(document[0], "Zahlteil")
    assert abs(left - 67) < 1.5 and 90 < top < 105 < totals_top


def test_the_payment_part_shares_the_last_page_when_it_fits(swiss_run):
    [long] = [l for l in letters_of(swiss_run).values() if l["customer_id"] == "C3"]
    document = pypdfium2.PdfDocument(str(swiss_run / long["pdf_path"]))
    last = document[len(document) - 1]
    [(_, totals_top)] = word_boxes(last, "Zu zahlender Betrag")
    [(left, top)] = word_boxes(last, "Zahlteil")
    assert abs(left - 67) < 1.5 and 90 < top < 105 < totals_top
    [(page, payload)] = decoded(swiss_run / long["pdf_path"])
    assert page == len(document) and Decimal(payload[18]) == long["total_due"] == Decimal("320.00")


# ------------------------------------------------------------------ config


@pytest.mark.parametrize("original, line, words", [
    ('iban = "DE89370400440532013000"', 'iban = "DE88370400440532013000"',
     "[sender] key 'iban': 'DE88370400440532013000' has a wrong check digit"),
    ('bic = "COBADEFFXXX"', 'bic = "COBA1EFFXXX"', "[sender] key 'bic': 'COBA1EFFXXX' is not a BIC"),
    ('bic = "COBADEFFXXX"', 'bic = "COBADEFFXXX"\nqr = "swiss"\npostcode = "8001"\ncity = "Zürich"\ncountry = "CH"',
     "[sender] key 'qr': \"swiss\" needs a Swiss or Liechtenstein IBAN, and the [sender] iban is of DE"),
])
def test_a_wrong_iban_or_bic_is_a_config_error_naming_the_key(tmp_path, original, line, words):
    config = with_config({original: line})
    scenario = Scenario(tmp_path)
    config_path, items_path, customers_path = scenario.files([item("INV-1", 30)])
    config_path.write_text(config, encoding="utf-8")
    folder = config_path.parent
    result = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "validate",
                             "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
                             "customers.csv"], cwd=folder, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("config.toml: ") or "config.toml" in lines[0]


# ------------------------------------------------------------------ email and explain


def test_the_email_names_the_reference(demo_run):
    letters = letters_of(demo_run)
    for path in sorted((demo_run / "outbox").glob("*.eml"))[:3]:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",)).get_content()
        reference = letters[path.stem]["payment_reference"]
        grouped = " ".join(reference[i:i + 4] for i in range(0, len(reference), 4))
        assert grouped in body, body


def test_explain_names_the_letters_reference(demo_run):
    letter = letters_of(demo_run)["DL-20261124-0214c89edb90d63f"]

    def explain(*args: str) -> str:
        return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "explain",
                               str(demo_run), *args], capture_output=True, text=True, check=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout

    customer_text = explain("--customer", letter["customer_id"])
    assert f"{letter['letter_id']}, payment reference RF28 2632 8021 4C89 EDB9 0D63 F" in customer_text.splitlines()[0]
    item_text = explain("INV-10051")
    assert ("Its payment reference is RF28 2632 8021 4C89 EDB9 0D63 F: a transfer quoting it pays letter "
            "DL-20261124-0214c89edb90d63f.") in item_text


def test_a_folder_written_before_references_still_renders_and_explains(demo_run, tmp_path):
    """A folder of an earlier version has no payment_reference: its letters print the letter id
    as their reference, as they did, carry no code, and explain names them alone."""
    shutil.copytree(demo_run, tmp_path / "old")
    letters = tmp_path / "old" / "letters.parquet"
    duckdb.connect().execute(f"COPY (SELECT * EXCLUDE (payment_reference) FROM read_parquet('{letters}')) "
                             f"TO '{tmp_path / 'letters.parquet'}' (FORMAT parquet)")
    shutil.move(tmp_path / "letters.parquet", letters)
    manifest = read_manifest(tmp_path / "old")          # as that version's run recorded its own file
    manifest["outputs"]["letters.parquet"]["sha256"] = sha256_of(letters)
    write_json(tmp_path / "old" / "run.json", manifest)
    letter_id = "DL-20261124-0214c89edb90d63f"

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                              capture_output=True, text=True, check=True, cwd=tmp_path,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout

    cli("render", "old", "--letter", letter_id)
    text = pypdfium2.PdfDocument(str(tmp_path / "old" / "pdf" / f"{letter_id}.pdf"))[0].get_textpage().get_text_range()
    assert f"{letter_id}" in text.split("IBAN", 1)[1] and "RF" not in text
    assert decoded(tmp_path / "old" / "pdf" / f"{letter_id}.pdf") == []
    customer = letters_of(demo_run)[letter_id]["customer_id"]
    assert cli("explain", "old", "--customer", customer).splitlines()[0].endswith(f"1 letter ({letter_id}).")
