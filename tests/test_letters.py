"""The PDF letters of SPEC §6 (with §5 pdf_path, §8.6 and §4.11), read back with pypdf.

Every test renders real PDFs and checks what a reader of the letter sees: the text that
pypdf extracts, page by page. Babel prints amounts with non-breaking and narrow
non-breaking spaces (U+00A0, U+202F); `normalise` turns them into plain spaces, so the
expected strings below are written with ordinary spaces.

Runs use SPEC_CONFIG (tests/conftest.py): level 1 "reminder" after 7 days (settle 10, no
fee), level 2 "second_reminder" after 21 days (settle 7, fee 5.00, interest), level 3
"final_notice" after 45 days (settle 7, fee 10.00, interest, credit hold, payment term
IMMEDIATE). The run date is AS_OF = 2026-11-24.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency
from click.testing import CliRunner
from pypdf import PdfReader
from weasyprint import HTML

from conftest import AS_OF, Outcome, Scenario, customer, days_before, item, with_config

from dunning_batch.cli import main
from dunning_batch.errors import UserError
from dunning_batch.letters import batches, render, templating
from dunning_batch.letters.batches import BATCH_SIZE, letter_contexts, plan_batches, sender_of
from dunning_batch.letters.pool import render_contexts
from dunning_batch.letters.render import RefuseAll, letters_html, render_batch
from dunning_batch.letters.streamed_pdf import StreamedPdf
from dunning_batch.run import run

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "templates" / "messages"
LANGUAGES = ("en", "de", "fr", "pl")

# SPEC §3.2: a fee / min_amount table that is present names every currency used; the
# Polish customers are billed in PLN.
PLN_TOO = with_config({
    "fee = { EUR = 0.00 }": "fee = { EUR = 0.00, PLN = 0.00 }",
    "fee = { EUR = 5.00 }": "fee = { EUR = 5.00, PLN = 20.00 }",
    "fee = { EUR = 10.00 }": "fee = { EUR = 10.00, PLN = 40.00 }",
    "min_amount = { EUR = 1.00 }": "min_amount = { EUR = 1.00, PLN = 4.00 }",
    "min_amount = { EUR = 5.00 }": "min_amount = { EUR = 5.00, PLN = 20.00 }",
})
CURRENCY = {"en": "EUR", "de": "EUR", "fr": "EUR", "pl": "PLN"}

# 1 234.56 as each language prints it (Babel/CLDR), spaces normalised.
TOTAL_1234_56 = {"en": "€1,234.56", "de": "1.234,56 €", "fr": "1 234,56 €", "pl": "1 234,56 zł"}
# Dates in Babel's "medium" format: the run date, the level-1 pay-by date (D + 10),
# the level-2/3 pay-by date (D + 7) and the due date of an item 10 days past due.
RUN_DATE = {"en": "Nov 24, 2026", "de": "24.11.2026", "fr": "24 nov. 2026", "pl": "24 lis 2026"}
PAY_BY_LEVEL_1 = {"en": "Dec 4, 2026", "de": "04.12.2026", "fr": "4 déc. 2026", "pl": "4 gru 2026"}
PAY_BY_LEVEL_2_3 = {"en": "Dec 1, 2026", "de": "01.12.2026", "fr": "1 déc. 2026", "pl": "1 gru 2026"}
DUE_10_DAYS_AGO = {"en": "Nov 14, 2026", "de": "14.11.2026", "fr": "14 nov. 2026", "pl": "14 lis 2026"}

TEMPLATE_OF_LEVEL = {1: "reminder", 2: "second_reminder", 3: "final_notice"}


# ---------------------------------------------------------------- helpers

def catalogue(language: str) -> dict:
    """The message catalogue the letters must quote (templates/messages/<language>.toml)."""
    return tomllib.loads((MESSAGES / f"{language}.toml").read_text(encoding="utf-8"))


def normalise(text: str) -> str:
    """Extracted text with Babel's no-break spaces as plain spaces, in Unicode NFC."""
    return unicodedata.normalize("NFC", text.replace("\u00a0", " ").replace("\u202f", " "))


def flat(text: str) -> str:
    """All whitespace runs (line breaks of wrapped paragraphs included) as one space."""
    return re.sub(r"\s+", " ", text)


def compact(text: str) -> str:
    """No whitespace at all: for text in the narrow address window, which wraps anywhere."""
    return re.sub(r"\s+", "", text)


def page_texts(path: Path | io.BytesIO) -> list[str]:
    return [normalise(page.extract_text()) for page in PdfReader(path).pages]


def pdf_text(path: Path) -> str:
    return "\n".join(page_texts(path))


def lines_of(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines()}


def pdf_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "pdf").glob("*.pdf"))}


def money(amount: Decimal, currency: str, language: str) -> str:
    return normalise(format_currency(amount, currency, locale=language))


def letter_of(outcome: Outcome, customer_id: str) -> dict:
    [letter] = [x for x in outcome.letters if x["customer_id"] == customer_id]
    return letter


def doc_ids_of(outcome: Outcome, letter_id: str) -> list[str]:
    return [x["doc_id"] for x in outcome.lines if x["letter_id"] == letter_id and x["line_type"] != "interest"]


def longest_run_of_x(text: str) -> int:
    return max((len(m) for m in re.findall(r"x+", text)), default=0)


def run_pdf(scenario: Scenario, items: list[dict], customers: list[dict], monkeypatch: pytest.MonkeyPatch,
            **options) -> Outcome:
    """A run with PDFs, starting without SOURCE_DATE_EPOCH (the product must set it itself)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return scenario.run(items, customers, pdf=True, **options)


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


# ---------------------------------------------------------------- a run in four languages, three levels

def language_level_customers() -> tuple[list[dict], list[dict]]:
    """Per language a customer at level 1, 2 and 3 (ids EN1 .. PL3), two items each."""
    items, customers = [], []
    for language in LANGUAGES:
        cur = CURRENCY[language]
        c1, c2, c3 = (f"{language.upper()}{n}" for n in (1, 2, 3))
        customers += [customer(c, language=language, name=f"Kunde {c} Ltd") for c in (c1, c2, c3)]
        # level 1: two new items 10 days past due, 1 000.00 + 234.56 = 1 234.56, no fee, no interest
        items += [item(f"{c1}-A", 10, "1000.00", customer_id=c1, currency=cur),
                  item(f"{c1}-B", 10, "234.56", customer_id=c1, currency=cur)]
        # level 2: level-1 items 30 days past due (> 21), last letter 20 days ago (>= 21 - 7)
        items += [item(f"{c2}-A", 30, "500.00", customer_id=c2, currency=cur, dunning_level=1,
                       last_dunned_on=days_before(20)),
                  item(f"{c2}-B", 25, "300.00", customer_id=c2, currency=cur, dunning_level=1,
                       last_dunned_on=days_before(20))]
        # level 3: level-2 items 50 days past due (> 45), last letter 30 days ago (>= 45 - 21)
        items += [item(f"{c3}-A", 50, "800.00", customer_id=c3, currency=cur, dunning_level=2,
                       last_dunned_on=days_before(30)),
                  item(f"{c3}-B", 48, "200.00", customer_id=c3, currency=cur, dunning_level=2,
                       last_dunned_on=days_before(30))]
    return items, customers


@pytest.fixture(scope="module")
def languages_run(tmp_path_factory) -> tuple[Outcome, dict[str, str]]:
    """One run with 12 letters (4 languages x 3 levels); returns it and each customer's PDF text."""
    items, customers = language_level_customers()
    with pytest.MonkeyPatch.context() as mp:
        outcome = run_pdf(Scenario(tmp_path_factory.mktemp("languages")), items, customers, mp, config=PLN_TOO)
    texts = {x["customer_id"]: pdf_text(outcome.out / x["pdf_path"]) for x in outcome.letters}
    return outcome, texts


def test_every_letter_has_its_pdf_and_the_manifest_counts_them(languages_run):
    outcome, _ = languages_run
    letters = outcome.letters
    assert len(letters) == 12
    ids = {x["letter_id"] for x in letters}
    for letter in letters:
        assert letter["pdf_path"] == f"pdf/{letter['letter_id']}.pdf"           # SPEC §5
        pdf = outcome.out / letter["pdf_path"]
        assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF-")
        assert len(PdfReader(pdf).pages) >= 1
    assert {p.stem for p in (outcome.out / "pdf").iterdir()} == ids              # nothing else in pdf/
    digest = outcome.manifest["outputs"]["pdf/"]
    assert digest["files"] == len(letters)
    # SPEC §8.6: run.json's hash matches the files (sha256 over the sorted lines "name sha256")
    listing = "".join(f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in pdf_bytes(outcome.out).items())
    assert digest["sha256"] == hashlib.sha256(listing.encode()).hexdigest()


@pytest.mark.parametrize("language", LANGUAGES)
def test_letter_shows_customer_id_documents_and_locale_formats(languages_run, language):
    outcome, texts = languages_run
    cid = f"{language.upper()}1"
    letter = letter_of(outcome, cid)
    assert (letter["level"], letter["language"], letter["currency"]) == (1, language, CURRENCY[language])
    text = flat(texts[cid])
    assert f"Kunde {cid} Ltd" in text
    assert letter["letter_id"] in text
    assert doc_ids_of(outcome, letter["letter_id"]) == [f"{cid}-A", f"{cid}-B"]
    for doc_id in (f"{cid}-A", f"{cid}-B"):
        assert doc_id in text
    assert letter["total_due"] == Decimal("1234.56")
    assert TOTAL_1234_56[language] in text, text
    for other, formatted in TOTAL_1234_56.items():
        if other != language:
            assert formatted not in text, f"{language} letter shows the {other} format {formatted!r}"
    assert RUN_DATE[language] in text
    assert PAY_BY_LEVEL_1[language] in text
    assert DUE_10_DAYS_AGO[language] in text
    if language == "de":
        assert "24.11.2026" in text and "04.12.2026" in text
    common = catalogue(language)["common"]
    assert common["total_due"] in text and common["pay_by"] in text


def test_expected_totals_are_what_babel_prints():
    # the expected strings above are Babel's own output (CLDR), not a guess
    for language, expected in TOTAL_1234_56.items():
        assert money(Decimal("1234.56"), CURRENCY[language], language) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_subject_rises_with_the_level(languages_run, language):
    outcome, texts = languages_run
    messages = catalogue(language)
    subjects = {level: messages[template]["subject"] for level, template in TEMPLATE_OF_LEVEL.items()}
    assert len(set(subjects.values())) == 3
    for level in (1, 2, 3):
        cid = f"{language.upper()}{level}"
        letter = letter_of(outcome, cid)
        assert (letter["level"], letter["template"]) == (level, TEMPLATE_OF_LEVEL[level])
        text = texts[cid]
        lines = lines_of(text)
        assert subjects[level] in lines, f"{cid}: subject {subjects[level]!r} missing; text:\n{text}"
        for other in {1, 2, 3} - {level}:
            assert subjects[other] not in lines, f"{cid} (level {level}) shows the level-{other} subject"
        # its amounts in its own language, whatever the level adds (fee, interest)
        flat_text = flat(text)
        assert money(letter["total_due"], letter["currency"], language) in flat_text
        pay_by = PAY_BY_LEVEL_1 if level == 1 else PAY_BY_LEVEL_2_3
        assert pay_by[language] in flat_text
        for doc_id in doc_ids_of(outcome, letter["letter_id"]):
            assert doc_id in flat_text


@pytest.mark.parametrize("language", LANGUAGES)
def test_final_notice_names_the_consequences(languages_run, language):
    outcome, texts = languages_run
    tone = catalogue(language)["final_notice"]
    final = letter_of(outcome, f"{language.upper()}3")
    assert final["is_final"] and final["template"] == "final_notice"
    text = flat(texts[f"{language.upper()}3"])
    assert normalise(tone["consequences"]) in text, text  # no-break spaces as the text reads them
    assert tone["credit_hold"] in text, text
    # the config's code (customer_actions.csv keeps it for the ERP) in the customer's words
    term = catalogue(language)["payment_terms"]["IMMEDIATE"]
    assert normalise(tone["payment_term"].format(term=term)) in text, text
    assert "IMMEDIATE" not in text
    assert {(a["action"], a["value"]) for a in outcome.actions if a["letter_id"] == final["letter_id"]} \
        == {("credit_hold", "true"), ("payment_term", "IMMEDIATE")}
    worded = {"en": "with the payment term “immediate payment”",
              "de": "mit der Zahlungsbedingung „sofortige Zahlung“ an",
              "fr": "avec la condition de paiement « paiement immédiat »",
              "pl": "z warunkiem płatności „płatność natychmiastowa”"}
    assert worded[language] in text, text
    for level in (1, 2):  # earlier letters threaten nothing
        earlier = flat(texts[f"{language.upper()}{level}"])
        assert tone["credit_hold"] not in earlier
        assert term not in earlier and "IMMEDIATE" not in earlier


def test_a_payment_term_a_language_lacks_is_worded_in_english(tmp_path, monkeypatch):
    (tmp_path / "en.toml").write_text('[payment_terms]\nIMMEDIATE = "immediate payment"\nNET7 = "7 days net"\n',
                                      encoding="utf-8")
    (tmp_path / "de.toml").write_text('[payment_terms]\nIMMEDIATE = "sofortige Zahlung"\n', encoding="utf-8")
    monkeypatch.setattr(templating, "MESSAGES_DIR", tmp_path)
    templating.catalog.cache_clear()
    try:
        assert templating.payment_term("IMMEDIATE", "de") == "sofortige Zahlung"
        assert templating.payment_term("NET7", "de") == "7 days net"       # de has none: English
        assert templating.payment_term("NET7", "xx") == "7 days net"       # no catalogue at all: English
        with pytest.raises(UserError, match=r"en\.toml: \[payment_terms\] has no wording for the payment term 'NET30'"):
            templating.payment_term("NET30", "de")
    finally:
        templating.catalog.cache_clear()


# ---------------------------------------------------------------- long letters: pages, headers, numbering

def test_long_letters_repeat_the_table_header_and_number_their_own_pages(scenario, monkeypatch):
    # two customers with 60 overdue lines each, in one run and therefore one rendering batch
    items = [item(f"L1-{i:03d}", 10, "10.00") for i in range(60)]
    items += [item(f"L2-{i:03d}", 10, "10.00", customer_id="C2") for i in range(60)]
    outcome = run_pdf(scenario, items, [customer("C1"), customer("C2")], monkeypatch)
    assert len(outcome.letters) == 2
    common = catalogue("en")["common"]
    header = " ".join(common[k] for k in ("document", "due_date", "days_overdue", "open_amount", "interest"))
    assert header.startswith("Document ")
    for prefix, cid in (("L1", "C1"), ("L2", "C2")):
        letter = letter_of(outcome, cid)
        assert letter["line_count"] == 60
        pages = page_texts(outcome.out / letter["pdf_path"])
        assert len(pages) >= 2, "60 lines must not fit on one page"
        rows_per_page = [re.findall(rf"\b{prefix}-\d{{3}}\b", page) for page in pages]
        # every line is printed exactly once, in order, none lost at a page break
        assert [doc for rows in rows_per_page for doc in rows] == [f"{prefix}-{i:03d}" for i in range(60)]
        table_pages = [i for i, rows in enumerate(rows_per_page) if rows]
        assert len(table_pages) >= 2, "the table must run over a page break"
        for i in table_pages:
            assert header in lines_of(pages[i]), f"{cid} page {i + 1} has table rows but no header:\n{pages[i]}"
        for i, page in enumerate(pages):
            numbers = re.findall(rf"\b{common['page']} (\d+)\b", page)
            assert numbers == [str(i + 1)], f"{cid} page {i + 1} is numbered {numbers}"


# ---------------------------------------------------------------- very long letters: bounded layouts
# A WeasyPrint layout holds about 100 KiB a line until it is written. So a render batch takes
# at most BATCH_SIZE letters and BATCH_LINES printed lines, and a longer letter is laid out
# alone, in parts of BATCH_LINES lines: each part starts a new page, its pages number on.

def test_a_batch_holds_60_letters_or_1000_lines_and_a_longer_letter_is_alone():
    assert (BATCH_SIZE, batches.BATCH_LINES) == (60, 1000)
    assert plan_batches([1] * 120) == [(0, 60), (60, 120)]
    assert plan_batches([1] * 130) == [(0, 44), (44, 88), (88, 130)]        # as even as they come
    # 400 + 400; 300 (+ 5000 would pass 1000); 5000 alone; 10 + 990 = 1000 exactly; 1
    assert plan_batches([400, 400, 300, 5000, 10, 990, 1]) == [(0, 2), (2, 3), (3, 4), (4, 6), (6, 7)]
    assert plan_batches([]) == []


def test_batches_come_in_a_multiple_of_the_workers_as_even_as_they_come():
    # no worker idles while another renders a batch of 60: 100 letters on 2 are 50 + 50
    assert plan_batches([1] * 100, workers=2) == [(0, 50), (50, 100)]
    assert plan_batches([1] * 30, workers=2) == [(0, 15), (15, 30)]
    assert plan_batches([1] * 150, workers=2) == [(0, 38), (38, 76), (76, 114), (114, 150)]
    assert plan_batches([1] * 3, workers=4) == [(0, 1), (1, 2), (2, 3)]
    assert plan_batches([1] * 240, workers=2) == [(0, 60), (60, 120), (120, 180), (180, 240)]


def first_docs_of_pages(pages: list[str], prefix: str) -> list[str]:
    return [found[0] for page in pages if (found := re.findall(rf"\b{prefix}-\d+\b", page))]


def assert_whole_letter_in_parts(outcome: Outcome, letter: dict, prefix: str, part_lines: int) -> list[str]:
    """Every document once and in order, pages numbered 1..n, each part from a new page, the
    letter's opening on page 1 only and its totals on the last page only; returns the pages."""
    common, tone = catalogue("en")["common"], catalogue("en")[letter["template"]]
    pages = page_texts(outcome.out / "pdf" / f"{letter['letter_id']}.pdf")
    docs = [x["doc_id"] for x in outcome.lines if x["letter_id"] == letter["letter_id"]]  # items, then interest
    assert [doc for page in pages for doc in re.findall(rf"\b{prefix}-\d+\b", page)] == docs
    for i, page in enumerate(pages):
        assert re.findall(rf"\b{common['page']} (\d+)\b", page) == [str(i + 1)]
    starts = first_docs_of_pages(pages, prefix)
    assert all(docs[k] in starts for k in range(part_lines, len(docs), part_lines)), "a part did not start a page"
    total = f"{common['total_due']} {money(letter['total_due'], 'EUR', 'en')}"
    assert [i for i, page in enumerate(pages) if total in page] == [len(pages) - 1]
    assert [i for i, page in enumerate(flat(p) for p in pages) if flat(tone["subject"]) in page] == [0]
    return pages


def test_long_letters_are_laid_out_in_parts_and_render_letter_reproduces_them(scenario, monkeypatch):
    monkeypatch.setattr(batches, "BATCH_LINES", 30)       # the rule at a size a test renders quickly
    layouts: list[int] = []

    def counted(letters, sender, first_page=1, pages=None):
        layouts.append(sum(batches.printed_lines(x) for x in letters))
        return letters_html(letters, sender, first_page, pages)

    monkeypatch.setattr(render, "letters_html", counted)
    # C1: 70 lines, laid out alone in parts of 30, 30 and 10; C2-C4: 20, 15 and 5 lines, batched
    # so that no layout passes 30 lines; C5: a level-2 letter of 20 items and their 20 interest
    # lines, in parts of 20 items + 10 interest lines and 10 interest lines (no table)
    counts = {"C1": 70, "C2": 20, "C3": 15, "C4": 5}
    items = [item(f"{cid}-{i:03d}", 10 + i % 7, "10.00", customer_id=cid) for cid, n in counts.items() for i in range(n)]
    items += [item(f"C5-{i:03d}", 30 + i % 7, "100.00", customer_id="C5", dunning_level=1,
                   last_dunned_on=days_before(20)) for i in range(20)]
    outcome = run_pdf(scenario, items, [customer(c) for c in [*counts, "C5"]], monkeypatch, workers=1)
    # a letter in parts is laid out twice: its pages counted first, then numbered "Page n of N"
    assert max(layouts) <= 30
    assert any(layouts[i:i + 6] == [30, 30, 10] * 2 for i in range(len(layouts))), layouts
    assert any(layouts[i:i + 4] == [30, 10] * 2 for i in range(len(layouts))), layouts
    pages = assert_whole_letter_in_parts(outcome, letter_of(outcome, "C1"), "C1", 30)
    assert len(pages) >= 3
    interest = letter_of(outcome, "C5")
    assert interest["level"] == 2 and interest["interest_total"] > 0
    pages = assert_whole_letter_in_parts(outcome, interest, "C5", 30)
    common = catalogue("en")["common"]
    assert common["interest_heading"] in pages[-1] and common["document"] not in pages[-1]
    for cid in ("C2", "C3", "C4"):
        short = letter_of(outcome, cid)
        text = pdf_text(outcome.out / short["pdf_path"])
        assert re.findall(rf"\b{cid}-\d+\b", text) == doc_ids_of(outcome, short["letter_id"])
    original = pdf_bytes(outcome.out)
    for letter in outcome.letters:
        (outcome.out / letter["pdf_path"]).unlink()
        result = invoke("render", outcome.out, "--letter", letter["letter_id"], "--workers", "1")
        assert result.exit_code == 0, result.output
    assert pdf_bytes(outcome.out) == original


def test_a_letter_whose_part_fails_leaves_no_half_written_pdf(tmp_path):
    """Parts are written into the letter's PDF as they come; an error stops and removes it."""
    target = tmp_path / "DL-LONG.pdf"
    with pytest.raises(Exception), StreamedPdf(target) as letter:
        letter.add_blank_page(595, 842)
        letter.append(io.BytesIO(b"%PDF-1.7 not a layout"))
    assert not target.exists()


RENDER_PEAK = """
import re, sys
from pathlib import Path
from dunning_batch.rerender import render_folder
render_folder(Path(sys.argv[1]), workers=1)
print(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
"""


def render_peak_mib(out: Path) -> float:
    """`render` of a folder in a fresh process with one worker: its peak RSS (Linux's VmHWM,
    counted from the process's start, unlike a child's ru_maxrss) in MiB."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", RENDER_PEAK, str(out)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1]) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from Linux's /proc")
def test_a_3000_line_letter_is_printed_whole_in_bounded_memory(scenario):
    short = scenario.run([item("ONE-1", 10, "10.00")])
    lines = 3000
    outcome = scenario.run([item(f"LONG-{i:05d}", 10 + i % 50, "10.00") for i in range(lines)])
    [letter] = outcome.letters
    assert letter["line_count"] == lines and letter["total_due"] == Decimal("30000.00")
    grown = render_peak_mib(outcome.out) - render_peak_mib(short.out)
    # one layout of 1,000 lines takes about 100 MiB; the whole letter at once took about 300
    assert grown < 200, f"rendering 3,000 lines took {grown:.0f} MiB more than one line"
    pages = assert_whole_letter_in_parts(Outcome(outcome.out), letter, "LONG", batches.BATCH_LINES)
    assert len(pages) >= lines // 60   # a page holds about 52 rows


# ---------------------------------------------------------------- untrusted data

LONG_WORD = "LONG" + "x" * 292 + "WORD"                      # 300 characters, no break opportunity
EVIL_NAME = "Evil\u200f Corp <b>bold</b><script>alert(1)</script> url(file:///etc/passwd)"
EVIL_ADDRESS_LINES = ['<img src="file:///etc/passwd">',
                      '<link rel=stylesheet href="http://127.0.0.1:9/x.css">',
                      "background: url(file:///etc/passwd)",
                      LONG_WORD]
# An "x" of DejaVu Sans is 0.592 em: 5.33 pt at the letter's 9 pt. The text column is
# 210 - 25 - 20 = 165 mm = 468 pt wide and holds at most 87 of them; a longer run of x on
# one line of extracted text is text running past the right margin.
MAX_X_PER_LINE = 87


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory):
    """C1: markup, URLs, a right-to-left mark and a 300-character word in name and address;
    C2: a 300-character word in the name. Returns the run, the URLs refused, the HTML."""
    customers = [customer("C1", name=EVIL_NAME, address="\n".join(EVIL_ADDRESS_LINES)),
                 customer("C2", name=f"Long {LONG_WORD}")]
    items = [item("EVIL-1", 10, "100.00"), item("LONG-1", 10, "100.00", customer_id="C2")]
    RefuseAll.refused.clear()
    with pytest.MonkeyPatch.context() as mp:
        outcome = run_pdf(Scenario(tmp_path_factory.mktemp("untrusted")), items, customers, mp)
    refused = list(RefuseAll.refused)
    html = letters_html(letter_contexts(outcome.out), sender_of(outcome.out))
    return outcome, refused, html


def test_untrusted_text_is_printed_as_text_and_nothing_is_fetched(untrusted):
    outcome, refused, html = untrusted
    letter = letter_of(outcome, "C1")
    text = pdf_text(outcome.out / letter["pdf_path"]).replace("\u200f", "")   # the mark itself is invisible
    visible_name = EVIL_NAME.replace("\u200f", "")
    # the salutation ("Dear {name},") runs in the full-width body: the name comes back verbatim
    assert f"Dear {visible_name}," in flat(text), text
    assert "<script>alert(1)</script>" in text and "<b>bold</b>" in text
    # the address sits in the 85 mm window and may wrap anywhere: compare without whitespace
    for line in EVIL_ADDRESS_LINES:
        assert compact(line) in compact(text), f"address line {line[:40]!r} missing:\n{text}"
    assert "root:" not in text                       # /etc/passwd was not read into the letter
    assert refused == [], f"the renderer tried to load {refused}"
    # the letter still renders in full (totals, payment details) and the long word is wrapped
    assert "Total due €100.00" in flat(text)
    assert letter["letter_id"] in text
    assert longest_run_of_x(text) <= MAX_X_PER_LINE, text
    # the HTML handed to WeasyPrint holds the data escaped: no element of the customer's making
    assert "Evil\u200f Corp &lt;b&gt;bold&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "&lt;link rel=stylesheet" in html
    for tag in ("<script", "<link", "<b>bold"):
        assert tag not in html
    # the one image a letter has is its payment code's, made by payment_codes.epc_png
    assert html.count("<img") == html.count('<img class="epc" alt="" src="data:image/png;base64,') == 2


def test_refuse_all_records_what_it_refuses():
    # control for the assertion above: had the markup reached WeasyPrint, RefuseAll would list it
    RefuseAll.refused.clear()
    HTML(string='<p>x</p><img src="file:///etc/passwd">', url_fetcher=RefuseAll()).render()
    try:
        assert RefuseAll.refused == ["file:///etc/passwd"]
    finally:
        RefuseAll.refused.clear()


def test_refuse_all_reads_only_a_png_in_a_data_url():
    # the payment code is a PNG in a data: URL (it opens nothing); any other URL stays refused
    RefuseAll.refused.clear()
    other = ["data:text/css;base64,cCB7IGNvbG9yOiByZWQgfQ==", "data:image/svg+xml;base64,PHN2Zy8+",
             "file:///etc/passwd"]
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
    html = "".join(f'<img src="{url}">' for url in [png, *other])
    try:
        HTML(string=html, url_fetcher=RefuseAll()).render()
        assert RefuseAll.refused == other
    finally:
        RefuseAll.refused.clear()


def test_a_300_character_word_in_the_name_stays_on_the_page(untrusted):
    outcome, _, _ = untrusted
    letter = letter_of(outcome, "C2")
    pages = page_texts(outcome.out / letter["pdf_path"])
    text = "\n".join(pages)
    assert compact(LONG_WORD) in compact(text)       # the letter renders, the name is all there
    assert "Total due €100.00" in flat(text)
    too_long = [line for line in text.splitlines() if longest_run_of_x(line) > MAX_X_PER_LINE]
    assert too_long == [], (f"{len(too_long)} line(s) hold more than {MAX_X_PER_LINE} x's and run past the "
                            f"right margin: {[f'{line[:12]}...{line[-8:]} ({len(line)} chars)' for line in too_long]}")


# ---------------------------------------------------------------- Unicode

UNICODE_CUSTOMERS = [
    ("PL", "pl", "Zażółć gęślą jaźń Sp. z o.o.", ["ul. Piotrkowska 5", "90-001 Łódź", "Polska"]),
    ("DE", "de", "Müller & Söhne GmbH", ["Königstraße 12", "70173 Stuttgart", "Deutschland"]),
    ("FR", "fr", "Lefèvre & Œuvre SARL", ["12 rue de l’Œuvre", "75004 Paris", "France"]),
    ("CZ", "en", "Antonín Dvořák s.r.o.", ["Příliš žluťoučký kůň 7", "110 00 Praha 1", "Česko"]),
    ("TR", "en", "İstanbul Ğıda Ticaret A.Ş.", ["Büyükdere Cd. 1", "Şişli, İstanbul", "Türkiye"]),
]


def test_unicode_names_and_addresses_come_back_from_the_pdf(scenario, monkeypatch):
    customers = [customer(cid, name=name, language=language, address="\n".join(address))
                 for cid, language, name, address in UNICODE_CUSTOMERS]
    items = [item(f"{cid}-1", 10, "100.00", customer_id=cid) for cid, *_ in UNICODE_CUSTOMERS]
    outcome = run_pdf(scenario, items, customers, monkeypatch)
    for cid, language, name, address in UNICODE_CUSTOMERS:
        letter = letter_of(outcome, cid)
        text = pdf_text(outcome.out / letter["pdf_path"])
        lines = lines_of(text)
        assert name in lines, f"{cid}: {name!r} not extracted as written:\n{text}"
        for line in address:
            assert line in lines, f"{cid}: {line!r} not extracted as written:\n{text}"
        if language == "en":
            assert f"Dear {name}," in flat(text)


# ---------------------------------------------------------------- the command line: --no-pdf, render

def test_no_pdf_writes_no_pdf_folder_and_null_paths(scenario):
    config, items, customers = scenario.files([item("INV-1", 10, "100.00"), item("INV-2", 30, "50.00")])
    out = scenario.tmp_path / "out-no-pdf"
    result = invoke("run", "--config", config, "--open-items", items, "--customers", customers,
                    "--as-of", AS_OF.isoformat(), "--out", out, "--no-pdf")
    assert result.exit_code == 0, result.output
    assert not (out / "pdf").exists()
    letters = Outcome(out).letters
    assert len(letters) == 1
    assert [x["pdf_path"] for x in letters] == [None]
    assert Outcome(out).manifest["outputs"]["pdf/"]["files"] == 0


def render_inputs() -> tuple[list[dict], list[dict]]:
    """Three letters in three languages and scripts, so their glyph sets differ."""
    customers = [customer("C1", language="de", name="Müller GmbH", address="Königstraße 1\n70173 Stuttgart"),
                 customer("C2", language="fr", name="Lefèvre SARL"),
                 customer("C3", name="Dvořák s.r.o.", address="Příliš žluťoučký kůň 7")]
    items = [item("INV-1", 10, "1234.56"), item("INV-2", 12, "99.90"),
             item("INV-3", 50, "1000.00", customer_id="C2", dunning_level=2, last_dunned_on=days_before(30)),
             item("INV-4", 30, "420.00", customer_id="C3", dunning_level=1, last_dunned_on=days_before(20))]
    return items, customers


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Scenario, Outcome, dict[str, bytes], bytes]:
    """A finished run with PDFs; its PDFs' bytes and run.json as written by `run`."""
    scenario = Scenario(tmp_path_factory.mktemp("rendered"))
    items, customers = render_inputs()
    with pytest.MonkeyPatch.context() as mp:
        outcome = run_pdf(scenario, items, customers, mp)
    assert len(outcome.letters) == 3
    return scenario, outcome, pdf_bytes(outcome.out), (outcome.out / "run.json").read_bytes()


@pytest.fixture
def rendered_copy(rendered, tmp_path) -> tuple[Path, Outcome, dict[str, bytes], bytes]:
    """A private copy of the rendered output folder for a test to re-render in."""
    _, outcome, pdfs, manifest = rendered
    out = tmp_path / "copy"
    shutil.copytree(outcome.out, out)
    return out, Outcome(out), pdfs, manifest


def test_render_one_letter_reproduces_its_pdf_byte_for_byte(rendered_copy, monkeypatch):
    out, outcome, original, manifest = rendered_copy
    differing = {}
    for letter in outcome.letters:
        letter_id = letter["letter_id"]
        name = f"{letter_id}.pdf"
        before = pdf_bytes(out)
        (out / "pdf" / name).unlink()                    # re-rendered from the outputs alone
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
        result = invoke("render", out, "--letter", letter_id)
        assert result.exit_code == 0, result.output
        assert "re-rendered 1 letter (" in result.output
        now = pdf_bytes(out)
        assert set(now) == set(original)
        assert {k: v for k, v in now.items() if k != name} == {k: v for k, v in before.items() if k != name}, \
            f"render --letter {letter_id} touched other letters"
        if now[name] != original[name]:
            same_text = page_texts(io.BytesIO(now[name])) == page_texts(io.BytesIO(original[name]))
            differing[letter_id] = (f"{len(now[name])} bytes, the run wrote {len(original[name])}; "
                                    f"extracted text {'identical' if same_text else 'differs'}")
    assert differing == {}, f"render --letter does not reproduce the run's PDFs: {differing}"
    assert (out / "run.json").read_bytes() == manifest


def test_render_unknown_letter_exits_2_with_a_message(rendered_copy):
    out, _, original, manifest = rendered_copy
    result = invoke("render", out, "--letter", "DL-20261124-0000000000000000")
    assert result.exit_code == 2, result.output
    assert "DL-20261124-0000000000000000" in result.output
    assert "Traceback" not in result.output
    assert pdf_bytes(out) == original
    assert (out / "run.json").read_bytes() == manifest


def test_render_whole_folder_again_gives_identical_bytes(rendered_copy, monkeypatch):
    out, _, original, manifest = rendered_copy
    shutil.rmtree(out / "pdf")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    result = invoke("render", out)
    assert result.exit_code == 0, result.output
    assert "re-rendered 3 letters (" in result.output
    assert pdf_bytes(out) == original
    assert (out / "run.json").read_bytes() == manifest   # the pdf/ digest still holds


def test_two_runs_of_the_same_inputs_give_identical_pdfs(rendered, monkeypatch):
    scenario, first, original, _ = rendered
    # at least a second later than the first run: a wall-clock stamp anywhere would show
    age = time.time() - (first.out / "run.json").stat().st_mtime
    time.sleep(max(0.0, 1.1 - age))
    items, customers = render_inputs()
    second = run_pdf(scenario, items, customers, monkeypatch)
    assert [x["letter_id"] for x in second.letters] == [x["letter_id"] for x in first.letters]
    assert pdf_bytes(second.out) == original
    assert second.manifest["outputs"]["pdf/"] == json.loads((first.out / "run.json").read_text())["outputs"]["pdf/"]


# ---------------------------------------------------------------- workers

def test_two_workers_give_the_same_bytes_as_one(scenario, monkeypatch):
    monkeypatch.setattr("dunning_batch.letters.pool.HELPER_LETTERS", 2)   # 70 letters get the helper
    customers = [customer(f"W{n:03d}") for n in range(70)]
    items = [item(f"W-{n:03d}", 10, "100.00", customer_id=f"W{n:03d}") for n in range(70)]
    config, items_path, customers_path = scenario.files(items, customers)
    outs = {}
    for workers in (1, 2):
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
        outs[workers] = scenario.tmp_path / f"workers{workers}"
        run(config, items_path, customers_path, AS_OF, outs[workers], workers=workers)
    letters = Outcome(outs[1]).letters
    assert len(letters) == 70 > BATCH_SIZE                # two batches: the pool really is used
    one, two = pdf_bytes(outs[1]), pdf_bytes(outs[2])
    assert len(one) == 70
    assert set(one) == set(two)
    differing = sorted(name for name in one if one[name] != two[name])
    assert differing == []
    assert Outcome(outs[1]).manifest["outputs"]["pdf/"] == Outcome(outs[2]).manifest["outputs"]["pdf/"]


def test_a_helper_process_that_fails_fails_the_render(scenario, monkeypatch, tmp_path):
    """With two workers this process renders batches too; a batch that fails in the spawned
    helper must surface here as an error, not be lost or hang the run."""
    customers = [customer(f"H{n:03d}") for n in range(70)]
    items = [item(f"H-{n:03d}", 10, "100.00", customer_id=f"H{n:03d}") for n in range(70)]
    config, items_path, customers_path = scenario.files(items, customers)
    out = scenario.tmp_path / "out"
    run(config, items_path, customers_path, AS_OF, out, pdf=False)
    contexts = [{**letter, "template": "no_such_level"} for letter in letter_contexts(out)]
    assert len(contexts) > BATCH_SIZE                     # two batches: one goes to the helper
    monkeypatch.setattr("dunning_batch.letters.render.render_batch", _render_in_helpers_only)
    monkeypatch.setattr("dunning_batch.letters.pool.HELPER_LETTERS", 2)   # 70 letters get the helper
    with pytest.raises(Exception, match="no_such_level"):
        render_contexts(contexts, sender_of(out), tmp_path, workers=2)


def _render_in_helpers_only(batch, sender, pdf_dir):
    """This process pretends its batches went well; a spawned helper (which imports this
    module by name) renders for real."""
    if multiprocessing.parent_process() is None:
        return [(letter["letter_id"], 1) for letter in batch]
    return render_batch(batch, sender, pdf_dir)
