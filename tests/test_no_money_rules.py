"""SPEC §9: "all off unless configured". With no §9 key set, every output file is byte for
byte what it was before the money rules existed.

The sha256 values below were captured from these very scenarios on the code before §9 was
built (commit d2f3632, checked out in a separate worktree; the first two also with the work
in progress of that night, which gave the same bytes); run.json is left out because its
timings differ from run to run. Paths are relative (the test runs inside its
temporary folder) so that rejected.parquet's source_file does not carry a temporary path.
views.sql alone changed on purpose since (issue 15, CSV injection): the views over the CSV
files drop the ' that a text cell starting like a formula is written with.
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
    "customer_actions.csv": "110511268b51f843788fa2bdae21124959a1054878d712f2c82fe3ff7a3949c2",
    "decisions.parquet": "19deebce67be032a8d325bd8c54b5860c6ec5caf54827ecc4a5bf8ba4859b232",
    "fee_documents.csv": "ac94139aeeeaa9a2a1015400c0fe139fcef5ef26d2a4fe8dd653aac6591beb97",
    "item_details.parquet": "8abb741c3a4343ea1097c2d5e55b65487a54df65c603d83373a3d17b724d3746",
    "letter_lines.parquet": "f2690383edbd02ae36431ee04a39c7edc269ce21bdfc8f7101913ee93af08486",
    "letters.parquet": "ff40aa9baae625f222cef0e478283d6a3d7d5ea5ba4ae61133967faa54cdc80b",
    "levels_update.csv": "a98869d6846afad95c525f5b5b393bc077fec498c6e79ca88e99ea72073e081c",
    "levels_update.parquet": "97932230ee36cdc6df903422289fc72b722ca7d9ac3a9ad6322b7345f00a4780",
    "recipients.parquet": "e867243cbe0d9f6a32293d12f036793b32b033a5c4af3f386ef310af7128498d",
    "rejected.parquet": "a544e5e1b9c3a9fcc18d048fe5a071e45fcc8e55601ae0174a1a1e4b34bf6de8",
    "summary.html": "a6eb9fb6824bfe211baab63b0ab1bb8795ad0378c30ecdbf75b04733a9c47dec",
    "views.sql": "d676f09e41f0da5f5f352e56a18b24784f16ed4912bf4ab7537b0c864777a3cb",
}
EXPECTED_NON_STRICT = {
    "customer_actions.csv": "110511268b51f843788fa2bdae21124959a1054878d712f2c82fe3ff7a3949c2",
    "decisions.parquet": "7c5e12ee30e8c46659769f763c469b419b25732acff1d199d97ed8564528d2f1",
    "fee_documents.csv": "ac94139aeeeaa9a2a1015400c0fe139fcef5ef26d2a4fe8dd653aac6591beb97",
    "item_details.parquet": "7f2272815e3533a7e03388aaf1b40b090ef39f2e19922417238cd57ebfd85bd9",
    "letter_lines.parquet": "a0c32a0a8c6e95d2611f566f5cd622893af9c8f163cf5635133656f2d36b99a3",
    "letters.parquet": "84210dc65ba1d2df9b2564b2ef1939b1dda6d6c9c9ff8e23465b0a5d53f5d34e",
    "levels_update.csv": "a98869d6846afad95c525f5b5b393bc077fec498c6e79ca88e99ea72073e081c",
    "levels_update.parquet": "97932230ee36cdc6df903422289fc72b722ca7d9ac3a9ad6322b7345f00a4780",
    "recipients.parquet": "e867243cbe0d9f6a32293d12f036793b32b033a5c4af3f386ef310af7128498d",
    "rejected.parquet": "3d1760b41cb454927083dfa8abe6ee2fc7d2d7749dab6f4970a99c5c1e318399",
    "summary.html": "69b477d8ec3e7f978e1a72355ca3cf984d496df59182a2db5d1c1b9b5f05da17",
    "views.sql": "d676f09e41f0da5f5f352e56a18b24784f16ed4912bf4ab7537b0c864777a3cb",
}
EXPECTED_VARIANTS = {
    "customer_actions.csv": "e1a61e8f82671e2aa72632544936e9f0b5cf4297cfdae08659da7b0dbcc17ffb",
    "decisions.parquet": "566d9f5ec18becde2b9d6b3a63f60c5d25d928620eb8defd4ce764fb4138fd3a",
    "fee_documents.csv": "6af42fcd0ac13a76da76546521329590ada1de0bc47d8a70a38476bed67902b5",
    "item_details.parquet": "64a7678b14ce0e2e4c2d5dffd42cee52855e1bd3d98cbb9181050054d4e44db7",
    "letter_lines.parquet": "3cf48fe01ddc6bdda719d8f64d00d753e835397fc2e98fb6f3ea5d2b64b7f7ba",
    "letters.parquet": "aa95b79a397671e227e4ae2a5e4bf20bab20a9116e0d212b84de90db5e0022e3",
    "levels_update.csv": "d1762a22e25b2e403f2c36602f6fc92da81ab08895b6be70c2ce9b64e748819e",
    "levels_update.parquet": "6e86f2cf1555c761bea876f1614a171928f3eb5262f4a01e4b73cc80f4551d31",
    "recipients.parquet": "02ff92af0bc01eb4d5132dab54fc0da442943f7c421d4427529b618448e569de",
    "rejected.parquet": "a544e5e1b9c3a9fcc18d048fe5a071e45fcc8e55601ae0174a1a1e4b34bf6de8",
    "summary.html": "5733f6fe34081260e6045b75cb199ebd7913053eac421158192a78c020cb2c3e",
    "views.sql": "d676f09e41f0da5f5f352e56a18b24784f16ed4912bf4ab7537b0c864777a3cb",
}
EXPECTED_DOCUMENT = {
    "customer_actions.csv": "b4ce998c9d651cb04121f46c379026d01caa382b944ec70d23c5fcb08ac62f57",
    "decisions.parquet": "cdd6ab13d74c60341a47ce77f77c33ca64237ab508cb0ee31b195801296d64f1",
    "fee_documents.csv": "a80c6268388d56d4a226c963e667e43a52ae98be9ded869a22d2b22dcdea2d95",
    "item_details.parquet": "b339b1cb23c31e01cb13ae77bdc3a8a180e2b2a9d86b69b229247390f85d8630",
    "letter_lines.parquet": "513059b4b2706bc734302b61cd5f2fa9d3760a52b5f86a0d1c5f1c11a9e86ae2",
    "letters.parquet": "c10dbba79758bc3db1782d67551c8a7199ace3dcd0c70f232fcee616b2829a67",
    "levels_update.csv": "d25d1a7b5296a47ae48a5d2838c07bf28930a5dbe7de88aab91e79b955ac35b5",
    "levels_update.parquet": "9c1b23bcadbfb0cf9ff3bce187746e4750b5f144fd4acbd060b68ab9ba8444bf",
    "recipients.parquet": "cbc971e58f5f44dd434cb011fe84a66b140dff67daf9bdfe1863cf6dd3424bce",
    "rejected.parquet": "a544e5e1b9c3a9fcc18d048fe5a071e45fcc8e55601ae0174a1a1e4b34bf6de8",
    "summary.html": "ec969d4b899deaa39b575b53052edcc6bcf26d344d2cfda2fa150757f3e40632",
    "views.sql": "d676f09e41f0da5f5f352e56a18b24784f16ed4912bf4ab7537b0c864777a3cb",
}
# the letters themselves, rendered from the non-strict scenario (outbox/ and print/ are §10's)
EXPECTED_PDFS = {
    "pdf/DL-20261124-1703624caa.pdf": "8a3be9550053654cdd56537cc5d287fcb55dc415ce7e815749513d88ec5f9c08",
    "pdf/DL-20261124-20a533b485.pdf": "b131032ec1094937f8a5230a382924eb22401c52d5ec0f21794352488a946fd6",
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
