"""SPEC §9: "all off unless configured". With no §9 key set, every output file is byte for
byte what it was before the money rules existed.

The pins (sha256 of every output but run.json, whose timings differ from run to run) live
in tests/pins/no_money_rules.json. They were first captured from these very scenarios on
the code before §9 was built (commit d2f3632); a deliberate change of what a run writes
(new letter ids, a letter's wording) re-pins them with one command, from the project root:

    .venv/bin/python tests/test_no_money_rules.py --repin

which runs every scenario again and rewrites the file; review its diff like code. Paths are
relative (the scenarios run inside their temporary folder) so that rejected.parquet's
source_file does not carry a temporary path.

The letters' bytes depend on the font subsetter WeasyPrint uses: HarfBuzz-Subset when the
system library libharfbuzz-subset0 (>= 4.1.0) loads, fontTools otherwise. So the PDFs are
pinned per subsetter and version, and the tests check fontTools always (WeasyPrint can be
made to use it) and HarfBuzz where the library loads. --repin writes both, so it needs the
library: `apt-get install libharfbuzz-subset0`, or without installing it,
`apt-get download libharfbuzz-subset0 && dpkg -x libharfbuzz-subset0_*.deb /opt/hbsubset`
and `LD_LIBRARY_PATH=/opt/hbsubset/usr/lib/x86_64-linux-gnu` on the command. A second check
does not depend on bytes: the text of every letter and where each piece of it stands on
the page (pypdf), the same under both subsetters, so the content is pinned either way.
The letters the direct renderer draws (dunning_batch/letters/direct.py) are shaped and
subset by the HarfBuzz uharfbuzz carries, whatever WeasyPrint's subsetter: the key of the
PDF pins names both.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

if __name__ == "__main__":  # run as a script (--repin): this checkout's package, not an installed one
    sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import pytest
from pypdf import PdfReader

from conftest import AS_OF, SPEC_CONFIG, Scenario, customer, days_before, item, with_config
from dunning_batch.letters.environment import direct_renderer, subsetter_key, subsetters
from dunning_batch.run import run

PINS = Path(__file__).resolve().parent / "pins" / "no_money_rules.json"

# What the config of SPEC §3 needs for a few customers, credits and one rejected row.
NON_STRICT = with_config({"strict = true": "strict = false", "include_credits = false": "include_credits = true"})

ITEMS = [
    item("INV-1", 10, "100.00"),                                                   # 0 -> 1
    item("INV-2", 30, "2500.00", dunning_level=1, last_dunned_on=days_before(20)),  # 1 -> 2, interest
    item("CRN-1", 5, "-50.00", doc_type="credit_memo"),                            # credit line (non-strict config)
    item("INV-3", 50, "8000.00", customer_id="C2", dunning_level=2, last_dunned_on=days_before(25)),  # 2 -> 3
    item("INV-4", 3, "70.00", customer_id="C3"),                                   # below threshold
    item("INV-5", 100, "4.00", customer_id="C4"),                                  # below min amount
    item("INV-6", -3, "90.00", customer_id="C3"),                                  # not due
]
CUSTOMERS = [customer("C1", language="de"), customer("C2", email="c2@example.com"),
             customer("C3"), customer("C4")]
BAD_ROW = item("INV-7", 10, "12.345", customer_id="C3")                            # too many decimals

# Fees with cents, branches kept apart, current and credit lines, interest to the pay-by date.
VARIANT_CONFIG = with_config({
    "fee = { EUR = 5.00 }": "fee = { EUR = 2.50 }", "fee = { EUR = 10.00 }": "fee = { EUR = 7.25 }",
    "consolidate_branches = true": "consolidate_branches = false", "include_not_due = false": "include_not_due = true",
    "include_credits = false": "include_credits = true", 'calculate_to = "letter_date"': 'calculate_to = "pay_by_date"',
})
VARIANT_ITEMS = [
    item("V-1", 30, "1234.56", dunning_level=1, last_dunned_on=days_before(15), branch="NORTH"),  # 1 -> 2
    item("V-2", 12, "99.99", branch="NORTH"),                                                  # 0 -> 1
    item("V-3", -4, "10.00", branch="NORTH"),                                                  # current
    item("V-4", 60, "500.00", dunning_level=2, last_dunned_on=days_before(30), branch="SOUTH"),  # 2 -> 3
    item("V-5", 2, "-20.00", doc_type="credit_memo", branch="SOUTH"),                          # credit
    item("V-6", 40, "700.00", customer_id="C2", dunning_level=1, last_dunned_on=days_before(20)),
]
DOCUMENT_CONFIG = with_config({'grouping = "customer"': 'grouping = "document"',
                               "sequential = true": "sequential = false"})

# name in the pins -> (items, config); the letters are rendered from "non_strict"
SCENARIOS = {
    "strict": (ITEMS, SPEC_CONFIG),
    "non_strict": (ITEMS + [BAD_ROW], NON_STRICT),
    "variants": (VARIANT_ITEMS, VARIANT_CONFIG),
    "document": (ITEMS, DOCUMENT_CONFIG),
}
LETTERS_SCENARIO = "non_strict"


# ------------------------------------------------------------------- font subsetters
# which subsetters load, and their versions: dunning_batch.letters.environment, as run.json records them

@contextlib.contextmanager
def subsetting_with(subsetter: str) -> Iterator[None]:
    """WeasyPrint made to subset fonts with `subsetter` in this process (letters render here:
    the scenario runs with one worker). fontTools: WeasyPrint's fallback when it finds no
    HarfBuzz-Subset, which it looks up as the module global weasyprint.pdf.fonts.harfbuzz_subset."""
    from weasyprint.pdf import fonts

    assert subsetter in subsetters(), subsetter
    with pytest.MonkeyPatch.context() as patch:
        if subsetter == "fonttools":
            patch.setattr(fonts, "harfbuzz_subset", None)
        yield


def pdf_key(subsetter: str) -> str:
    """What the letters' bytes are pinned by: WeasyPrint's subsetter and the direct renderer's HarfBuzz."""
    direct = direct_renderer()
    return f"{subsetter_key(subsetter)}; direct {'harfbuzz ' + direct['harfbuzz'] if direct else 'none'}"


# ----------------------------------------------------------------------- the scenarios

def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "run.json"}


def run_scenario(folder: Path, name: str, pdf: bool = False) -> Path:
    """Runs scenario `name` inside `folder` (relative paths, as the pins were taken); its output."""
    items, config = SCENARIOS[name]
    folder.mkdir(parents=True, exist_ok=True)
    scenario = Scenario(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        config_path, items_path, customers_path = scenario.files(items, CUSTOMERS, config)
        rel = [p.relative_to(folder) for p in (config_path, items_path, customers_path)]
        out = f"out{scenario.runs}"
        run(*rel, AS_OF, out, pdf=pdf, workers=1)
    return folder / out


def letter_pdfs(folder: Path, subsetter: str) -> Path:
    """The letters of the letters scenario, rendered with `subsetter`: the output's pdf/."""
    with subsetting_with(subsetter):
        return run_scenario(folder, LETTERS_SCENARIO, pdf=True) / "pdf"


def pdf_content(pdf: Path) -> list[list]:
    """Each piece of text on each page with where it starts, [page, x, y, text] (points,
    rounded to 0.01): what a reader sees, whatever bytes the fonts were written with."""
    pieces: list[list] = []
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        def visit(text, cm, tm, font, size, number=number):
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                pieces.append([number, round(x, 2), round(y, 2), text.strip()])
        page.extract_text(visitor_text=visit)
    return pieces


def load_pins() -> dict:
    return json.loads(PINS.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("name", list(SCENARIOS))
def test_without_money_rules_the_outputs_are_byte_identical(tmp_path, name):
    assert _digests(run_scenario(tmp_path, name)) == load_pins()["outputs"][name]


@pytest.fixture(scope="module", params=subsetters())
def letters(request, tmp_path_factory) -> tuple[str, Path]:
    subsetter = request.param
    return subsetter, letter_pdfs(tmp_path_factory.mktemp(f"letters-{subsetter}"), subsetter)


def test_without_money_rules_the_letters_are_byte_identical(letters):
    subsetter, pdf_dir = letters
    key = pdf_key(subsetter)
    pinned = load_pins()["pdf_bytes"]
    assert key in pinned, f"no PDF pins for {key} (pinned: {', '.join(pinned)}); re-pin as the docstring says"
    assert {f"pdf/{name}": digest for name, digest in _digests(pdf_dir).items()} == pinned[key]


def test_without_money_rules_the_letters_read_the_same(letters):
    """Independent of the bytes: every letter's text, and where each piece stands."""
    _, pdf_dir = letters
    got = {f"pdf/{p.name}": pdf_content(p) for p in sorted(pdf_dir.glob("*.pdf"))}
    assert got == load_pins()["pdf_content"]


# ------------------------------------------------------------------------------ re-pin

def repin() -> None:
    """Runs every scenario, renders the letters with both subsetters, rewrites PINS."""
    available = subsetters()
    if "harfbuzz" not in available:
        sys.exit("--repin writes the PDF pins of both font subsetters, and HarfBuzz-Subset does not load here: "
                 "apt-get install libharfbuzz-subset0, or run with LD_LIBRARY_PATH at an unpacked copy "
                 "(see this module's docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        outputs = {name: _digests(run_scenario(tmp / name, name)) for name in SCENARIOS}
        pdf_bytes, contents = {}, {}
        for subsetter in available:
            pdf_dir = letter_pdfs(tmp / f"letters-{subsetter}", subsetter)
            pdf_bytes[pdf_key(subsetter)] = {f"pdf/{n}": d for n, d in _digests(pdf_dir).items()}
            contents[subsetter] = {f"pdf/{p.name}": pdf_content(p) for p in sorted(pdf_dir.glob("*.pdf"))}
    if contents["fonttools"] != contents["harfbuzz"]:
        sys.exit("the letters read differently with fontTools and HarfBuzz-Subset; nothing re-pinned")
    pins = {"written_by": "python tests/test_no_money_rules.py --repin (see its docstring)",
            "outputs": outputs, "pdf_bytes": pdf_bytes, "pdf_content": contents["fonttools"]}
    PINS.parent.mkdir(exist_ok=True)
    PINS.write_text(_dumps(pins), encoding="utf-8")
    print(f"re-pinned {PINS}: {', '.join(outputs)}; letters with {', '.join(pdf_bytes)}")


def _dumps(pins: dict) -> str:
    """The pins as JSON with one line per piece of letter text, so a re-pin reads as a diff."""
    def one_line(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    rest = json.dumps({k: v for k, v in pins.items() if k != "pdf_content"}, indent=1, ensure_ascii=False,
                      sort_keys=True)
    content = ",\n".join(f"  {one_line(name)}: [\n" + ",\n".join(f"   {one_line(piece)}" for piece in pieces)
                         + "\n  ]" for name, pieces in sorted(pins["pdf_content"].items()))
    text = rest.removesuffix("\n}") + ',\n "pdf_content": {\n' + content + "\n }\n}\n"
    assert json.loads(text) == pins
    return text


if __name__ == "__main__":
    if sys.argv[1:] != ["--repin"]:
        sys.exit(f"usage: python {os.path.relpath(__file__)} --repin")
    repin()
