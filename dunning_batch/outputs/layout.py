"""The layout of an output folder (SPEC §5): its data files, their relations, columns and row
order, the CSV column types, and the views.sql text an analyst reads inside the folder."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, NamedTuple

from ..config.model import Config
from ..config.relations import CFG_TABLES
from ..sql_runner import (all_columns_but, empty_view_text, one, query_view_text, read_csv_text, read_parquet_text,
                          typed_nulls, unguarded_text, view_text)

if TYPE_CHECKING:
    import duckdb

@dataclass(frozen=True)
class OutputFile:
    name: str
    relation: str
    order_by: str
    columns: str = "*"
    rule: str | None = None          # a file of SPEC §9: written only when this rule is configured
    without: tuple[str, ...] = ()    # columns of §9 rules that are not configured, left out
    # levels_update.csv in the export's terms ([output.levels_update] columns = "export"): a
    # levels_file.LevelsFileLayout the writer follows; None: the standard file
    export_layout: object | None = None

    @property
    def is_csv(self) -> bool:
        return self.name.endswith(".csv")

    @property
    def select(self) -> str:
        """The select list written: the columns minus those of rules not configured."""
        return all_columns_but(self.without) if self.without else self.columns


ANALYST_VIEWS_DIR = Path(__file__).resolve().parent.parent.parent / "sql" / "views"

# Every data file of the folder, the relation it holds and its row order (SPEC §5).
OUTPUT_FILES = (
    OutputFile("letters.parquet", "letters", "letter_id"),
    OutputFile("letter_lines.parquet", "letter_lines", "letter_id, line_no"),
    OutputFile("decisions.parquet", "decisions", "doc_id"),
    OutputFile("levels_update.parquet", "levels_update", "doc_id"),
    OutputFile("levels_update.csv", "levels_update", "doc_id"),
    OutputFile("customer_actions.csv", "customer_actions", "letter_id, action"),
    OutputFile("fee_documents.csv", "fee_documents", "letter_id"),
    OutputFile("recipients.parquet", "recipients", "letter_id"),
    OutputFile("item_details.parquet", "item_details", "doc_id"),
    OutputFile("rejected.parquet", "rejected", "source, row_number",
               "source_file, source, row_number, reason, row_text, currency, open_amount"),
    # SPEC §9.2, §9.4, §9.5: only when their rules are configured
    OutputFile("compensation_documents.csv", "compensation_documents", "letter_id, fee_doc_id",
               rule="compensation"),
    OutputFile("interest_documents.csv", "interest_documents", "letter_id", rule="post_interest"),
    OutputFile("payments_charged.csv", "payments_charged", "payment_id", rule="late_payment_interest"),
)

# The run's config, one file per cfg_* relation the pipeline joined (config.relations), so
# that `reconcile` (and an analyst) joins the rules the run applied. Their leading columns
# are their key: written ORDER BY ALL.
CONFIG_FILES = tuple(OutputFile(f"{t.name}.parquet", t.name, "ALL", rule=t.rule) for t in CFG_TABLES)


class RuleColumn(NamedTuple):
    rule: str
    type: str   # its DuckDB type, in which a view shows it NULL when the rule is off
    # False for the columns of SPEC §11: views.sql shows them only when the file has them, so
    # that a config without §11 keys writes views.sql byte for byte as before (the views
    # every command builds, outputs.folder, always have them)
    in_views_sql: bool = True


# Columns the rules of SPEC §9 add to the files of §5 (relation -> column -> rule, type):
# every stage computes them, but a file has them only when their rule is configured, so that
# a config without §9 keys writes the files of §5 byte for byte. The views always have them.
RULE_COLUMNS = {
    # SPEC §11.2: the contact and the sales rep of each letter (rule "contacts": output_rules)
    "recipients": {column: RuleColumn("contacts", "VARCHAR", False)
                   for column in ("contact_name", "contact_email", "sales_rep", "sales_rep_name",
                                  "sales_rep_email", "sales_rep_phone")},
    "letters": {"compensation_total": RuleColumn("compensation", "DECIMAL(18,2)")},
    "letter_lines": {"compensation_amount": RuleColumn("compensation", "DECIMAL(18,2)"),
                     # SPEC §11.1: each line's document currency, exchange rate and letter amount
                     "currency": RuleColumn("letter_currency", "VARCHAR", False),
                     "rate": RuleColumn("letter_currency", "DECIMAL(28,10)", False),
                     "rate_date": RuleColumn("letter_currency", "DATE", False),
                     "letter_amount": RuleColumn("letter_currency", "DECIMAL(18,2)", False)},
    "levels_update": {"compensation_charged": RuleColumn("compensation", "BOOLEAN"),
                      "interest_paid_to": RuleColumn("post_interest", "DATE")},
    "item_details": {"open_balance": RuleColumn("min_percent", "DECIMAL(18,2)"),
                     "compensation_charged": RuleColumn("compensation", "BOOLEAN"),
                     "interest_paid_to": RuleColumn("post_interest", "DATE"),
                     # SPEC §11.3
                     "range_level": RuleColumn("level_range", "INTEGER", False),
                     "range_days_to": RuleColumn("level_range", "INTEGER", False),
                     # SPEC §11.1
                     "letter_currency": RuleColumn("letter_currency", "VARCHAR", False),
                     "rate": RuleColumn("letter_currency", "DECIMAL(28,10)", False),
                     "rate_date": RuleColumn("letter_currency", "DATE", False),
                     "rate_day": RuleColumn("letter_currency", "DATE", False),
                     "letter_amount": RuleColumn("letter_currency", "DECIMAL(18,2)", False)},
    "cfg_levels": {"days_to": RuleColumn("level_range", "INTEGER", False)},   # SPEC §11.3
}


def output_files(rules: frozenset[str] = frozenset(), levels_layout: object | None = None) -> tuple[OutputFile, ...]:
    """The data files of a run whose config switches on `rules` (Config.money_rules), and
    the config's files; levels_update.csv follows `levels_layout` when one is given
    (levels_file.levels_file_layout)."""
    files = []
    for f in OUTPUT_FILES + CONFIG_FILES:
        if f.rule is not None and f.rule not in rules:
            continue
        without = tuple(c for c, column in RULE_COLUMNS.get(f.relation, {}).items() if column.rule not in rules)
        layout = levels_layout if f.name == "levels_update.csv" else None
        files.append(replace(f, without=without, export_layout=layout))
    return tuple(files)


# Columns a later version added to a file, which folders written before lack (relation ->
# column -> type): a folder of an earlier version still reads and renders (its letters print
# the letter id as their reference, as they did, and carry no payment code).
LATER_COLUMNS = {"letters": {"payment_reference": "VARCHAR"}}


def missing_columns(relation: str, present: Iterable[str]) -> dict[str, str]:
    """The columns of SPEC §9 rules, and those of LATER_COLUMNS, that a file of `relation`
    lacks (column -> type): its view adds them, NULL."""
    wanted = {c: column.type for c, column in RULE_COLUMNS.get(relation, {}).items()}
    wanted.update(LATER_COLUMNS.get(relation, {}))
    return {c: kind for c, kind in wanted.items() if c not in set(present)}


def output_rules(config: Config, con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The rules whose columns and files a run writes: the money rules of SPEC §9 its config
    switches on (Config.money_rules), and "contacts" (SPEC §11.2) when the config has a
    [sales_rep.ID] table or a customer names a contact or a rep: a run that uses neither
    writes the files it wrote before §11, byte for byte. `con` holds the run's customers_parsed."""
    rules = set(config.money_rules)
    if config.sales_reps or one(con, "reports/uses_contacts")[0]:
        rules.add("contacts")
    return frozenset(rules)


# Column types of the CSV outputs, so analysts' views read amounts as DECIMAL, never DOUBLE.
CSV_TYPES = {
    "levels_update": {"doc_id": "VARCHAR", "customer_id": "VARCHAR", "level_before": "INTEGER",
                      "level_after": "INTEGER", "last_dunned_before": "DATE", "last_dunned_on": "DATE",
                      "letter_id": "VARCHAR"},
    "customer_actions": {"customer_id": "VARCHAR", "action": "VARCHAR", "value": "VARCHAR",
                         "letter_id": "VARCHAR", "run_date": "DATE"},
    "fee_documents": {"fee_doc_id": "VARCHAR", "customer_id": "VARCHAR", "currency": "VARCHAR",
                      "amount": "DECIMAL(18,2)", "doc_date": "DATE", "due_date": "DATE",
                      "letter_id": "VARCHAR", "description": "VARCHAR"},
}
CSV_TYPES["levels_update"].update(compensation_charged="BOOLEAN", interest_paid_to="DATE")
CSV_TYPES["compensation_documents"] = CSV_TYPES["interest_documents"] = dict(CSV_TYPES["fee_documents"])
CSV_TYPES["payments_charged"] = {"payment_id": "VARCHAR", "letter_id": "VARCHAR",
                                 "interest_amount": "DECIMAL(18,2)"}
CSV_TYPES["print_batch"] = {"letter_id": "VARCHAR", "first_page": "INTEGER", "pages": "INTEGER"}

# What delivery adds to a folder that rendered PDFs (SPEC §10.2, §10.3): relation -> file.
# Not in views.sql (written before them), but every command sees them.
DELIVERY_FILES = {"outbox": "outbox.parquet", "print_batch": "print/print_batch.csv"}
# The records `send` and `void` add to a folder, which keep a letter from going out or being
# reversed twice: the send journal (SPEC §10.4), the voids record and the voids' folders.
SEND_JOURNAL = Path("delivery") / "sent.jsonl"
VOIDS_RECORD, VOIDS_FOLDER = "voids.jsonl", "voids"


# OWASP "CSV injection": a spreadsheet opening a CSV takes a cell that starts with one of
# these as a formula (or, tab and CR, as the start of one); the ' in front makes it text.
# A cell that starts with ' gets one too, so that dropping one leading ' always gives the
# value back (the views do; Parquet files keep the value as it is); writer.csv_cells writes them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_values(types: dict[str, str], without: tuple[str, ...] = ()) -> str:
    """The select list that reads a CSV written by csv_cells back as its values: one leading '
    dropped from each text cell."""
    return unguarded_text(name for name, kind in types.items() if kind == "VARCHAR" and name not in without)


def views_sql(files: tuple[OutputFile, ...] = output_files()) -> str:
    """CREATE VIEW statements over the folder's files, relative to the folder itself.

    Like the views every command builds (outputs.folder), they show every column of SPEC §9
    (NULL, in its type, when its rule is off) and every document file of §9 (empty when the
    run writes none)."""
    lines = ["-- Views over this run's outputs. Open DuckDB in this folder and run: .read views.sql",
             "-- Every column and document of SPEC §9 is there: NULL or empty when its rule is off.", ""]
    seen = set()
    config = {f.relation for f in CONFIG_FILES}
    data = [f for f in files if f.relation not in config]
    for f in data:
        if f.relation in seen:
            continue
        seen.add(f.relation)
        columns = "*"
        if f.is_csv:
            source = read_csv_text(f.name, {k: v for k, v in CSV_TYPES[f.relation].items() if k not in f.without})
            columns = csv_values(CSV_TYPES[f.relation], f.without)  # the values csv_cells wrote
        else:
            source = read_parquet_text(f.name)
        shown = {c: RULE_COLUMNS[f.relation][c] for c in f.without if RULE_COLUMNS[f.relation][c].in_views_sql}
        if shown:  # the columns of rules that are off, NULL
            columns += f", {typed_nulls({c: column.type for c, column in shown.items()})}"
        lines.append(view_text(f.relation, columns, source))
    for f in OUTPUT_FILES:
        if f.rule is not None and f.relation not in seen:
            seen.add(f.relation)
            lines.append(empty_view_text(f.relation, CSV_TYPES[f.relation]))
    lines += ["", "-- The run's config (cfg_*.parquet): the rules it applied, as the SQL stages joined them."]
    lines += [view_text(f.relation, "*", read_parquet_text(f.name)) for f in files if f.relation in config]
    lines += ["", "-- Analyst views (sql/views/*.sql)."]
    for view in sorted(ANALYST_VIEWS_DIR.glob("*.sql")):
        lines += ["", query_view_text(view.stem, view.read_text(encoding="utf-8"))]
    return "\n".join(lines) + "\n"
