"""SPEC §9: "all off unless configured". With no §9 key set, every output file is byte for
byte what it was before the money rules existed.

The sha256 values below were captured from these very scenarios on the code before §9 was
built (commit d2f3632, checked out in a separate worktree; the first two also with the work
in progress of that night, which gave the same bytes); run.json is left out because its
timings differ from run to run. Paths are relative (the test runs inside its
temporary folder) so that rejected.parquet's source_file does not carry a temporary path.

The values were taken again when the letter ids of SPEC §5 grew from 10 to 16 hex digits
(the commit that made them so): every file holding a letter id, and the PDFs named by them,
changed with the ids and in nothing else (with the ids cut back to 10 digits, that code
gives the earlier values, byte for byte).
"""

from __future__ import annotations

import hashlib

from conftest import AS_OF, SPEC_CONFIG, customer, days_before, item, with_config

from dunning_batch.run import run

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
EXTRA_SCENARIOS = [("EXPECTED_VARIANTS", VARIANT_ITEMS, VARIANT_CONFIG),
                   ("EXPECTED_DOCUMENT", ITEMS, DOCUMENT_CONFIG)]

EXPECTED_STRICT = {
    "customer_actions.csv": "624b7f4031533926b746622c6c0b0df95ea435e2d9248f11c52d30f6aab6ae53",
    "decisions.parquet": "8835ad5667ce5d0142dac4e11dbba833bf4536b91167dad5c861d60af238949e",
    "fee_documents.csv": "f36e7d7a715a5ae2fdee017e964708ac1eab30dd68b856a89260e37f37cc5c1b",
    "item_details.parquet": "d3eca81aeb4f9c3c683f06bc0d09034b58d47aa27bf17cc3f273e35d5d66bcc9",
    "letter_lines.parquet": "5b7f234c508d41efcf8f29b36364a5636f7712e151fde70fe55b7cbd3c68500e",
    "letters.parquet": "57cdf26c01e80af0de5c950981f1194a838d550fea7ca596f2f958f6bd2f606b",
    "levels_update.csv": "5e311fbcf58c99b71de520b7df0180264539819c2441aaae1afe66b4cc314698",
    "levels_update.parquet": "fab5b33dbc04dbd36a2cb7076272f8700c2ff5833528ac4c73b6dd2fc2dd287b",
    "recipients.parquet": "f3f7c6e1baf9e804df73d8de04ee960a2458ae8b42b303affc4bd32f5f0b71a7",
    "rejected.parquet": "a544e5e1b9c3a9fcc18d048fe5a071e45fcc8e55601ae0174a1a1e4b34bf6de8",
    "summary.html": "a6eb9fb6824bfe211baab63b0ab1bb8795ad0378c30ecdbf75b04733a9c47dec",
    "views.sql": "c43b86c6fb0a9a1a8cd3175656c886ac9c63f195ebd4ef26bfa3bd4bdb00799b",
}
EXPECTED_NON_STRICT = {
    "customer_actions.csv": "624b7f4031533926b746622c6c0b0df95ea435e2d9248f11c52d30f6aab6ae53",
    "decisions.parquet": "1ffd36b9eec1784f46ddeec15c31f72d8f4a8b097f2b410531c5106e2e51599d",
    "fee_documents.csv": "f36e7d7a715a5ae2fdee017e964708ac1eab30dd68b856a89260e37f37cc5c1b",
    "item_details.parquet": "33a58e44ae3e1933c85c2b27dc54125208985e1f3cc10fb0ca757d07676150a6",
    "letter_lines.parquet": "411aaae6608e7d723f31d6cfea3f3ad76c2e8cc931f80150c91b673cf79c0b25",
    "letters.parquet": "1bf32f712149a168f995bf10672ffc4f312ccbc469458b43d082d479c4def419",
    "levels_update.csv": "5e311fbcf58c99b71de520b7df0180264539819c2441aaae1afe66b4cc314698",
    "levels_update.parquet": "fab5b33dbc04dbd36a2cb7076272f8700c2ff5833528ac4c73b6dd2fc2dd287b",
    "recipients.parquet": "f3f7c6e1baf9e804df73d8de04ee960a2458ae8b42b303affc4bd32f5f0b71a7",
    "rejected.parquet": "3d1760b41cb454927083dfa8abe6ee2fc7d2d7749dab6f4970a99c5c1e318399",
    "summary.html": "69b477d8ec3e7f978e1a72355ca3cf984d496df59182a2db5d1c1b9b5f05da17",
    "views.sql": "c43b86c6fb0a9a1a8cd3175656c886ac9c63f195ebd4ef26bfa3bd4bdb00799b",
}
EXPECTED_VARIANTS = {
    "customer_actions.csv": "190386b0ceea7532ddc171204cf9764da99a52528746ec6d804dbd081ac6eeb9",
    "decisions.parquet": "a42db9acc180aa39829f60e88da96d6cb6c58142283bb139db776bd37474f2a6",
    "fee_documents.csv": "449f3522312b93986094aae233bf8e0b6d49d19cd93fb08f2d087ce590f4ff72",
    "item_details.parquet": "c6d309eb29c7b136c1243086cf2656cc0a5ac98f2ffd373ce6ce27151eb61265",
    "letter_lines.parquet": "9057576bc988256a53de86975bb22e9c3aa36eb8317afc60c17f0e32d4c1e294",
    "letters.parquet": "8a5bb512c104e90d144918d3cb4f3c65fff4e27ed9b9b1bb920c08646de5c9ae",
    "levels_update.csv": "19eccb999dc6a8ea99f7445dcd87b858545869d24e19a65b3d80e9e4b03a0557",
    "levels_update.parquet": "215197ff913a31ef66333ad18d3b85687a5d28b06c00dff97c90961151057af5",
    "recipients.parquet": "6a093e5068493c8e542b0f15c1f719bbbb9d750ce5a70e7b134ecc86823d6d2f",
    "rejected.parquet": "a544e5e1b9c3a9fcc18d048fe5a071e45fcc8e55601ae0174a1a1e4b34bf6de8",
    "summary.html": "5733f6fe34081260e6045b75cb199ebd7913053eac421158192a78c020cb2c3e",
    "views.sql": "c43b86c6fb0a9a1a8cd3175656c886ac9c63f195ebd4ef26bfa3bd4bdb00799b",
}
EXPECTED_DOCUMENT = {
    "customer_actions.csv": "079204284791e5f2742c205b72446e8534e0d4cf90146fae10204790e01f116e",
    "decisions.parquet": "043d0274b01ce9d3fe0b0dfea5c35008724975050557b919fa08abb6dc1bddf3",
    "fee_documents.csv": "6156aa3aa60324412a01c61c9b3fd3c2d957f54240b25a736c818bfdc656e17f",
    "item_details.parquet": "0659f7b4ecc70def07b04ad4f75531021c837dc7e96ba5c9adfcdb69af9e0663",
    "letter_lines.parquet": "04e59a64dc6f21bce9e610b7c61396356d211cd7eff553c42cc297af7da402b6",
    "letters.parquet": "720c421cf9bfdceab863bebb933710f91eb66032577080baed6c7560decea2d3",
    "levels_update.csv": "00e94fefe42e3c276e099a29552571fdd2488cda672c196e320354dac02da19b",
    "levels_update.parquet": "5176c1a9b275c00d63edcb15f96d7b5db2dbdc218d6bca99d4b89ff70ffa3391",
    "recipients.parquet": "1c4a6ec402af240cad5d715f911697f05ebf7696e9207977a6661cbd074ac114",
    "rejected.parquet": "a544e5e1b9c3a9fcc18d048fe5a071e45fcc8e55601ae0174a1a1e4b34bf6de8",
    "summary.html": "ec969d4b899deaa39b575b53052edcc6bcf26d344d2cfda2fa150757f3e40632",
    "views.sql": "c43b86c6fb0a9a1a8cd3175656c886ac9c63f195ebd4ef26bfa3bd4bdb00799b",
}
# the letters themselves, rendered from the non-strict scenario (outbox/ and print/ are §10's)
EXPECTED_PDFS = {
    "pdf/DL-20261124-1703624caab73063.pdf": "b07a93a7e9ac9d9be59d297b3d5e260605bf93dba1e11f1d3b54a804484c31c0",
    "pdf/DL-20261124-20a533b48523b62a.pdf": "f60378150353e6002cd3eae499fe4fee0fcc353c1f91b35a77f2a69abe72653d",
}


def _digests(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "run.json"}


def _run(scenario, monkeypatch, items, config, pdf: bool = False) -> dict[str, str]:
    monkeypatch.chdir(scenario.tmp_path)
    config_path, items_path, customers_path = scenario.files(items, CUSTOMERS, config)
    rel = [p.relative_to(scenario.tmp_path) for p in (config_path, items_path, customers_path)]
    out = f"out{scenario.runs}"
    run(*rel, AS_OF, out, pdf=pdf)
    return _digests(scenario.tmp_path / out)


def test_without_money_rules_the_outputs_are_byte_identical(scenario, monkeypatch):
    assert _run(scenario, monkeypatch, ITEMS, SPEC_CONFIG) == EXPECTED_STRICT


def test_without_money_rules_a_non_strict_run_is_byte_identical(scenario, monkeypatch):
    assert _run(scenario, monkeypatch, ITEMS + [BAD_ROW], NON_STRICT) == EXPECTED_NON_STRICT


def test_without_money_rules_the_letters_are_byte_identical(scenario, monkeypatch):
    got = _run(scenario, monkeypatch, ITEMS + [BAD_ROW], NON_STRICT, pdf=True)
    assert {name: digest for name, digest in got.items() if name.startswith("pdf/")} == EXPECTED_PDFS


def test_without_money_rules_fees_with_cents_branches_and_current_lines_are_byte_identical(scenario, monkeypatch):
    assert _run(scenario, monkeypatch, VARIANT_ITEMS, VARIANT_CONFIG) == EXPECTED_VARIANTS


def test_without_money_rules_document_grouping_is_byte_identical(scenario, monkeypatch):
    assert _run(scenario, monkeypatch, ITEMS, DOCUMENT_CONFIG) == EXPECTED_DOCUMENT
