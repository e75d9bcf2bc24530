"""The letter's page as DIN 5008 form B lays it out (issue 19), measured on the rendered PDFs.

Word positions come from pypdf (each text run's start: x from the left edge, its baseline
from the top, in mm); the fold and punch marks from a rasterised page (pypdfium2). One small
run serves the module: a German final notice of 8 items (16 printed lines: the items and their
interest) that must stay on one page, and an English and a German reminder of 40 items that
take two. The config names the sender's phone, register, managing directors and VAT id.
"""

from __future__ import annotations

import io
import re
import shutil
import unicodedata
from pathlib import Path

import pypdfium2
import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from weasyprint import HTML

from conftest import Outcome, Scenario, customer, item, with_config

from dunning_batch.cli import main
from dunning_batch.letters.batches import letter_contexts, sender_of
from dunning_batch.letters import render
from dunning_batch.letters.render import RefuseAll, letters_html, render_batch
from dunning_batch.letters.templating import TEMPLATES_DIR

MM = 72 / 25.4          # points per millimetre
A4_HEIGHT = 841.89      # points
LEGAL = {
    'email = "ar@example.com"': 'email = "ar@example.com"\nphone = "+49 30 1234567"\nwebsite = "www.example.com"\n'
                                'register = "Amtsgericht Berlin-Charlottenburg HRB 12345"\n'
                                'managing_directors = ["Erika Mustermann", "Max Mustermann"]\nvat_id = "DE123456789"',
}
ADDRESS = "Gewerbepark Süd 8\n90451 Nürnberg\nGermany"


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\u00a0", " ").replace("\u202f", " "))


def words(page) -> list[tuple[str, float, float, float]]:
    """(text, x mm from the left, baseline mm from the top, font size pt) of each text run."""
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            runs.append((normalise(text).strip(), x / MM, (A4_HEIGHT - y) / MM, size * abs(tm[3] * cm[3])))

    page.extract_text(visitor_text=visit)
    return runs


def run_at(runs, start: str, above: float = 297) -> tuple[str, float, float, float]:
    """The one text run that starts with `start` (and whose baseline is above `above` mm)."""
    [found] = [r for r in runs if r[0].startswith(start) and r[2] < above]
    return found


def page_texts(path: Path | io.BytesIO) -> list[str]:
    return [normalise(page.extract_text()) for page in PdfReader(path).pages]


@pytest.fixture(scope="module")
def layout_run(tmp_path_factory) -> Outcome:
    scenario = Scenario(tmp_path_factory.mktemp("layout"))
    items = [item(f"FN-{i:02d}", 50 + i, f"{1000 + 37 * i}.50", customer_id="DE8", dunning_level=2) for i in range(8)]
    items += [item(f"{cid}-{i:02d}", 10, "10.00", customer_id=cid) for cid in ("EN40", "DE40") for i in range(40)]
    customers = [customer("DE8", name="Keller Elektrotechnik GmbH", language="de", address=ADDRESS),
                 customer("EN40", name="Pacific Crest Outfitters Inc.", language="en", address="1420 NW Lovejoy St\nPortland, OR 97209"),
                 customer("DE40", name="Müller GmbH", language="de", address="Königstraße 1\n70173 Stuttgart")]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        return scenario.run(items, customers, config=with_config(LEGAL), pdf=True, workers=1)


def letter(outcome: Outcome, customer_id: str) -> dict:
    [found] = [x for x in outcome.letters if x["customer_id"] == customer_id]
    return found


def pdf_of(outcome: Outcome, customer_id: str) -> Path:
    return outcome.out / letter(outcome, customer_id)["pdf_path"]


# ---------------------------------------------------------------- DIN 5008 form B geometry

def test_the_address_starts_25_mm_from_the_left_in_the_anschriftzone_below_the_return_line(layout_run):
    runs = words(PdfReader(pdf_of(layout_run, "DE8")).pages[0])
    name = run_at(runs, "Keller Elektrotechnik GmbH")
    text, x, baseline, size = name
    top = baseline - size * 0.76 / MM  # DejaVu Sans' ascent
    assert 24 <= x <= 26, f"the first address line starts {x:.1f} mm from the left"
    assert 62.7 <= top and baseline <= 90, f"the first address line spans {top:.1f}..{baseline:.1f} mm from the top"
    following = [r for r in runs if r[0] in ("Gewerbepark Süd 8", "90451 Nürnberg", "Germany")]
    assert [round(r[1]) for r in following] == [25, 25, 25] and all(baseline < r[2] <= 90 for r in following)
    # the one-line return address at the bottom of the Zusatz- und Vermerkzone (45..62.7 mm)
    _, return_x, return_baseline, return_size = run_at(runs, "Example GmbH · Hauptstr. 1 · 10115 Berlin", above=90)
    assert 24 <= return_x <= 26 and 45 + 10 < return_baseline < 62.7 and return_size < 8
    # the info block beside the address field, 125 mm from the left edge
    _, info_x, info_baseline, _ = run_at(runs, "Schreiben: " + letter(layout_run, "DE8")["letter_id"])
    assert 124 <= info_x <= 126 and 45 <= info_baseline <= 90
    # the letterhead above the address field, with the phone
    _, _, phone_baseline, _ = run_at(runs, "Telefon: +49 30 1234567 · ar@example.com", above=90)
    assert phone_baseline < 45


def dark_rows(pdf: Path, page: int, from_mm: float, to_mm: float) -> list[float]:
    """The heights (mm from the top) of pixel rows with a dark pixel between from_mm and to_mm
    from the left edge, page rasterised at 4 px per point."""
    image = pypdfium2.PdfDocument(pdf)[page].render(scale=4).to_pil().convert("L")
    per_mm = image.height / 297
    strip = image.crop((int(from_mm * per_mm), 0, int(to_mm * per_mm), image.height))
    pixels, width = strip.tobytes(), strip.width
    return [y / per_mm for y in range(strip.height) if min(pixels[y * width:(y + 1) * width]) < 200]


@pytest.mark.parametrize("customer_id, page", [("DE8", 0), ("EN40", 1)])
def test_fold_marks_at_105_and_210_mm_and_the_punch_mark_at_148_5_mm(layout_run, customer_id, page):
    rows = dark_rows(pdf_of(layout_run, customer_id), page, 3, 15)
    marks = []
    for y in rows:  # runs of dark rows, by their middle
        if marks and y - marks[-1][-1] < 0.5:
            marks[-1].append(y)
        else:
            marks.append([y])
    middles = [round(sum(m) / len(m), 1) for m in marks]
    assert len(middles) == 3, f"dark rows near the left edge at {middles} mm"
    for found, wanted in zip(middles, (105, 148.5, 210)):
        assert abs(found - wanted) <= 0.5, f"a mark at {found} mm, wanted {wanted} mm"
    assert all(max(m) - min(m) < 0.6 for m in marks), "a mark is a thin line"


# ---------------------------------------------------------------- page numbers and the following pages

@pytest.mark.parametrize("customer_id, page_of", [("EN40", "Page {} of {}"), ("DE40", "Seite {} von {}")])
def test_a_two_page_letter_numbers_its_pages_and_names_letter_and_customer_on_page_2(layout_run, customer_id, page_of):
    details = letter(layout_run, customer_id)
    pages = page_texts(pdf_of(layout_run, customer_id))
    assert len(pages) == 2
    for number, text in enumerate(pages, start=1):
        assert page_of.format(number, 2) in text
    label = {"EN40": ("Letter", "Customer no."), "DE40": ("Schreiben", "Kundennummer")}[customer_id]
    header = f"{label[0]}: {details['letter_id']} · {label[1]}: {customer_id}"
    assert header in pages[1]
    assert header not in pages[0]   # page 1 has the info block instead
    # the header stands at the top of page 2, above the table it continues
    runs = words(PdfReader(pdf_of(layout_run, customer_id)).pages[1])
    assert run_at(runs, header)[2] < 20


def test_a_one_page_letter_carries_no_page_number(layout_run):
    [text] = page_texts(pdf_of(layout_run, "DE8"))
    assert "Seite" not in text and not re.search(r"\b1 von 1\b", text)


@pytest.mark.parametrize("language, first, second", [("fr", "Page 1 sur 2", "Page 2 sur 2"),
                                                     ("pl", "Strona 1 z 2", "Strona 2 z 2")])
def test_french_and_polish_page_numbers(layout_run, tmp_path, language, first, second):
    [context] = [c for c in letter_contexts(layout_run.out) if c["customer_id"] == "EN40"]
    context = dict(context, language=language, currency="EUR")
    [(letter_id, pages)] = render_batch([context], sender_of(layout_run.out), tmp_path)
    texts = page_texts(tmp_path / f"{letter_id}.pdf")
    assert pages == 2 and first in texts[0] and second in texts[1]


# ---------------------------------------------------------------- the legal footer

@pytest.mark.parametrize("customer_id, footer, letterhead", [
    ("DE8", ["Registergericht: Amtsgericht Berlin-Charlottenburg HRB 12345",
             "Geschäftsführer: Erika Mustermann, Max Mustermann", "USt-IdNr.: DE123456789"],
     "Telefon: +49 30 1234567 · ar@example.com · www.example.com"),
    ("EN40", ["Register court: Amtsgericht Berlin-Charlottenburg HRB 12345",
              "Managing directors: Erika Mustermann, Max Mustermann", "VAT ID: DE123456789"],
     "Phone: +49 30 1234567 · ar@example.com · www.example.com"),
])
def test_every_page_has_the_legal_footer_and_page_1_the_phone_in_the_letterhead(layout_run, customer_id, footer,
                                                                                letterhead):
    pages = PdfReader(pdf_of(layout_run, customer_id)).pages
    for page in pages:
        runs = words(page)
        for text in footer:
            assert any(r[0] == text and r[2] > 282 for r in runs), f"{text!r} is not in the footer: {runs[-8:]}"
    assert run_at(words(pages[0]), letterhead)[2] < 45


def test_the_sender_keys_reach_the_manifest_render_reads(layout_run):
    sender = layout_run.manifest["sender"]
    assert sender["phone"] == "+49 30 1234567" and sender["vat_id"] == "DE123456789"
    assert sender["managing_directors"] == ["Erika Mustermann", "Max Mustermann"]
    assert sender["register"] == "Amtsgericht Berlin-Charlottenburg HRB 12345"
    assert sender["website"] == "www.example.com"


def test_a_footer_shows_only_what_the_sender_sets(layout_run):
    [context] = [c for c in letter_contexts(layout_run.out) if c["customer_id"] == "DE8"]
    bare = {"name": "Example GmbH", "address": ["Hauptstr. 1"], "email": "", "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX", "vat_id": "DE123456789"}
    html = letters_html([context], bare)
    assert 'data-legal="USt-IdNr.: DE123456789"' in html
    assert "Registergericht" not in html and "Geschäftsführer" not in html and "Telefon" not in html


# ---------------------------------------------------------------- totals with the table

def test_an_8_item_final_notice_keeps_totals_and_payment_block_on_page_1(layout_run):
    details = letter(layout_run, "DE8")
    assert details["level"] == 3 and details["line_count"] == 8
    [text] = page_texts(pdf_of(layout_run, "DE8"))
    assert "Zu zahlender Betrag" in text and "DE89 3704 0044 0532 0130 00" in text and "Mit freundlichen Grüßen" in text
    assert len(re.findall(r"FN-\d\d: 8,00 % p. a.", text)) == 8   # the interest lines too
    # still one page with a payment block of 40 mm (bank details beside a QR code)
    [context] = [c for c in letter_contexts(layout_run.out) if c["customer_id"] == "DE8"]
    html = letters_html([context], sender_of(layout_run.out)).replace("</style>", ".bank { min-height: 40mm; }</style>", 1)
    assert len(HTML(string=html, base_url=str(TEMPLATES_DIR), url_fetcher=RefuseAll()).render().pages) == 1


def test_no_demo_letter_has_a_last_page_of_totals_alone(demo_run):
    """The totals and the payment block take some of the table's last rows (or interest lines)
    along to a next page rather than stand there alone."""
    doc_ids = re.compile(r"\b(?:INV|CRN|REF|PAY|FEE)-\d+")
    longer = 0
    for pdf in sorted((demo_run / "pdf").glob("*.pdf")):
        pages = page_texts(pdf)
        if len(pages) > 1:
            longer += 1
            assert doc_ids.search(pages[-1]), f"{pdf.name}: its last page holds no line of the letter:\n{pages[-1]}"
    assert longer <= 4


# ---------------------------------------------------------------- reproducible bytes

def test_render_letter_reproduces_a_numbered_two_page_letter_byte_for_byte(layout_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(layout_run.out, out)
    for customer_id in ("EN40", "DE8"):
        pdf = out / letter(layout_run, customer_id)["pdf_path"]
        original = pdf.read_bytes()
        pdf.unlink()
        result = CliRunner().invoke(main, ["render", str(out), "--letter", letter(layout_run, customer_id)["letter_id"]])
        assert result.exit_code == 0, result.output
        assert pdf.read_bytes() == original


@pytest.mark.parametrize("guess", [1, 3])
def test_a_wrong_guess_of_the_pages_changes_no_byte(layout_run, tmp_path, monkeypatch, guess):
    """render_batch guesses each letter's pages to number them in one layout; a letter guessed
    wrong is laid out again, and its PDF is the same as if the guess had been right."""
    contexts = letter_contexts(layout_run.out)
    monkeypatch.setattr(render, "guess_pages", lambda letter: guess)
    written = dict(render_batch(contexts, sender_of(layout_run.out), tmp_path))
    assert written == {x["letter_id"]: {"DE8": 1, "EN40": 2, "DE40": 2}[x["customer_id"]] for x in layout_run.letters}
    for details in layout_run.letters:
        assert (tmp_path / f"{details['letter_id']}.pdf").read_bytes() == (layout_run.out / details["pdf_path"]).read_bytes()
