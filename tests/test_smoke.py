"""The first letter of SPEC §4: one item past the first threshold becomes a level-1 letter."""

from conftest import item


def test_item_past_first_threshold_gets_level_one_letter(scenario):
    outcome = scenario.run([item("INV-1", 8, "250.00")])
    decision = outcome.decisions["INV-1"]
    assert (decision["outcome"], decision["reason"], decision["level_after"]) == ("dunned", "advanced", 1)
    [letter] = outcome.letters
    assert letter["level"] == 1 and str(letter["total_due"]) == "250.00"
