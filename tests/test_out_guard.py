"""What `--out` a run may write and what `--force` may replace (SPEC §5), and what a full or
read-only disk does to it: one sentence and exit 2, nothing deleted that a run did not write.

The CLI is run as a user runs it: a subprocess in a working folder, with relative paths.
The exports live in `exports/` (config, items, customers and a note of the user's own), the
user works in `work/`. Disks that fill up, turn read-only or are mount points are real
tmpfs mounts where the test may mount one (root), and simulated by an injected OSError in
the portable tests beside them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import duckdb
import pytest
from click.testing import CliRunner

from conftest import AS_OF, ROOT, SPEC_CONFIG, customer, item, write_csv
from dunning_batch import run as run_module
from dunning_batch.cli import main
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
from dunning_batch.errors import UserError

NOTE = "my own notes, not a run's\n"


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` as a subprocess in `cwd`, this worktree's code first on the path."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def exports(folder: Path) -> Path:
    """exports/: config.toml, open_items.csv, customers.csv and a file of the user's (notes.txt)."""
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(SPEC_CONFIG, encoding="utf-8")
    write_csv(folder / "open_items.csv", [item("INV-1", 30, "250.00"), item("INV-2", 3)], OPEN_ITEM_COLUMNS)
    write_csv(folder / "customers.csv", [customer()], CUSTOMER_COLUMNS)
    (folder / "notes.txt").write_text(NOTE, encoding="utf-8")
    return folder


def run_args(inputs: str, out: str, *extra: str) -> list[str]:
    """`run` with the exports at the relative path `inputs`; --no-pdf: these tests are about folders."""
    return ["run", "--config", f"{inputs}/config.toml", "--open-items", f"{inputs}/open_items.csv",
            "--customers", f"{inputs}/customers.csv", "--as-of", AS_OF.isoformat(), "--out", out,
            "--no-pdf", *extra]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_sentence(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2 with one line on stderr, no traceback, holding each fragment; returns the line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """tmp/exports (the inputs) and tmp/work (the working folder); returns tmp."""
    exports(tmp_path / "exports")
    (tmp_path / "work").mkdir()
    return tmp_path


def finished_run(place: Path, out: str = "out") -> Path:
    result = cli(place / "work", *run_args("../exports", out))
    assert result.returncode == 0, result.stderr
    return place / "work" / out


# ----------------------------------------------------------------------- item 7: --force

def test_force_never_replaces_the_folder_holding_the_inputs_and_config(place):
    """The tester's case: --out pointing at the export folder wiped exports, config and a note, exit 0."""
    before = snapshot(place / "exports")
    result = cli(place / "work", *run_args("../exports", "../exports", "--force"))
    one_sentence(result, "../exports", "which this run reads", "choose another --out")
    assert snapshot(place / "exports") == before
    assert sorted(p.name for p in place.iterdir()) == ["exports", "work"], "something left beside --out"


def test_force_never_replaces_a_run_folder_holding_an_input(place):
    """An earlier run's folder into which the user put an export of tonight's run: still an input."""
    out = finished_run(place)
    shutil.move(place / "exports" / "customers.csv", out / "customers.csv")
    before = snapshot(out)
    result = cli(place / "work", "run", "--config", "../exports/config.toml", "--open-items",
                 "../exports/open_items.csv", "--customers", "out/customers.csv", "--as-of", AS_OF.isoformat(),
                 "--out", "out", "--no-pdf", "--force")
    one_sentence(result, "out: holds out/customers.csv, which this run reads")
    assert snapshot(out) == before


@pytest.mark.parametrize("out, cwd, what", [
    (".", "work/deep", "is the current folder"),
    ("..", "work/deep", "is a parent of the current folder"),
    ("../..", "work/deep", "is a parent of the current folder"),
    ("../home", "work", "is a home folder"),
])
def test_force_never_replaces_the_current_folder_its_parents_or_a_home_folder(place, out, cwd, what):
    """`--out .` from inside a folder, `..`, and $HOME: refused with or without --force, nothing touched."""
    (place / "work" / "deep").mkdir()
    (place / "work" / "deep" / "mine.txt").write_text(NOTE)
    home = place / "home"
    home.mkdir()
    (home / ".profile").write_text(NOTE)
    before = snapshot(place)
    for force in ([], ["--force"]):
        result = cli(place / cwd, *run_args(os.path.relpath(place / "exports", place / cwd), out, *force),
                     env={"HOME": str(home)})
        one_sentence(result, f"{out}: {what}")
        assert snapshot(place) == before
        assert not list(place.rglob(".*.partial-*"))


def test_the_root_folder_and_the_real_home_are_refused(tmp_path, monkeypatch):
    """The same rule for `/` and the home folder of the user running the tests (checked, never run into)."""
    from dunning_batch.outputs.guard import check_out

    monkeypatch.chdir(tmp_path)
    for out, what in ((Path("/"), "is the root folder"), (Path.home(), "is a home folder")):
        with pytest.raises(UserError, match=what):
            check_out(out, force=True)


def test_force_refuses_a_run_folder_holding_a_file_no_run_writes(place):
    out = finished_run(place)
    (out / "notes.txt").write_text(NOTE)
    (out / "pdf").mkdir()
    before = snapshot(out)
    result = cli(place / "work", *run_args("../exports", "out", "--force"))
    one_sentence(result, "out: holds notes.txt, which no run writes")
    assert snapshot(out) == before

    (out / "notes.txt").unlink()
    (out / "pdf" / "scan.jpg").write_bytes(b"\xff\xd8")  # a folder of a run's holding a stranger
    result = cli(place / "work", *run_args("../exports", "out", "--force"))
    one_sentence(result, "out: holds pdf/scan.jpg, which no run writes")
    assert (out / "pdf" / "scan.jpg").exists()


@pytest.mark.parametrize("contents", [
    {},                                                     # an empty folder
    {"run.json": "{}\n", "letters.parquet": "x"},           # run.json of no run
    {"run.json": "not json", "decisions.parquet": "x"},
    {"letters.parquet": "x", "decisions.parquet": "x"},     # a run's names, but no run.json
])
def test_force_replaces_only_the_folder_of_a_finished_run(place, contents):
    out = place / "work" / "out"
    out.mkdir()
    for name, text in contents.items():
        (out / name).write_text(text)
    before = snapshot(out)
    result = cli(place / "work", *run_args("../exports", "out", "--force"))
    one_sentence(result, "out: not the output folder of a finished run (no valid run.json)")
    assert snapshot(out) == before and out.is_dir()


def test_force_replaces_an_earlier_runs_folder_and_nothing_else(place):
    out = finished_run(place, "out/2026-11-24")
    (out / "levels_update.csv").write_text("edited by hand\n")  # still a run's file: replaced
    result = cli(place / "work", *run_args("../exports", "out/2026-11-24", "--force"))
    assert result.returncode == 0, result.stderr
    assert "edited by hand" not in (out / "levels_update.csv").read_text()
    assert json.loads((out / "run.json").read_text())["as_of"] == AS_OF.isoformat()
    assert sorted(p.name for p in (place / "work" / "out").iterdir()) == ["2026-11-24"]
    assert (place / "exports" / "notes.txt").read_text() == NOTE


def test_force_refuses_a_symbolic_link(place):
    target = finished_run(place, "real")
    (place / "work" / "out").symlink_to(target)
    result = cli(place / "work", *run_args("../exports", "out", "--force"))
    one_sentence(result, "out: exists and is not a folder (a file or a symbolic link)")
    assert (place / "work" / "out").is_symlink() and (target / "run.json").is_file()


# ---------------------------------------------------------------- item 8: --force-sent

def send_journal(out: Path) -> None:
    """What `send` leaves in a folder: delivery/sent.jsonl with an accepted letter."""
    (out / "delivery").mkdir()
    (out / "delivery" / "sent.jsonl").write_text(json.dumps(
        {"letter_id": "DL-20261124-0000000000", "status": "accepted", "attempt": 1}) + "\n")


def void_a_letter(out: Path) -> None:
    """A real `void` of the folder's letter: voids.jsonl and voids/VOID-.../."""
    letter_id = duckdb.connect().execute("SELECT letter_id FROM read_parquet($p)",
                                         {"p": str(out / "letters.parquet")}).fetchone()[0]
    result = cli(out.parent, "void", out.name, letter_id, "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("record, named", [(send_journal, "delivery/sent.jsonl"),
                                           (void_a_letter, "voids.jsonl, voids")])
def test_force_over_a_sent_or_voided_folder_needs_force_sent(place, record, named):
    """Replacing the folder would lose the journal, and the next `send` would mail every letter again."""
    out = finished_run(place)
    record(out)
    before = snapshot(out)
    refused = cli(place / "work", *run_args("../exports", "out", "--force"))
    one_sentence(refused, f"out: letters of this folder were sent or voided ({named})", "--force-sent")
    assert snapshot(out) == before

    replaced = cli(place / "work", *run_args("../exports", "out", "--force-sent"))
    assert replaced.returncode == 0, replaced.stderr
    assert not (out / "delivery").exists() and not (out / "voids.jsonl").exists()
    assert (out / "run.json").is_file()


def test_force_sent_still_refuses_a_folder_with_a_stranger(place):
    out = finished_run(place)
    send_journal(out)
    (out / "delivery" / "notes.txt").write_text(NOTE)
    result = cli(place / "work", *run_args("../exports", "out", "--force-sent"))
    one_sentence(result, "out: holds delivery/notes.txt, which no run writes")
    assert (out / "delivery" / "notes.txt").read_text() == NOTE


def test_force_sent_is_documented_in_help():
    result = CliRunner().invoke(main, ["run", "--help"])
    text = " ".join(result.output.split())
    assert "--force-sent" in text and "send journal" in text and "mails every letter again" in text


# ------------------------------------------------------------------- item 10: synth --out

def test_synth_refuses_a_folder_that_is_not_empty_and_with_force_replaces_only_its_files(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "notes.txt").write_text(NOTE)
    (export / "open_items.csv").write_text("yesterday's real export\n")
    before = snapshot(export)
    refused = cli(tmp_path, "synth", "--customers", "3", "--out", "export", "--format", "csv")
    one_sentence(refused, "export: the folder exists and is not empty", "--force")
    assert snapshot(export) == before

    forced = cli(tmp_path, "synth", "--customers", "3", "--out", "export", "--format", "csv", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in export.iterdir()) == ["customers.csv", "notes.txt", "open_items.csv"]
    assert (export / "notes.txt").read_text() == NOTE
    assert (export / "open_items.csv").read_text().startswith("doc_id,customer_id,")
    assert (export / "customers.csv").read_text().count("\nC0000000") == 3  # three customers


def test_synth_writes_into_a_new_or_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    for out in ("empty", "new/export"):
        result = cli(tmp_path, "synth", "--customers", "2", "--out", out)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in (tmp_path / out).iterdir()) == ["customers.parquet", "open_items.parquet"]


def test_synth_on_a_full_disk_leaves_no_half_written_file(tmp_path, monkeypatch):
    import polars as pl

    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"doc_id,cust")  # the first bytes made it, then the disk was full
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pl.DataFrame, "write_csv", full)
    result = CliRunner().invoke(main, ["synth", "--customers", "2", "--out", str(tmp_path / "x"), "--format", "csv"])
    assert result.exit_code == 2 and "no space left on the device" in result.stderr, result.output
    assert list((tmp_path / "x").iterdir()) == []


# ---------------------------------------------- item 17: full, read-only, mount point

@contextlib.contextmanager
def tmpfs(where: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    """A real tmpfs of `size` mounted at `where` (read-only after `prepare`), or the test is skipped."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True, timeout=30)


def test_a_full_disk_is_one_sentence_and_leaves_nothing(place):
    with tmpfs(place / "work" / "disk", "48k") as disk:
        result = cli(disk, *run_args("../../exports", "out"))
        one_sentence(result, "out: cannot write the output folder: no space left on the device",
                     "nothing was written")
        assert list(disk.iterdir()) == [], "a half-written folder was left on the full disk"


def test_a_read_only_parent_is_one_sentence(place):
    with tmpfs(place / "work" / "ro", "1m") as disk:
        remount_read_only(disk)
        result = cli(place / "work", *run_args("../exports", "ro/out"))
        one_sentence(result, "ro/out: cannot write the output folder: the file system is read-only")


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_mount_point_as_out_is_refused(place, force):
    """A mount point cannot be renamed onto (EBUSY): refused before any work, with or without --force."""
    with tmpfs(place / "work" / "mnt", "1m") as disk:
        (disk / "keep.txt").write_text(NOTE)
        result = cli(place / "work", *run_args("../exports", "mnt", *force))
        one_sentence(result, "mnt: is a mount point", "give a new folder inside it")
        assert [p.name for p in disk.iterdir()] == ["keep.txt"]
        assert sorted(p.name for p in (place / "work").iterdir()) == ["mnt"]


# The portable versions: the operating system's error injected where the folder is written.

@pytest.mark.parametrize("code, said", [(errno.ENOSPC, "no space left on the device"),
                                        (errno.EROFS, "the file system is read-only"),
                                        (errno.EACCES, "permission denied")])
def test_an_os_error_while_writing_is_one_sentence_and_leaves_nothing(place, monkeypatch, code, said):
    def refused(con, folder, files):
        (folder / "letters.parquet").write_bytes(b"PAR1")  # half a file, then the error
        raise OSError(code, os.strerror(code), str(folder / "letters.parquet"))

    monkeypatch.setattr(run_module, "write_data_files", refused)
    monkeypatch.chdir(place / "work")
    result = CliRunner().invoke(main, run_args("../exports", "out"))
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"out: cannot write the output folder: {said}") and "nothing was written" in line
    assert list((place / "work").iterdir()) == []


def test_duckdb_running_out_of_space_is_one_sentence(place, monkeypatch):
    def full(con, folder, files):
        raise duckdb.IOException(f'IO Error: Could not write file "{folder}/decisions.parquet": '
                                 f'No space left on device')

    monkeypatch.setattr(run_module, "write_data_files", full)
    monkeypatch.chdir(place / "work")
    result = CliRunner().invoke(main, run_args("../exports", "out"))
    assert result.exit_code == 2 and "no space left on the device" in result.stderr, result.output
    assert list((place / "work").iterdir()) == []


def test_a_mount_point_refusing_the_rename_is_one_sentence(place, monkeypatch):
    """Should a busy target slip past the checks, the rename's EBUSY is still one sentence."""
    real_rename = Path.rename

    def busy(self, target):
        if self.name == "out":
            raise OSError(errno.EBUSY, "Device or resource busy", str(self))
        return real_rename(self, target)

    monkeypatch.chdir(place / "work")
    assert CliRunner().invoke(main, run_args("../exports", "out")).exit_code == 0
    monkeypatch.setattr(Path, "rename", busy)
    result = CliRunner().invoke(main, run_args("../exports", "out", "--force"))
    assert result.exit_code == 2, result.output
    assert "cannot be renamed onto it" in result.stderr and "Traceback" not in result.output
    assert (place / "work" / "out" / "run.json").is_file()
    assert sorted(p.name for p in (place / "work").iterdir()) == ["out"]


def test_an_out_name_too_long_for_the_hidden_working_folder_is_one_sentence(place):
    """A probe's --out of 250 characters: the file system took the name, but not the hidden
    `.NAME.partial-PID` the run writes first (exit 3, "File name too long")."""
    long, fits = "L" * 250, "F" * 238
    result = cli(place / "work", *run_args("../exports", long))
    one_sentence(result, f"{long}: a name of 250 bytes", "choose a name of at most 238 bytes")
    assert sorted(p.name for p in (place / "work").iterdir()) == []
    assert cli(place / "work", *run_args("../exports", fits)).returncode == 0
    assert (place / "work" / fits / "run.json").is_file()


def test_the_folder_a_run_wrote_is_printed_escaped(place):
    """A probe's --out holding a newline and ESC [31m came back raw in "written to ...": a forged
    line and a recoloured terminal."""
    name = "tty\nline\x1b[31mRED"
    result = cli(place / "work", *run_args("../exports", name))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert result.stdout.splitlines()[-1] == "written to tty\\nline\\x1b[31mRED"
