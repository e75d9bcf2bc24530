"""Issue 20: the letters the direct renderer draws (dunning_batch/letters/direct.py) look as
WeasyPrint lays them out: every character at the same place on the same page, the EPC code
where it was, the same borders. Compared on the demo's letters and on a synthetic night in
four languages, from the PDFs themselves (pypdfium2 reads each character's box).

And the renderer leaves to WeasyPrint what it cannot place exactly: a letter with the Swiss
QR-bill, a word that may break inside at a line's end, right-to-left text.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pypdfium2
import pytest
from pypdf import PdfReader

from conftest import customer, item
from dunning_batch.letters import direct
from dunning_batch.letters.batches import letter_contexts
from dunning_batch.letters.direct_letter import lay_out
from dunning_batch.letters.direct_text import Piece, Unsupported, break_lines, fonts
from dunning_batch.letters.render import render_batch
from dunning_batch.run import run
from dunning_batch.synth import write_synthetic

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE_PT = 0.1   # a character's box may differ by this much (HarfBuzz versions round apart)


def characters(pdf: Path) -> list[list[tuple[str, float, float]]]:
    """Per page, each character drawn with the left and bottom of its box, in reading order."""
    pages = []
    for page in pypdfium2.PdfDocument(pdf):
        text = page.get_textpage()
        found = []
        for index in range(text.count_chars()):
            char = text.get_text_range(index, 1)
            if char.strip():
                left, bottom, _, _ = text.get_charbox(index, loose=True)   # from the baseline, not the glyph
                found.append((char, left, bottom))
        pages.append(sorted(found, key=lambda c: (-round(c[2]), c[1])))
    return pages


def images(pdf: Path) -> list[list[tuple[float, ...]]]:
    """Per page, the bounds of each image (the EPC code)."""
    return [[tuple(round(v, 1) for v in obj.get_bounds()) for obj in page.get_objects()
             if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE] for page in pypdfium2.PdfDocument(pdf)]


def render_both_ways(folder: Path, tmp_path: Path) -> tuple[list[str], Path, Path]:
    """The folder's letters rendered directly where the renderer can, and all by WeasyPrint;
    the ids of those drawn directly."""
    letters = letter_contexts(folder)
    sender = json.loads((folder / "run.json").read_text(encoding="utf-8"))["sender"]
    drawn, laid_out = tmp_path / "direct", tmp_path / "weasyprint"
    drawn.mkdir()
    laid_out.mkdir()
    direct_ids = [letter["letter_id"] for letter in letters if direct.render_direct(letter, sender, drawn)]
    render_batch(letters, sender, laid_out, direct=False)
    return direct_ids, drawn, laid_out


def assert_look_the_same(ids: list[str], drawn: Path, laid_out: Path) -> None:
    for letter_id in ids:
        ours, theirs = characters(drawn / f"{letter_id}.pdf"), characters(laid_out / f"{letter_id}.pdf")
        assert len(ours) == len(theirs), f"{letter_id}: {len(ours)} pages drawn, {len(theirs)} laid out"
        for number, (mine, weasy) in enumerate(zip(ours, theirs), start=1):
            assert "".join(c for c, _, _ in mine) == "".join(c for c, _, _ in weasy), (letter_id, number)
            worst = max((max(abs(a[1] - b[1]), abs(a[2] - b[2])) for a, b in zip(mine, weasy)), default=0)
            assert worst < TOLERANCE_PT, f"{letter_id} page {number}: a character {worst:.3f} pt from WeasyPrint's"
        assert images(drawn / f"{letter_id}.pdf") == images(laid_out / f"{letter_id}.pdf"), letter_id
        # and a reader gets the same text in the same order (the address field after the flow,
        # the float's caption before it, "Page 2 of 2" after the letter's heading)
        assert texts(drawn / f"{letter_id}.pdf") == texts(laid_out / f"{letter_id}.pdf"), letter_id


def texts(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(pdf).pages]


def test_the_demo_s_letters_drawn_directly_look_as_weasyprint_lays_them_out(demo_run, tmp_path):
    ids, drawn, laid_out = render_both_ways(demo_run, tmp_path)
    assert len(ids) >= 24, f"only {len(ids)} of the demo's 28 letters drawn directly"
    assert_look_the_same(ids, drawn, laid_out)


def test_a_night_in_four_languages_with_two_page_letters_looks_the_same(tmp_path):
    """synth's realistic night: 1-3 lines mostly, some of 20 and more (two pages, the table's
    head repeated, "Page 1 of 2"), final notices, credits, four languages."""
    write_synthetic(tmp_path / "in", customers=700, seed=3, as_of=dt.date(2026, 11, 24))
    run(ROOT / "config" / "example.toml", tmp_path / "in" / "open_items.parquet",
        tmp_path / "in" / "customers.parquet", dt.date(2026, 11, 24), tmp_path / "out", pdf=False)
    ids, drawn, laid_out = render_both_ways(tmp_path / "out", tmp_path)
    letters = {letter["letter_id"]: letter for letter in letter_contexts(tmp_path / "out")}
    assert len(ids) >= 0.9 * len(letters), f"{len(ids)} of {len(letters)} drawn directly"
    assert {letters[i]["language"] for i in ids} >= {"de", "en", "fr", "pl"}
    assert any(len(characters(drawn / f"{i}.pdf")) == 2 for i in ids), "no two-page letter drawn directly"
    assert_look_the_same(ids, drawn, laid_out)


def test_what_it_cannot_place_exactly_is_left_to_weasyprint(scenario):
    """A word Pango may break inside at a line's end, right-to-left text, an info block longer
    than the head and the Swiss QR-bill are WeasyPrint's; the renderer says why."""
    outcome = scenario.run([item("INV-1", 30, "100.00")], [customer("C1", name="שלום Ltd")])
    [letter] = letter_contexts(outcome.out)
    sender = json.loads((outcome.out / "run.json").read_text(encoding="utf-8"))["sender"]
    with pytest.raises(Unsupported, match="bidi"):
        lay_out(direct.letter_section(letter, sender, {}))
    # where Pango may break otherwise: after a hyphen, dash or "|", at a thin space, and at no
    # space before "!" (found by a probe: "2020–2021" broke after the dash in WeasyPrint's)
    room = fonts().width("x" * 30, False, 12) + 1   # the word after the x's goes to the next line
    assert len(break_lines([Piece("x" * 30 + " Berlin", 12, False, "#111")], lambda _: room)) == 2
    for word in ("Berlin-Charlottenburg", "2020–2021", "Foo|Bar", "1\u2009234", "!"):
        with pytest.raises(Unsupported, match="UAX #14"):
            break_lines([Piece("x" * 30 + " " + word, 12, False, "#111")], lambda _: room)
    # a sales rep's name of any length passes the config: an info block past the head is WeasyPrint's
    assert direct.render_direct(dict(letter, sales_rep_name="Anna Weber " * 250, sales_rep_phone="",
                                     sales_rep_email="a@example.com"), sender, outcome.out) is None
    swiss = dict(sender, iban="CH9300762011623852957", qr="swiss", street="Bahnhofstrasse 1", postcode="8001",
                 city="Zürich", country="CH")
    assert direct.render_direct(dict(letter, currency="CHF"), swiss, outcome.out) is None


def test_the_layout_follows_the_stylesheets_it_was_measured_on():
    """direct_layout.STYLESHEETS_SHA256 names letter.css and payment.css as the layout's
    values were taken from them: a changed stylesheet sends every letter to WeasyPrint until
    the layout follows it and this digest is updated (and the tests above pass again)."""
    assert direct.stylesheets_sha256() == direct.STYLESHEETS_SHA256
    assert direct.available()


def test_the_letters_weasyprint_lays_out_are_laid_out_alone(scenario, monkeypatch):
    """A probe found the EPC code's caption that WeasyPrint cuts off at a page's end printed on
    the next letter's first page of the same document: what the direct renderer leaves is
    laid out one letter a document."""
    from dunning_batch.letters import render

    outcome = scenario.run([item(f"INV-{n}", 30, "100.00", customer_id=f"C{n}") for n in range(3)],
                           [customer(f"C{n}", name=f"שלום {n}") for n in range(3)])   # right to left: WeasyPrint's
    letters = letter_contexts(outcome.out)
    sender = json.loads((outcome.out / "run.json").read_text(encoding="utf-8"))["sender"]
    documents = []
    real = render._render_with_weasyprint
    monkeypatch.setattr(render, "_render_with_weasyprint",
                        lambda part, *args: documents.append(len(part)) or real(part, *args))
    (outcome.out / "again").mkdir()
    assert [pages for _, pages in render_batch(letters, sender, outcome.out / "again")] == [1, 1, 1]
    assert documents == [1, 1, 1]


def test_a_code_weasyprint_would_cut_off_at_a_page_s_end_is_kept_whole_as_drawn_directly(tmp_path):
    """Where the EPC code beside the bank details would run past the page's end while the text
    beside it fits, WeasyPrint kept the closing block on the page and cut the code off: it ran
    into the footer and its caption was lost (synth's seed 1 has such a letter, in French). A
    letter WeasyPrint lays out alone is laid out again keeping the code whole: on the next
    page with what it takes along, where the direct renderer draws it."""
    from weasyprint import HTML

    from dunning_batch.letters import render

    write_synthetic(tmp_path / "in", customers=700, seed=1, as_of=dt.date(2026, 11, 24))
    run(ROOT / "config" / "example.toml", tmp_path / "in" / "open_items.parquet",
        tmp_path / "in" / "customers.parquet", dt.date(2026, 11, 24), tmp_path / "out", pdf=False)
    sender = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["sender"]

    def cut_off_alone(letter: dict) -> bool:   # the layout without the second one
        html = HTML(string=render.letters_html([letter], sender), base_url=str(render.TEMPLATES_DIR),
                    url_fetcher=render.RefuseAll())
        return render.code_cut_off(html.render().pages)

    # the letter, found once by laying every letter of the night out alone (6 s a run of the test)
    [letter] = letter_contexts(tmp_path / "out", "DL-20261124-73ab7cb062539cf1")
    assert cut_off_alone(letter), "synth's seed 1 no longer makes the letter this test needs: find another"
    drawn, laid_out = tmp_path / "direct", tmp_path / "weasyprint"
    drawn.mkdir()
    laid_out.mkdir()
    pages = direct.render_direct(letter, sender, drawn)
    assert pages and render._render_with_weasyprint([letter], sender, laid_out) == [(letter["letter_id"], pages)]
    assert_look_the_same([letter["letter_id"]], drawn, laid_out)
    last_page = " ".join(texts(laid_out / f"{letter['letter_id']}.pdf")[-1].split())
    assert "Scannez pour payer avec votre application bancaire" in last_page
