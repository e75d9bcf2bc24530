"""run.json: what a run read, wrote and decided, with the fingerprints `reconcile` checks (SPEC §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import __version__
from .delivery.outbox import OUTBOX_DIR, OUTBOX_FILE
from .delivery.print_batch import BATCH_CSV, BATCH_PDF, PRINT_DIR
from .digest import files_digest, sha256_of
from .errors import UserError
from .outputs import output_files, output_rules
from .outputs.folder import add_views, new_connection, read_manifest
from .outputs.levels_file import levels_file_record
from .session import Session
from .sql_runner import count_rows, one, records, relation_arrow, rows

# Folders of files fingerprinted as a whole (name -> the files it holds); `reconcile` checks them.
FILE_FOLDERS = {"pdf/": "*.pdf", "outbox/": "*.eml"}


def build_manifest(session: Session, folder: Path, pdf: bool) -> dict[str, Any]:
    con = session.con
    outputs = {}
    for f in output_files(output_rules(session.config, con)):  # SPEC §9 (§11.2) files only where configured
        outputs[f.name] = {"sha256": sha256_of(folder / f.name), "rows": count_rows(con, f.relation)}
    for derived in ("views.sql", "summary.html"):
        outputs[derived] = {"sha256": sha256_of(folder / derived), "rows": None}
    outputs["pdf/"] = folder_digest(folder, "pdf/")
    outputs.update(delivery_outputs(folder))
    # SPEC §4.8: the parts of total due per currency, split by the config (sql/currency_totals.sql)
    totals = {}
    for values in records(con, "reports/currency_totals"):
        currency = values.pop("currency")
        totals[currency] = {k: (v if k == "letters" else str(v)) for k, v in values.items()}
    # what the export held, per currency, before anything was decided or set aside (SPEC §8.2)
    input_totals = {currency: {"items": n, "open_amount": str(amount)}
                    for currency, n, amount in session.input_totals}
    return {
        "version": __version__,
        "as_of": session.params["as_of"].isoformat(),
        # absolute, so that `reconcile --open-items` finds the config from any working directory
        "config": {"path": str(Path(session.config.path).resolve()), "sha256": session.config.sha256},
        "sender": session.config.sender,
        "run": {"grouping": session.config.run.grouping,
                "consolidate_branches": session.config.run.consolidate_branches, "pdf": pdf,
                **pay_by_calendar_record(session)},
        "inputs": {role: {"path": str(Path(raw.path).resolve()), "sha256": raw.sha256, "rows": raw.rows}
                   for role, raw in session.inputs.items()},
        "input_totals": input_totals,
        # customers made for ids the items name that the customers file lacks ([input.customers] missing)
        "customers_created": one(con, "reports/customers_created")[0],
        "outputs": outputs,
        "rejected_rows": count_rows(con, "rejected"),
        "totals_per_currency": totals,
        "letters_per_level": {str(level): n for level, n in rows(con, "reports/letters_per_level")},
        "decisions_per_reason": {f"{outcome}/{reason}": n
                                 for outcome, reason, n in rows(con, "reports/decisions_per_reason")},
        # the ledger it was recorded in and what it took from it (README "Running every night")
        "ledger": session.night.report() if session.night is not None else None,
        **levels_file_record(session.config),   # a levels file in the export's terms: its layout, for `void`
        # what fixed the PDFs' bytes besides the inputs (subsetter, versions, font files) where
        # they were rendered; none without PDFs
        "pdf_environment": session.pdf_environment,
        "timings_seconds": dict(session.log.seconds),
        "stage_rows": dict(session.log.rows),
    }


def pay_by_calendar_record(session: Session) -> dict[str, Any]:
    """[run] pay_by_calendar and the holidays a pay-by date moved over (sql/50_letter_heads),
    so that a rerun's moved dates can be explained; nothing without a calendar."""
    calendar = session.config.run.pay_by_calendar
    if calendar is None:
        return {}
    days = relation_arrow(session.con, "pay_by_holidays").to_pylist()
    return {"pay_by_calendar": calendar,
            "pay_by_holidays": {row["day"].isoformat(): row["name"] for row in days}}


def recorded_difference(folder: Path, manifest: dict[str, Any], name: str) -> str | None:
    """How output `name` differs from what run.json records of it (a link, missing, a file
    where the run wrote a folder or the other way round, changed, other files in a
    fingerprinted folder), or None when it is as the run wrote it."""
    recorded = manifest["outputs"][name]
    path = folder / name.rstrip("/")
    # a run writes plain files: a link's digest would be its target's, wherever that is
    if path.is_symlink() or (path.is_dir() and any(p.is_symlink() for p in path.iterdir())):
        return f"{name} is a link" if path.is_symlink() else f"{name} holds a link"
    if path.exists() and name.endswith("/") != path.is_dir():
        return f"{name} is not a {'folder' if name.endswith('/') else 'file'}"
    if name in FILE_FOLDERS and path.is_dir() and not all(p.is_file() for p in path.iterdir()):
        return f"{name} holds a folder where the run wrote files"
    if name in FILE_FOLDERS:
        found = folder_digest(folder, name)
        return None if found == recorded else f"{name} has {found['files']} files, digest differs from run.json"
    if not path.is_file():  # reading a named pipe would wait for a writer forever
        return f"{name} is not a plain file" if path.exists() else f"{name} is missing"
    return None if sha256_of(folder / name) == recorded["sha256"] else f"{name} changed since the run"


# run.json's outputs that are not what the run decided: what `render` makes anew from the
# letters (run.json's digests follow it), and the pages for people, which no command reads back
NOT_DECIDED = ("pdf", OUTBOX_DIR, OUTBOX_FILE, PRINT_DIR, "views.sql", "summary.html")


def decided_outputs(manifest: dict[str, Any]) -> list[str]:
    """run.json's outputs that hold what the run decided (all but NOT_DECIDED)."""
    return [name for name in manifest["outputs"] if name.split("/")[0] not in NOT_DECIDED]


def check_as_written(folder: Path, manifest: dict[str, Any], consequence: str) -> None:
    """Exit 2 unless every file of what the run decided is as run.json records it: a letter
    rendered, or a void's reversals made, from an edited file (another total, fee, template or
    recipient) would go out as if the run had decided it. `consequence`: what was not done."""
    for name in decided_outputs(manifest):
        if difference := recorded_difference(folder, manifest, name):
            raise UserError(f"{folder}: {difference} (run.json records the files as the run wrote them), so "
                            f"{consequence}; restore the file from a backup, or run the night again into a new folder")


def edited_note(folder: Path) -> str | None:
    """A note for the answer of `explain` or `diff` when a file of what the run decided is not
    as run.json records it: they read a received folder as it is, and say so instead of
    stating an edited file's figures as the run's."""
    manifest = read_manifest(folder)
    edited = [difference for name in decided_outputs(manifest) if (folder / name).exists()
              and (difference := recorded_difference(folder, manifest, name))]
    if not edited:
        return None
    return (f"note: {folder}: {'; '.join(edited)}; this answer reads the files as they are now, not as the run "
            f"wrote them (`dunning-batch reconcile {folder}` checks them against run.json)")


def changed_file(folder: Path) -> str | None:
    """The first file of `folder`'s run that is not as run.json records it (a link, missing, a
    folder in its place, changed), in words; None when all are, or the folder has no readable
    run.json (its own error is said where it is read)."""
    try:
        manifest = read_manifest(folder)
    except UserError:
        return None
    return next(filter(None, (recorded_difference(folder, manifest, name) for name in manifest["outputs"])), None)


def check_complete(folder: Path, manifest: dict[str, Any]) -> None:
    """Exit 2 naming the first file of what the run decided that the folder lacks: `query` and
    `explain` answer from a folder's files as they are (a received folder), but not from a part."""
    for name in decided_outputs(manifest):
        if not (folder / name).exists():
            raise UserError(f"{folder}: {name} is missing; the folder is incomplete")


def folder_digest(folder: Path, name: str) -> dict[str, Any]:
    return files_digest(folder / name.rstrip("/"), FILE_FOLDERS[name])


def delivery_outputs(folder: Path) -> dict[str, Any]:
    """The outbox and the print batch (SPEC §10.2, §10.3), when the run rendered PDFs."""
    if not (folder / OUTBOX_FILE).is_file():
        return {}
    con = new_connection()
    add_views(con, folder, relations=("outbox", "print_batch"))  # just the two it counts
    outputs = {
        OUTBOX_FILE: {"sha256": sha256_of(folder / OUTBOX_FILE), "rows": count_rows(con, "outbox")},
        "outbox/": folder_digest(folder, "outbox/"),
        BATCH_CSV: {"sha256": sha256_of(folder / BATCH_CSV), "rows": count_rows(con, "print_batch")},
    }
    if (folder / BATCH_PDF).is_file():  # none when no letter goes to print
        outputs[BATCH_PDF] = {"sha256": sha256_of(folder / BATCH_PDF), "rows": None}
    return outputs
