"""What `send` checks before anything goes out (SPEC §10.4): that the outbox is the one the
run wrote (outbox.parquet and outbox/*.eml against run.json's sha256, and no links among
them), and that the sender and every recipient are plain `local@domain` addresses, checked
with the rule validation used (addresses.py), even in a folder written before that rule or
edited since. Each failure is exit 2 with nothing sent."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..addresses import AddressError, plain
from ..errors import UserError
from ..manifest import recorded_difference
from ..outputs.folder import connect_views
from ..outputs.layout import SEND_JOURNAL
from ..sql_runner import records
from .outbox import OUTBOX_DIR, OUTBOX_FILE


def check_outbox(out: Path, manifest: dict[str, Any]) -> None:
    """outbox.parquet and every outbox/*.eml as the run wrote them (run.json's sha256), or exit 2.

    The recipients come from outbox.parquet: an edited `to` would send a letter elsewhere.
    """
    recorded = manifest.get("outputs", {})
    if not (out / OUTBOX_FILE).is_file() and OUTBOX_FILE in recorded:
        raise UserError(f"{out}: {OUTBOX_FILE} is missing, though run.json records that the run wrote it; nothing "
                        f"was sent: restore the file from a backup, or run the job again to rebuild the outbox")
    if not (out / OUTBOX_FILE).is_file():
        raise UserError(f"{out}: no {OUTBOX_FILE}; the run wrote no outbox (it ran with --no-pdf, or "
                        f"before delivery existed): run it again with PDFs")
    if OUTBOX_FILE not in recorded or "outbox/" not in recorded:
        raise UserError(f"{out / 'run.json'}: records no sha256 of {OUTBOX_FILE} and outbox/, so the outbox cannot "
                        f"be checked; nothing was sent: run the job again to rebuild the outbox")
    if recorded_difference(out, manifest, OUTBOX_FILE):
        raise UserError(f"{out / OUTBOX_FILE}: changed since the run (its sha256 differs from run.json); nothing "
                        f"was sent: run the job again to rebuild the outbox")
    check_plain_files(out)
    listed = records(connect_views(out), "delivery/outbox_listed")
    for letter in listed:  # each a letter of the run, once (it is its file's name and its Message-ID)
        if not letter["known"] or letter["copies"] != 1:
            what = "a letter it lists twice" if letter["known"] else "no letter of letters.parquet"
            raise UserError(f"{out / OUTBOX_FILE}: names {what} ({letter['letter_id']!r}); the outbox was changed "
                            f"after the run, and nothing was sent: run the job again to rebuild the outbox")
    check_unchanged(out, listed)
    if recorded_difference(out, manifest, "outbox/"):  # a message the run did not write
        known = {letter["eml_path"] for letter in listed}
        extra = sorted(f"{OUTBOX_DIR}/{p.name}" for p in (out / OUTBOX_DIR).glob("*.eml")
                       if f"{OUTBOX_DIR}/{p.name}" not in known)
        raise UserError(f"{out}: {', '.join(extra[:5]) or OUTBOX_DIR + '/'} not written by the run (the digest of "
                        f"outbox/ differs from run.json); nothing was sent: run the job again to rebuild the outbox")


def check_plain_files(out: Path) -> None:
    """The run wrote outbox/ and its messages as plain files, and `send` writes delivery/ and
    its journal so: a link among them (whose digest is its target's) would mail, or journal,
    what lies elsewhere, and anything else in their place (a file for a folder, a folder or a
    pipe for the journal) is no journal `send` can keep."""
    links = [path for path in (out / OUTBOX_DIR, out / SEND_JOURNAL.parent, out / SEND_JOURNAL) if path.is_symlink()]
    if not links and (out / OUTBOX_DIR).is_dir():
        links = sorted(path for path in (out / OUTBOX_DIR).iterdir() if path.is_symlink())
    if links:
        raise UserError(f"{links[0]}: is a link; a run writes plain files, so this folder was changed after the run; "
                        f"nothing was sent: run the night again into a new folder")
    for path, kind, is_kind in ((out / SEND_JOURNAL.parent, "a folder", Path.is_dir),
                                (out / SEND_JOURNAL, "a file", Path.is_file)):
        if path.exists() and not is_kind(path):
            raise UserError(f"{path}: is not {kind}, which `send` keeps its journal in; nothing was sent: move it "
                            f"away (it is no journal `send` wrote)")


def check_unchanged(out: Path, pending: list[dict[str, Any]]) -> None:
    """Send only what the run wrote: a message named anywhere but where the run writes it (an
    edited outbox.parquet whose digest was written into run.json too), or a missing or edited
    .eml, stops `send` before anything goes out."""
    for letter in pending:
        if letter["eml_path"] != f"{OUTBOX_DIR}/{letter['letter_id']}.eml":
            raise UserError(f"{out / OUTBOX_FILE}: letter {letter['letter_id']!r} names its message "
                            f"{letter['eml_path']!r}, not {OUTBOX_DIR}/ID.eml where the run writes it; nothing was "
                            f"sent: run the job again to rebuild the outbox")
    changed = [letter["eml_path"] for letter in pending
               if not (out / letter["eml_path"]).is_file()
               or hashlib.sha256((out / letter["eml_path"]).read_bytes()).hexdigest() != letter["sha256"]]
    if changed:
        raise UserError(f"{out}: {', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''} missing or changed "
                        f"since the run (sha256 differs from {OUTBOX_FILE}); run the job again to rebuild the outbox")


def addresses_of(to: str) -> list[str]:
    """The addresses of an outbox row's `to` (the To header: `a@x.de, b@y.de`), each re-checked:
    AddressError unless every one is a plain address, exactly as delivery will send it."""
    addresses = [part.strip(" ") for part in to.split(",")]
    for address in addresses:
        try:
            if plain(address) != address:
                raise AddressError(f"is not in the ASCII form {plain(address)!r} the run writes")
        except AddressError as exc:
            raise AddressError(f"{address!r} {exc}") from None
    return addresses


def checked_sender(out: Path, email: str) -> str:
    try:
        return plain(email)
    except AddressError as exc:
        raise UserError(f"{out}/run.json: the [sender] email {email!r} {exc}; fix the config and run the job "
                        f"again") from None


def check_recipients(out: Path, pending: list[dict[str, Any]]) -> None:
    """Send only to plain addresses: one that is not stops `send` before anything goes out."""
    bad = []
    for letter in pending:
        try:
            addresses_of(letter["to"])
        except AddressError as exc:
            bad.append(f"{letter['letter_id']} to {letter['to']!r}: {exc}")
    if bad:
        raise UserError(f"{out}: {'; '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}: not plain addresses "
                        f"local@domain; run the job again (its validation refuses such addresses) to rebuild "
                        f"the outbox")
