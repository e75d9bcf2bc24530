"""`reconcile`: proves the invariants of SPEC §8 on an output folder, one PASS/FAIL line per check.

Checks 1-5 are SQL files in `sql/checks/`; check 6 compares the files with run.json; check
10 (SPEC §10) opens the outbox's messages and the print batch's index and checks that they
carry the PDFs pdf/ holds now. "3 summary totals" extends §8.3 to the figures shown over many
letters (the analyst views summary.html shows, run.json's totals that `run` prints): parts
add up, sums match the letters. With the original export, it also re-reads it and checks
that nothing was lost.
The money rules of SPEC §9 add a check per document file they write (`sql/checks/9_*.sql`),
run when the folder has that file. The checks join the run's config as the folder keeps it
(cfg_*.parquet, fingerprinted in run.json like every data file), and every statement is a
file of sql/checks/ or sql/reconcile/ run through sql_runner.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS, Config, load_config
from ..config import config_tables
from ..delivery.outbox import OUTBOX_FILE, attached_pdf, email_letters
from ..delivery.print_batch import BATCH_CSV, BATCH_PDF, page_count, print_letters
from ..digest import sha256_of
from ..errors import StageError, UserError
from ..manifest import recorded_difference
from ..pipeline import define_macros
from ..readers import load_raw
from ..outputs.folder import connect_views, open_folder
from ..sql_runner import connect, one, records, rows, run_stage, table_from_arrow
from ..stage_log import StageLog

# the checks of SPEC §8 that every folder gets: sql/checks/<stem>.sql -> its name
CHECKS = {"1_decisions": "1 decisions", "2_amounts": "2 amounts", "3_letter_totals": "3 letter totals",
          "3_summary_totals": "3 summary totals", "4_levels_update": "4 levels update",
          "5_fee_documents": "5 fee documents"}
# SPEC §9: check -> (its name, the file whose presence says the rule was configured)
MONEY_RULE_CHECKS = {
    "9_compensation": ("9.2 compensation", "compensation_documents.csv"),
    "9_interest_documents": ("9.4 interest docs", "interest_documents.csv"),
    "9_payments_charged": ("9.5 late payments", "payments_charged.csv"),
}


# run.json totals_per_currency: the keys check 3_summary_totals compares with the letters
RECORDED_TOTALS = ("letters", "overdue_total", "credit_total", "fee_total", "interest_in_total", "compensation_total",
                   "notice_total", "total_due", "interest_not_in_total", "current_not_in_total", "interest_total")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name:<18} {self.detail}"


def reconcile(out: Path, open_items: Path | None = None) -> list[Check]:
    """Every check of SPEC §8 on `out`, in order; with `open_items`, also input against outputs."""
    con, manifest = open_folder(out)
    totals = manifest["input_totals"]
    params = {
        "input_rows": manifest["inputs"]["open_items"]["rows"],
        "input_currencies": list(totals), "input_amounts": [t["open_amount"] for t in totals.values()],
        # what `run` printed (SPEC §4.8 parts per currency); a key an older run.json lacks is NULL
        "recorded": [{"currency": c, **{k: t.get(k) for k in RECORDED_TOTALS}}
                     for c, t in manifest["totals_per_currency"].items()],
        "recorded_levels": [{"level": int(k), "letters": n} for k, n in manifest["letters_per_level"].items()],
    }
    names = CHECKS | {stem: name for stem, (name, file) in MONEY_RULE_CHECKS.items() if (out / file).is_file()}
    checks = []
    for stem, name in names.items():
        try:
            ok, detail = one(con, f"checks/{stem}", params)
        except StageError as exc:
            if not isinstance(exc.__cause__, duckdb.CatalogException):
                raise
            # a folder of an older version, without a file this check reads (its cfg_*.parquet)
            ok, detail = False, f"the folder lacks what this check reads: {exc.__cause__}"
        checks.append(Check(name, bool(ok), detail))
    checks.append(_check_files(con, out, manifest))
    if OUTBOX_FILE in manifest["outputs"]:  # a run that rendered PDFs, with delivery files
        checks.append(check_delivery(out))
    if open_items is not None:
        checks.append(_check_export(con, out, manifest, Path(open_items)))
    return checks


def _check_files(con: duckdb.DuckDBPyConnection, out: Path, manifest: dict) -> Check:
    """§8.6 Every letter has its PDF (unless --no-pdf), and run.json's hashes match the files."""
    problems = [found for name in manifest["outputs"] if (found := recorded_difference(out, manifest, name))]
    letters, missing, unlisted = one(con, "reconcile/letter_pdfs", {
        "folder": str(out.resolve()), "pattern": str(out.resolve() / "pdf" / "*.pdf")})
    if missing:
        problems.append(f"{missing} letter(s) without their PDF")
    if manifest["run"]["pdf"] and unlisted:
        problems.append(f"{unlisted} letter(s) with no pdf_path although PDFs were rendered")
    detail = f"{len(manifest['outputs'])} outputs and {letters} letters' PDFs checked"
    return Check("6 files", not problems, detail + ("; " + "; ".join(problems) if problems else ""))


def check_delivery(out: Path) -> Check:
    """§10.2, §10.3 The outbox's messages and the print batch carry the letters' current PDFs:
    each message's attachment is byte for byte pdf/LETTER_ID.pdf, and each letter of the batch
    has that PDF's page count and the sha256 of that PDF recorded when the batch was made."""
    problems = []

    @functools.cache
    def current(pdf_path: str | None) -> str | None:
        """The sha256 of a letter's PDF as pdf/ holds it now; None when it has none."""
        return sha256_of(out / pdf_path) if pdf_path and (out / pdf_path).is_file() else None

    con = connect_views(out)
    emails = {x["letter_id"]: x["pdf_path"] for x in email_letters(out)}
    listed = dict(rows(con, "reconcile/outbox_letters")) if (out / OUTBOX_FILE).is_file() else {}
    if set(listed) != set(emails):
        problems.append(f"{OUTBOX_FILE} lists {len(listed)} letter(s), {len(emails)} go by email")
    # a letter without its PDF is check 6's finding; here only PDFs that are there are compared
    stale = [letter_id for letter_id, eml in listed.items()
             if current(emails.get(letter_id)) and not _attaches(out / eml, current(emails[letter_id]))]
    if stale:
        problems.append(f"{len(stale)} email(s) attach another PDF than pdf/ holds (first: {stale[0]})")
    printed = {x["letter_id"]: x["pdf_path"] for x in print_letters(out)}  # in postal order
    index = []
    if (out / BATCH_CSV).is_file():  # in the file's order: the order the letters are printed in
        index = records(con, "reconcile/print_batch_index")
    if [r["letter_id"] for r in index] != list(printed):
        problems.append(f"{BATCH_CSV} lists {len(index)} letter(s), not the {len(printed)} that go to print "
                        f"in postal order")
    other = [r["letter_id"] for r in index if current(printed.get(r["letter_id"])) and (
        r.get("pdf_sha256", current(printed[r["letter_id"]])) != current(printed[r["letter_id"]])
        or int(r["pages"]) != page_count(out / printed[r["letter_id"]]))]
    if other:
        problems.append(f"{len(other)} letter(s) of the print batch are not the PDFs pdf/ holds "
                        f"(first: {other[0]})")
    sheets = sum(int(r["pages"]) + int(r["pages"]) % 2 for r in index)
    if index and (not (out / BATCH_PDF).is_file() or page_count(out / BATCH_PDF) != sheets):
        problems.append(f"{BATCH_PDF} does not have the {sheets} pages its index gives")
    detail = f"{len(listed)} emails and {len(index)} printed letters against pdf/"
    return Check("10 delivery", not problems, detail + ("; " + "; ".join(problems) if problems else ""))


def _attaches(eml: Path, pdf_sha256: str) -> bool:
    """The message exists and the PDF it carries is the one whose sha256 is given."""
    if not eml.is_file():
        return False
    attached = attached_pdf(eml.read_bytes())
    return attached is not None and hashlib.sha256(attached).hexdigest() == pdf_sha256


def _check_export(con: duckdb.DuckDBPyConnection, out: Path, manifest: dict, path: Path) -> Check:
    """The original export, re-read: every row is decided or rejected, and the sums agree."""
    config = _run_config(manifest)
    fmt = config.open_items
    export = connect()
    for name, table in config_tables(config).items():
        table_from_arrow(export, name, table)
    raw = load_raw(export, path, "open_items", fmt, OPEN_ITEM_COLUMNS, ("doc_id",))
    define_macros(export)
    # the export alone, parsed by the run's own stages; no customer is needed for its sums
    table_from_arrow(export, "raw_customers", pa.table(
        {c: pa.array([], pa.string()) for c in CUSTOMER_COLUMNS} | {"_row": pa.array([], pa.int64())}))
    params = {"items_date_format": fmt.date_format, "items_decimal_comma": fmt.decimal_comma,
              "customers_date_format": fmt.date_format, "customers_decimal_comma": fmt.decimal_comma,
              "default_language": "en", "as_of": dt.date.fromisoformat(manifest["as_of"]),
              # issue 18: the export's currency and overpaid invoices as the run read them; no customers here
              "items_currency": fmt.currency, "overpaid_credit": fmt.overpaid_invoice == "credit",
              "create_customers": False, "language_countries": [], "country_languages": []}
    # the plausible window only flags rows for the problem stages (10-19), which this check does not run
    params.update(plausible_from=params["as_of"], plausible_to=params["as_of"])
    for stage in ("01_customers_parsed", "02_open_items_parsed"):
        run_stage(export, stage, params, StageLog())
    export_rows, ids, amounts = one(export, "reconcile/export_items")
    problems = []
    if raw.sha256 != manifest["inputs"]["open_items"]["sha256"]:
        problems.append("the export's sha256 differs from the one the run read")
    decided, rejected, lost, by_currency = one(con, "reconcile/export_outcomes", {"ids": ids, "amounts": amounts})
    if export_rows != decided + rejected:
        problems.append(f"{export_rows} export rows vs {decided} decided + {rejected} rejected")
    if lost:
        problems.append(f"{lost} doc_id(s) of the export are neither decided nor rejected")
    if by_currency:
        problems.append(f"{by_currency} currency total(s) differ between the export and the outputs")
    detail = f"{path}: {export_rows} rows, {len(ids)} doc_ids"
    return Check("7 export", not problems, detail + ("; " + "; ".join(problems) if problems else ""))


def _run_config(manifest: dict) -> Config:
    config_path = Path(manifest["config"]["path"])
    if not config_path.is_file():
        raise UserError(f"{config_path}: the run's config is gone; it is needed to read the export's columns")
    return load_config(config_path)


def report(checks: list[Check]) -> str:
    failed = sum(not c.ok for c in checks)
    summary = "all checks passed" if not failed else f"{failed} check(s) failed"
    return "\n".join([c.line() for c in checks] + [summary])


