"""`render`: re-renders a finished folder's PDFs from its files alone and keeps what is made
from them in step: when a PDF comes out different (another machine's font subsetter, a
changed template), the outbox and the print batch are rebuilt from the new PDFs, run.json's
digests follow, and `render` says which letters changed.

In place, the new PDFs, outbox and print batch are made in a hidden folder inside OUT and
put in place at the end, under OUT's folder lock, run.json last. A folder whose letters were
already sent (delivery/sent.jsonl) is not re-rendered in place, for its PDFs must stay the
ones that went out: `--out NEW` writes a new complete folder instead, atomically.
"""

from __future__ import annotations

import filecmp
import functools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


from .outputs.folder import connect_views, read_manifest
from .checks.reconcile import check_delivery
from .checks.wording import count, first_of, say
from .delivery.outbox import OUTBOX_DIR, OUTBOX_FILE, write_outbox
from .delivery.print_batch import PRINT_DIR, write_print_batch
from .delivery.send import JOURNAL, journal_state
from .errors import UserError
from .outputs.lock import folder_lock
from .letters.batches import has_letter
from .letters.pool import render_letters
from .manifest import check_as_written, delivery_outputs, folder_digest
from .letters.environment import pdf_environment
from .outputs import AtomicFolder, write_json

PDF_DIR = "pdf"
# what a re-render makes anew; everything else of the folder is the run's and stays as it is
REMADE = (PDF_DIR, OUTBOX_DIR, OUTBOX_FILE, PRINT_DIR, "run.json")


@dataclass
class RenderResult:
    source: Path                  # the folder rendered from
    folder: Path                  # where the PDFs are now: the source, or the new folder
    pages: dict[str, int]         # pages per letter rendered
    changed: list[str]            # letters whose PDF differs from the one the source holds
    missing: list[str]            # letters whose PDF the source did not hold
    delivery: bool                # the outbox and print batch were (re)made
    has_delivery: bool            # the folder has an outbox and print batch at all
    stale: bool = False           # they were remade because they carried other PDFs than pdf/

    def report(self) -> str:
        """One sentence: what was rendered, which PDFs changed, what was rebuilt."""
        new = self.folder != self.source
        source = str(self.source)
        what = []
        if self.changed:
            what.append(say("render_differ" if new else "render_changed", pdfs=count(len(self.changed), "PDF"),
                            letter_ids=first_of(self.changed), source=source,
                            differ="differs" if len(self.changed) == 1 else "differ"))
        if self.missing:
            what.append(say("render_missing", pdfs=count(len(self.missing), "PDF"),
                            letter_ids=first_of(self.missing)))
        if self.stale:
            what.append(say("render_stale"))
        elif not what:
            what.append(say("render_same_as_source", source=source) if new else say("render_same"))
        if self.delivery:
            what.append(say("render_delivery_built" if new else "render_delivery_rebuilt"))
        elif not self.has_delivery and (new or self.changed or self.missing):
            what.append(say("render_no_delivery"))
        figures = {"letters": count(len(self.pages), "letter"), "pages": count(sum(self.pages.values()), "page"),
                   "what": "; ".join(what)}
        if new:
            return say("render_new_folder", source=source, target=str(self.folder), **figures)
        return say("render_in_place", pdf_dir=str(self.folder / PDF_DIR), **figures)


def render_folder(out: Path, letter_id: str | None = None, workers: int | None = None,
                  on_progress: Callable | None = None, target: Path | None = None) -> RenderResult:
    """Re-render the PDFs of a finished output folder from its files alone (`render`):
    in place, or with `target` into a new complete folder (a copy of `out` with the new PDFs)."""
    out = Path(out)
    manifest = read_manifest(out)
    check_as_written(out, manifest, "nothing was rendered")
    if letter_id and not has_letter(out, letter_id):
        raise UserError(f"{out}: no letter {letter_id!r} in letters.parquet")
    _check_pdf_files(out)
    render = functools.partial(render_letters, out, manifest["sender"], workers, letter_id, on_progress)
    if target is not None:
        _check_new_folder(out, Path(target))
        return _render_new(out, Path(target), manifest, render, letter_id)
    _refuse_if_sent(out)
    return _render_in_place(out, manifest, render, letter_id)


def _check_pdf_files(out: Path) -> None:
    """pdf/ holds plain files, as the run wrote them: a link's target (a file elsewhere) or a
    named pipe (which waits forever when read) would go into the outbox or be waited on."""
    if not (out / PDF_DIR).is_dir() or (out / PDF_DIR).is_symlink():
        return  # none, or a link: rendered anew in place of it
    odd = next((p for p in sorted((out / PDF_DIR).iterdir()) if p.is_symlink() or not p.is_file()), None)
    if odd is not None:
        raise UserError(f"{odd}: is {'a link' if odd.is_symlink() else 'not a plain file'}; a run writes plain "
                        f"files, so this folder was changed after the run; nothing was rendered: remove it and "
                        f"render again")


def _check_the_others(pdf_dir: Path, out: Path, manifest: dict[str, Any], letter_id: str) -> None:
    """`render --letter` keeps the other letters' PDFs: only when pdf/ is as run.json records
    it, before (the letter comes out new: another version, a changed template) or with the one
    rendered now (its PDF was lost or damaged). Another PDF swapped or added would otherwise be
    mailed as the run's, and run.json would take its digest."""
    recorded = manifest["outputs"].get(f"{PDF_DIR}/")
    # each digest reads every PDF: the one before only when the one with the letter differs
    if folder_digest(pdf_dir.parent, f"{PDF_DIR}/") != recorded and folder_digest(out, f"{PDF_DIR}/") != recorded:
        raise UserError(f"{out / PDF_DIR}: not as run.json records it, before or with {letter_id} rendered again "
                        f"(another PDF was changed, added or removed); nothing was rendered: render all the "
                        f"letters: dunning-batch render {out}")


def _check_new_folder(out: Path, target: Path) -> None:
    """`--out NEW` is a new folder outside OUT: one inside it would be copied into the next."""
    if target.exists():
        raise UserError(f"{target}: exists; render writes a new folder, never into an existing one: "
                        f"choose another --out")
    if out.resolve() in target.resolve().parents:
        raise UserError(f"{target}: is inside {out}; render writes a new folder beside the run's, not into it: "
                        f"choose an --out outside {out}")


def _render_in_place(out: Path, manifest: dict[str, Any], render: Callable[..., dict[str, int]],
                     letter_id: str | None) -> RenderResult:
    # the hidden `.render.partial-PID` inside OUT: removed at the end, or by the next render
    # when this one is killed; never committed, its contents are moved into OUT one by one
    with AtomicFolder(out / "render", force=None) as staging:
        pages = render(pdf_dir=staging.path / PDF_DIR)
        with folder_lock(out):
            _refuse_if_sent(out)  # a `send` may have begun while the letters were rendering
            manifest = read_manifest(out)  # as another render may have left it meanwhile
            _check_pdf_files(out)
            if letter_id is not None:
                _add_the_others(staging.path / PDF_DIR, out / PDF_DIR, link=True)
                _check_the_others(staging.path / PDF_DIR, out, manifest, letter_id)
            changed, missing = _compare(staging.path / PDF_DIR, out / PDF_DIR, pages)
            # a whole render keeps no file of pdf/ that is no letter's
            extra = letter_id is None and _names(out / PDF_DIR) != _names(staging.path / PDF_DIR)
            has_delivery = OUTBOX_FILE in manifest["outputs"]
            # the same PDFs, but an outbox or batch made from others (what `render` used to leave)
            stale = has_delivery and not (changed or missing) and not check_delivery(out).ok
            delivery = has_delivery and bool(changed or missing or stale or extra)
            if changed or missing or stale or extra:
                if delivery:
                    write_outbox(out, manifest["sender"], into=staging.path)
                    write_print_batch(out, into=staging.path)
                _move_into(staging.path, out)
            outputs = _outputs(out, manifest, delivery)
            if outputs != manifest["outputs"]:
                write_json(out / "run.json", manifest | {"outputs": outputs, "pdf_environment": pdf_environment()})
    return RenderResult(out, out, pages, changed, missing, delivery, has_delivery, stale)


def _render_new(out: Path, target: Path, manifest: dict[str, Any],
                render: Callable[..., dict[str, int]], letter_id: str | None) -> RenderResult:
    with AtomicFolder(target, force=None) as folder:
        with folder_lock(out):  # a void recording itself meanwhile is copied whole or not at all
            _copy_run(out, folder.path)
        pages = render(pdf_dir=folder.path / PDF_DIR)
        changed, missing = _compare(folder.path / PDF_DIR, out / PDF_DIR, pages)
        if letter_id is not None:
            _add_the_others(folder.path / PDF_DIR, out / PDF_DIR, link=False)
            _check_the_others(folder.path / PDF_DIR, out, manifest, letter_id)
        has_delivery = OUTBOX_FILE in manifest["outputs"]
        if has_delivery:
            write_outbox(folder.path, manifest["sender"])
            write_print_batch(folder.path)
        write_json(folder.path / "run.json", manifest | {"outputs": _outputs(folder.path, manifest, has_delivery),
                                                       "pdf_environment": pdf_environment()})
        folder.commit()
    return RenderResult(out, target, pages, changed, missing, has_delivery, has_delivery)


def _refuse_if_sent(out: Path) -> None:
    """A letter that went out keeps its PDF: no re-rendering in place once any was accepted, or
    may have been (in doubt)."""
    journaled = journal_state(connect_views(out), out)
    if journaled.done or journaled.in_doubt:
        sent = (f"{count(len(journaled.done) + len(journaled.in_doubt), 'letter')} as sent"
                + (" or in doubt" if journaled.in_doubt else ""))
        raise UserError(f"{out}: the send journal {out / JOURNAL} records {sent}, "
                        f"and rendering in place would replace the PDFs that went out; render into a new folder "
                        f"instead: dunning-batch render {out} --out NEW")


def _compare(new: Path, old: Path, pages: dict[str, int]) -> tuple[list[str], list[str]]:
    """(letters whose new PDF differs from the old one, letters that had none), by letter id."""
    changed, missing = [], []
    for letter_id in sorted(pages):
        before = old / f"{letter_id}.pdf"
        if not before.is_file():
            missing.append(letter_id)
        elif not filecmp.cmp(new / f"{letter_id}.pdf", before, shallow=False):
            changed.append(letter_id)
    return changed, missing


def _names(pdf_dir: Path) -> set[str]:
    return {p.name for p in pdf_dir.iterdir()} if pdf_dir.is_dir() else set()


def _add_the_others(new: Path, old: Path, link: bool) -> None:
    """The PDFs not rendered now (`--letter`) into `new` as they are: hard links in place
    (nothing writes to them afterwards), copies for a new folder."""
    if not old.is_dir():
        return
    for pdf in sorted(old.glob("*.pdf")):
        if (new / pdf.name).exists():
            continue
        if link:
            try:
                os.link(pdf, new / pdf.name)
                continue
            except OSError:  # a file system without hard links
                pass
        shutil.copyfile(pdf, new / pdf.name)


def _move_into(staging: Path, out: Path) -> None:
    """Put the new pdf/, outbox and print batch in place. A folder cannot be replaced in one
    step: the old one is moved into the staging folder (removed with it) and the new one in."""
    old = staging / ".replaced"
    old.mkdir()
    for name in (PDF_DIR, OUTBOX_DIR, OUTBOX_FILE, PRINT_DIR):
        made = staging / name
        if not made.exists():
            continue
        if made.is_dir():
            if (out / name).exists():
                (out / name).rename(old / name)
            made.rename(out / name)
        else:
            os.replace(made, out / name)


def _copy_run(out: Path, target: Path) -> None:
    """Everything of `out` but what is made anew and hidden working files: the run's data
    files, and its records (voids, the send journal), so that the new folder, too, never
    voids or sends a letter a second time."""
    for entry in sorted(out.iterdir()):
        if entry.name not in REMADE and not entry.name.startswith("."):
            _copy(entry, target / entry.name)


def _copy(source: Path, target: Path) -> None:
    """Contents only, not permissions: a copy of a read-only archive is a folder one can work in."""
    if source.is_dir():
        target.mkdir()
        for entry in sorted(source.iterdir()):
            _copy(entry, target / entry.name)
    else:
        shutil.copyfile(source, target)


def _outputs(folder: Path, manifest: dict[str, Any], delivery: bool) -> dict[str, Any]:
    """run.json's outputs with the digests of the PDFs (and, when remade, the delivery files) of `folder`."""
    outputs = dict(manifest["outputs"])
    outputs[f"{PDF_DIR}/"] = folder_digest(folder, f"{PDF_DIR}/")
    if delivery:
        outputs.update(delivery_outputs(folder))
    return outputs
