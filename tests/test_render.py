"""`render` on a finished folder: it says what changed, keeps the outbox and the print batch
in step with the PDFs, never replaces PDFs that were sent (`--out NEW` instead), and reads
and writes run.json whole. `reconcile` checks that the outbox and the print batch carry the
folder's current PDFs (check 10).

One run with PDFs, two letters (C1 by email, C2 to the printer), rendered once for the module;
each test works on a copy. A folder "rendered elsewhere" (another machine's font subsetter,
an older template) is made by changing the PDFs' metadata and rebuilding everything made from
them, as that machine's run would have: render here then gives different PDFs.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import ROOT, Scenario, customer, item
from pypdf import PdfReader, PdfWriter

from dunning_batch.outputs.folder import read_manifest
from dunning_batch.checks.reconcile import reconcile
from dunning_batch.cli import main
from dunning_batch.delivery.outbox import write_outbox
from dunning_batch.delivery.print_batch import write_print_batch
from dunning_batch.manifest import delivery_outputs, folder_digest
from dunning_batch.outputs import write_json


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    scenario = Scenario(tmp_path_factory.mktemp("render"))
    outcome = scenario.run([item("INV-1", 30, "400.00"), item("INV-2", 30, "250.00", customer_id="C2")],
                           [customer("C1", email="ap@one.example", delivery="email"),
                            customer("C2", delivery="print", country="DE", postal_code="10115")], pdf=True)
    assert sorted(x["customer_id"] for x in outcome.letters) == ["C1", "C2"]
    return outcome.out


@pytest.fixture
def out(rendered, tmp_path) -> Path:
    """A private copy named `out` in its own folder; the CLI runs there on the relative path `out`."""
    copy = tmp_path / "out"
    shutil.copytree(rendered, copy)
    return copy


def letter_of(folder: Path, customer_id: str) -> str:
    return duckdb.connect().execute("SELECT letter_id FROM read_parquet($p) WHERE customer_id = $c",
                                    {"p": str(folder / "letters.parquet"), "c": customer_id}).fetchone()[0]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` as a user runs it: a process of its own in `cwd`, relative paths."""
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)


def files(folder: Path) -> dict[str, bytes]:
    """Every file of a folder by relative path (the folder lock aside)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def rendered_elsewhere(folder: Path, *letter_ids: str) -> None:
    """Make these letters' PDFs differ from what render gives here, and the folder whole again
    around them (outbox, print batch, run.json), as a run on another machine leaves it."""
    for letter_id in letter_ids:
        pdf = folder / "pdf" / f"{letter_id}.pdf"
        writer = PdfWriter(clone_from=PdfReader(pdf))
        writer.add_metadata({"/Subject": "rendered elsewhere"})
        data = io.BytesIO()
        writer.write(data)
        pdf.write_bytes(data.getvalue())
    manifest = read_manifest(folder)
    write_outbox(folder, manifest["sender"])
    write_print_batch(folder)
    manifest["outputs"]["pdf/"] = folder_digest(folder, "pdf/")
    manifest["outputs"].update(delivery_outputs(folder))
    write_json(folder / "run.json", manifest)


def attachment(eml: Path) -> bytes:
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    [part] = message.iter_attachments()
    return part.get_content()


def failed(folder: Path) -> dict[str, str]:
    return {c.name: c.detail for c in reconcile(folder) if not c.ok}


def send_journal(folder: Path, letter_id: str) -> None:
    """The journal of a `send` that got `letter_id` accepted (SPEC §10.4)."""
    (folder / "delivery").mkdir()
    (folder / "delivery" / "sent.jsonl").write_text(json.dumps(
        {"letter_id": letter_id, "message_id": f"<{letter_id}@example.com>", "to": "ap@one.example",
         "time": "2026-11-24T21:55:44+00:00", "status": "accepted", "reply": "250 OK", "attempt": 1}) + "\n")


# ------------------------------------------------------------ 14.6: render says what it changed

def test_render_names_the_changed_pdfs_and_rebuilds_outbox_and_print_batch_from_them(rendered, out):
    by_email, to_print = letter_of(out, "C1"), letter_of(out, "C2")
    rendered_elsewhere(out, by_email, to_print)
    assert failed(out) == {}                            # consistent, but not what render makes here
    result = cli(out.parent, "render", "out")
    assert result.returncode == 0, result.stderr
    # everything made from the PDFs is what the run made here: the email carries the new PDF,
    # the print batch is made of it, run.json's digests are the run's again
    original = files(rendered)
    assert attachment(out / "outbox" / f"{by_email}.eml") == original[f"pdf/{by_email}.pdf"]
    now = files(out)
    for name in (f"pdf/{by_email}.pdf", f"pdf/{to_print}.pdf", f"outbox/{by_email}.eml", "outbox.parquet",
                 "print/print_batch.pdf", "print/print_batch.csv", "run.json"):
        assert now[name] == original[name], name
    assert not [p for p in out.iterdir() if p.name.startswith(".render")]   # no working folder left
    assert failed(out) == {}
    first, second = sorted([by_email, to_print])
    assert result.stdout == (f"re-rendered 2 letters (2 pages) into out/pdf: 2 PDFs changed ({first} and {second}); "
                             f"outbox and print batch rebuilt from the new PDFs.\n")


def test_render_of_an_unchanged_folder_says_so_and_rewrites_nothing(out):
    before = files(out)
    result = cli(out.parent, "render", "out")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("re-rendered 2 letters (2 pages) into out/pdf: every PDF is the same as before, "
                             "so nothing else was rewritten.\n")
    assert files(out) == before


def test_reconcile_fails_when_the_outbox_or_print_batch_carry_other_pdfs(out):
    """What `render` did before: new PDFs and run.json's pdf/ digest, the old outbox and batch."""
    by_email, to_print = letter_of(out, "C1"), letter_of(out, "C2")
    for letter_id in (by_email, to_print):
        pdf = out / "pdf" / f"{letter_id}.pdf"
        writer = PdfWriter(clone_from=PdfReader(pdf))
        writer.add_metadata({"/Subject": "re-rendered"})
        with pdf.open("wb") as handle:
            writer.write(handle)
    manifest = read_manifest(out)
    manifest["outputs"]["pdf/"] = folder_digest(out, "pdf/")
    write_json(out / "run.json", manifest)
    result = CliRunner().invoke(main, ["reconcile", str(out)])
    assert result.exit_code == 1, result.output
    assert "PASS  6 files" in result.output            # the hashes of run.json all hold
    assert failed(out) == {"10 delivery": (
        f"1 emails and 1 printed letters against pdf/; 1 email(s) attach another PDF than pdf/ holds "
        f"(first: {by_email}); 1 letter(s) of the print batch are not the PDFs pdf/ holds (first: {to_print})")}


def test_render_rebuilds_an_outbox_and_print_batch_made_from_other_pdfs(rendered, out):
    """A folder as `render` used to leave it: the PDFs are right, the outbox and batch are not."""
    by_email, to_print = letter_of(out, "C1"), letter_of(out, "C2")
    rendered_elsewhere(out, by_email, to_print)         # outbox and batch made from other PDFs ...
    for letter_id in (by_email, to_print):              # ... and the PDFs this machine makes
        shutil.copyfile(rendered / "pdf" / f"{letter_id}.pdf", out / "pdf" / f"{letter_id}.pdf")
    manifest = read_manifest(out)
    manifest["outputs"]["pdf/"] = folder_digest(out, "pdf/")
    write_json(out / "run.json", manifest)
    assert list(failed(out)) == ["10 delivery"]
    result = cli(out.parent, "render", "out")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("re-rendered 2 letters (2 pages) into out/pdf: every PDF is the same as before, but "
                             "the outbox or the print batch carried other PDFs; outbox and print batch rebuilt "
                             "from the new PDFs.\n")
    assert failed(out) == {}
    assert files(out) == files(rendered)


def test_reconcile_passes_the_delivery_files_of_a_fresh_run(out):
    result = CliRunner().invoke(main, ["reconcile", str(out)])
    assert result.exit_code == 0, result.output
    assert "PASS  10 delivery        1 emails and 1 printed letters against pdf/" in result.output


# ------------------------------------------------------------ 15.9: sent letters keep their PDFs

def test_render_in_place_is_refused_once_a_letter_was_sent(out):
    send_journal(out, letter_of(out, "C1"))
    rendered_elsewhere(out, letter_of(out, "C1"))       # a template changed since: the PDFs would change
    before = files(out)
    result = cli(out.parent, "render", "out")
    assert result.returncode == 2, result.stdout
    assert result.stderr == ("out: the send journal out/delivery/sent.jsonl records 1 letter as sent, and "
                             "rendering in place would replace the PDFs that went out; render into a new "
                             "folder instead: dunning-batch render out --out NEW\n")
    assert files(out) == before


def test_render_out_new_writes_a_complete_new_folder_and_leaves_the_sent_one(rendered, out):
    by_email = letter_of(out, "C1")
    send_journal(out, by_email)
    rendered_elsewhere(out, by_email)
    before = files(out)
    result = cli(out.parent, "render", "out", "--out", "new")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"re-rendered 2 letters (2 pages) from out into the new folder new: 1 PDF differs "
                             f"from out's ({by_email}); outbox and print batch made from the new PDFs.\n")
    assert files(out) == before                         # the PDFs that went out stay as they went
    new = out.parent / "new"
    made, original = files(new), files(rendered)
    for name in original:                               # the run's files, the new PDFs and all made from them
        assert made[name] == original[name], name
    assert made["delivery/sent.jsonl"] == before["delivery/sent.jsonl"]   # `send new` skips what went out
    assert failed(new) == {}
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".new")]
    again = cli(out.parent, "render", "out", "--out", "new")
    assert again.returncode == 2
    assert again.stderr == "new: exists; render writes a new folder, never into an existing one: choose another --out\n"
    assert files(new) == made


def test_render_out_new_that_fails_leaves_no_folder(out, monkeypatch):
    from dunning_batch import rerender

    def half_then_fail(folder, sender, workers, letter_id, on_progress, pdf_dir):
        pdf_dir.mkdir()
        (pdf_dir / "DL-half.pdf").write_bytes(b"%PDF-")
        raise RuntimeError("the renderer died")

    monkeypatch.setattr(rerender, "render_letters", half_then_fail)
    with pytest.raises(RuntimeError):
        rerender.render_folder(out, target=out.parent / "new")
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


# ------------------------------------------------------------ a tampered folder: render reads only what the run wrote

def edit_letters(folder: Path, sql_set: str) -> None:
    """Rewrite letters.parquet with `sql_set` applied to C1's letter, as someone editing the file would."""
    con = duckdb.connect()
    path = str(folder / "letters.parquet")
    con.execute(f"CREATE TABLE l AS SELECT * FROM read_parquet('{path}')")
    con.execute(f"UPDATE l SET {sql_set} WHERE customer_id = 'C1'")
    con.execute(f"COPY l TO '{path}' (FORMAT parquet)")


@pytest.mark.parametrize("tamper, args", [
    ("total_due = 1.00", ["render", "out"]),                               # another amount to pay
    ("template = '../../../../etc/passwd'", ["render", "out"]),           # a path for Jinja
    ("letter_id = '../../escape'", ["render", "out"]),                     # a letter without its lines
    ("total_due = 1.00", ["render", "out", "--out", "new"]),
    ("total_due = 1.00", ["render", ".", "--letter", "LETTER"]),           # from inside the folder
])
def test_render_of_a_folder_whose_files_changed_since_the_run_renders_nothing(out, tamper, args):
    letter_id = letter_of(out, "C1")
    edit_letters(out, tamper)
    before = files(out)
    cwd = out if "." in args else out.parent
    result = cli(cwd, *[letter_id if a == "LETTER" else a for a in args])
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    folder = "." if "." in args else "out"
    assert line.startswith(f"{folder}: letters.parquet changed since the run (run.json records the files as the run "
                           f"wrote them), so nothing was rendered; "), line
    assert files(out) == before and sorted(p.name for p in out.parent.iterdir()) == ["out"]


def test_render_of_a_folder_that_lost_a_file_names_it(out):
    (out / "letter_lines.parquet").unlink()
    result = cli(out.parent, "render", "out")
    assert result.returncode == 2
    assert result.stderr.startswith("out: letter_lines.parquet is missing (run.json records")


def test_render_does_not_mind_the_pages_for_people(out):
    """views.sql and summary.html are for analysts and readers; no command reads them back."""
    (out / "views.sql").write_text("-- an analyst's own views\n")
    (out / "summary.html").write_text("<p>annotated</p>")
    result = cli(out.parent, "render", "out")
    assert result.returncode == 0, result.stderr
    assert "every PDF is the same as before" in result.stdout


@pytest.mark.parametrize("new", ["sub", "./pdf/sub"])
def test_render_out_inside_the_folder_is_refused(out, new):
    result = cli(out, "render", ".", "--out", new)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"{Path(new)}: is inside .; render writes a new folder beside the run's, "
                             f"not into it: choose an --out outside .\n")
    assert not (out / "sub").exists() and not (out / "pdf" / "sub").exists()


# ------------------------------------------------------------ 15.17: run.json whole, or said to be damaged

@pytest.mark.parametrize("command", ["render", "reconcile", "explain"])
def test_a_damaged_run_json_is_named_in_one_sentence(out, command):
    text = (out / "run.json").read_text()
    (out / "run.json").write_text(text[: len(text) // 2])          # cut short
    args = ["explain", "out", "INV-1"] if command == "explain" else [command, "out"]
    result = cli(out.parent, *args)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("out/run.json is damaged (not valid JSON): ")
    assert line.endswith("; restore it from a backup or run the job again into a new folder")


def test_run_json_is_replaced_whole_never_cut_short(out, monkeypatch):
    before = (out / "run.json").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)           # the new file never reaches its place
    with pytest.raises(OSError, match="disk full"):
        write_json(out / "run.json", {**json.loads(before), "outputs": {}})
    assert (out / "run.json").read_bytes() == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".run.json")] == []


# ---------------------------------------------------------------- a tampered pdf/ (a probe's)

def test_render_letter_keeps_no_other_pdf_swapped_since_the_run(out):
    """A probe copied C2's letter over C1's PDF and ran `render --letter` on C2's: the outbox
    was rebuilt around the swapped PDF and run.json took its digest, so `reconcile` passed and
    C1 would have been mailed C2's letter."""
    by_email, to_print = letter_of(out, "C1"), letter_of(out, "C2")
    shutil.copyfile(out / "pdf" / f"{to_print}.pdf", out / "pdf" / f"{by_email}.pdf")
    before = files(out)
    result = cli(out.parent, "render", "out", "--letter", to_print, "--workers", "1")
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == (f"out/pdf: not as run.json records it, before or with {to_print} rendered again (another "
                             f"PDF was changed, added or removed); nothing was rendered: render all the letters: "
                             f"dunning-batch render out\n")
    assert files(out) == before
    assert "6 files" in failed(out)
    whole = cli(out.parent, "render", "out", "--workers", "1")          # what the sentence says to do
    assert whole.returncode == 0, whole.stderr
    assert failed(out) == {}


def test_render_letter_restores_a_lost_pdf_when_the_others_are_the_run_s(out):
    letter_id = letter_of(out, "C1")
    before = files(out)
    (out / "pdf" / f"{letter_id}.pdf").unlink()
    result = cli(out.parent, "render", "out", "--letter", letter_id, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert files(out) == before


@pytest.mark.parametrize("odd", ["link", "fifo"])
def test_render_refuses_a_pdf_that_is_a_link_or_a_pipe(out, tmp_path, odd):
    """A probe linked a letter's PDF to a file elsewhere: `render --letter` built the outbox from
    the link's target and `send` mailed it; a named pipe among the PDFs made `render` wait forever."""
    elsewhere = tmp_path / "secret.pdf"
    elsewhere.write_bytes(b"%PDF-1.4 not the run's\n")
    letter_id, other = letter_of(out, "C1"), letter_of(out, "C2")
    pdf = out / "pdf" / f"{letter_id}.pdf"
    pdf.unlink()
    pdf.symlink_to(elsewhere) if odd == "link" else os.mkfifo(pdf)
    before = {name: data for name, data in files(out).items() if not name.endswith(f"{letter_id}.pdf")}
    for args in (["--letter", other], [], ["--out", "new"]):
        result = subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", "render", "out",
                                 *args, "--workers", "1"], cwd=out.parent, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr == (f"out/pdf/{letter_id}.pdf: is {'a link' if odd == 'link' else 'not a plain file'}; "
                                 f"a run writes plain files, so this folder was changed after the run; nothing was "
                                 f"rendered: remove it and render again\n"), args
    assert not (out.parent / "new").exists()
    assert {name: data for name, data in files(out).items() if not name.endswith(f"{letter_id}.pdf")} == before


def test_a_whole_render_keeps_no_file_of_pdf_that_is_no_letter_s(out):
    """A probe's extra pdf/DL-...-ffff.pdf was kept by `render` and recorded in run.json, after
    which `reconcile` passed."""
    (out / "pdf" / "DL-20261124-ffffffffffffffff.pdf").write_bytes(b"junk\n")
    assert "6 files" in failed(out)
    result = cli(out.parent, "render", "out", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert not (out / "pdf" / "DL-20261124-ffffffffffffffff.pdf").exists()
    assert failed(out) == {}
