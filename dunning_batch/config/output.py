"""The [output] section of the config: how the files for the ERP are laid out.

`[output.levels_update] columns = "standard"` (default) writes levels_update.csv with the
names of SPEC §5 and ISO dates; `"export"` writes it in the open-items export's own terms
(its column names, date_format, delimiter and encoding: outputs/levels_file.py), so that the
ERP re-imports the file with the mapping it exports with. levels_update.parquet always keeps
the names and types of SPEC §5. The settings' shape is model.OutputSettings.
"""

from __future__ import annotations

from .model import InputFormat, OutputSettings
from .toml_table import Table

# levels_update's columns that are an open-items column of SPEC §2.1 (its name in the file ->
# the open-items column it sets): what the ERP reads back into the item. The value of
# `dunning_level` is the level after the run. The other columns (level_before,
# last_dunned_before, letter_id) have no export counterpart and keep their names.
EXPORT_COUNTERPARTS = {
    "doc_id": "doc_id", "customer_id": "customer_id", "level_after": "dunning_level",
    "last_dunned_on": "last_dunned_on", "compensation_charged": "compensation_charged",
    "interest_paid_to": "interest_paid_to",
}
LEVELS_UPDATE_COLUMNS = ("doc_id", "customer_id", "level_before", "level_after", "last_dunned_before",
                         "last_dunned_on", "letter_id", "compensation_charged", "interest_paid_to")


def read_output(top: Table, open_items: InputFormat) -> OutputSettings:
    """The [output] table of the config's top level, checked against `open_items` ([input.open_items])."""
    output = Table(top.get("output"), "[output]", top.problems, top.file, "[output]")
    levels = Table(output.get("levels_update"), "[output.levels_update]", top.problems, top.file,
                   "[output.levels_update]")
    settings = OutputSettings(levels_update_columns=levels.get("columns"))
    if settings.levels_update_columns == "export":
        headers = levels_headers(open_items)
        by_name: dict[str, list[str]] = {}
        for ours, header in headers.items():
            by_name.setdefault(header.casefold(), []).append(ours)
        for ours in (names for names in by_name.values() if len(names) > 1):
            levels.problem("columns", f"\"export\" would give the columns {' and '.join(ours)} of levels_update "
                                      f"the one name {headers[ours[0]]!r} ([input.open_items] columns); map "
                                      f"{headers[ours[0]]!r} to one column only, or keep columns = \"standard\"")
    levels.done()
    output.done()
    return settings


def levels_headers(open_items: InputFormat) -> dict[str, str]:
    """Each column of levels_update -> its name in a levels file written with columns = "export":
    the export column its open-items counterpart is read from, else its own name."""
    headers = {}
    for ours in LEVELS_UPDATE_COLUMNS:
        counterpart = EXPORT_COUNTERPARTS.get(ours)
        source = open_items.source_column(counterpart) if counterpart else None
        headers[ours] = source if source is not None else ours
    return headers
