"""The bad-input corpus (tests/bad_inputs/, SPEC §2.3, §3.5, §5): every broken export as it
would arrive, with the exact output it must produce.

Each case of tests/bad_inputs/cases.toml runs through the command line three ways:
- `run` (strict): the exit code, the output line for line, no traceback; on exit 2 nothing
  is written (no output folder, no hidden `.out.partial-*` / `.out.spill-*` beside it), on
  exit 0 the decisions the case states and a folder that `reconcile` passes;
- `run --no-strict`: a file that cannot be read as a whole still stops the run with the same
  line; a row whose values are wrong goes to rejected.parquet with the column and message of
  the strict line as its reason, the rest runs, and `reconcile OUT` passes;
- `validate`: the same lines as the strict run (or "valid" for an accepted export).
The corpus runs against tests/bad_inputs/config.toml and the good customers.csv /
open_items.csv beside it; a case's `config` keys become [input.<file>] settings.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from dunning_batch.cli import main
from dunning_batch.terminal import printable

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
AS_OF = "2026-11-24"
HELPER_FILES = {".gitattributes", "cases.toml", "config.toml", "customers.csv", "open_items.csv"}
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
ROLES = ("open_items", "customers")
NON_STRICT = ("same", "rejected", "no_crash")
# `file:row: column: message`, with the strict run's count of like rows at the end.
ROW_LINE = re.compile(r"^(?P<file>.+?):(?P<row>\d+): (?P<column>[a-z_]+): (?P<message>.+?)"
                      r"(?: \(and [\d,]+ more rows? like it: rows? [\d, .]+\))?$")


def params(cases: list[dict[str, Any]]) -> list:
    return [pytest.param(c, id=c["name"],
                         marks=[pytest.mark.xfail(strict=True, reason=c["xfail"])] if "xfail" in c else [])
            for c in cases]


# ---------------------------------------------------------------------------- helpers


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise TypeError(f"config override of type {type(value).__name__} is not supported: {value!r}")


def write_config(case: dict[str, Any], folder: Path) -> Path:
    text = (CORPUS / "config.toml").read_text(encoding="utf-8")
    if case.get("config"):
        text += f"\n[input.{case['replaces']}]\n" + "".join(
            f"{key} = {toml_value(value)}\n" for key, value in case["config"].items())
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def inputs(case: dict[str, Any]) -> tuple[Path, Path, Path]:
    """(the case's file, the open-items file, the customers file) of a run of `case`."""
    path = CORPUS / case["file"]
    items = path if case["replaces"] == "open_items" else CORPUS / "open_items.csv"
    customers = path if case["replaces"] == "customers" else CORPUS / "customers.csv"
    return path, items, customers


def invoke(case: dict[str, Any], tmp_path: Path, *extra: str, command: str = "run") -> tuple[Result, Path]:
    config = write_config(case, tmp_path)
    _, items, customers = inputs(case)
    out = tmp_path / "out"
    args = [command, "--config", str(config), "--open-items", str(items), "--customers", str(customers)]
    args += ["--as-of", AS_OF]  # validate too: the plausible dates are those around the run date
    if command == "run":
        args += ["--out", str(out), "--no-pdf", *extra]
    before = sorted(p.name for p in CORPUS.iterdir())
    result = CliRunner().invoke(main, args)
    assert sorted(p.name for p in CORPUS.iterdir()) == before, "a run wrote into tests/bad_inputs/"
    return result, out


def assert_no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output


def output_lines(result: Result) -> list[str]:
    return result.output.splitlines()


def expected_lines(case: dict[str, Any]) -> list[str]:
    path = str(CORPUS / case["file"])
    return [line.replace("{file}", path) for line in case["lines"]]


def assert_lines(case: dict[str, Any], result: Result) -> None:
    got = output_lines(result)
    assert result.stdout == "", f"exit 2 prints its problems on stderr only, stdout was {result.stdout!r}"
    if "lines_match" in case:
        path = re.escape(str(CORPUS / case["file"]))
        patterns = [re.compile(p.replace("{file}", path)) for p in case["lines_match"]]
        assert got, "no line at all"
        unmatched = [line for line in got if not any(p.fullmatch(line) for p in patterns)]
        assert not unmatched, f"lines that match none of {case['lines_match']}: {unmatched}"
    else:
        assert got == expected_lines(case)


def assert_nothing_written(tmp_path: Path, out: Path) -> None:
    """No output folder, no hidden partial or spill folder beside it: only the test's config."""
    assert not out.exists(), f"{out} was written"
    hidden = sorted(p.name for p in tmp_path.glob(f".{out.name}.*"))
    assert not hidden, f"left beside the output folder: {hidden}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def decisions(out: Path) -> dict[str, str]:
    rows = pq.read_table(out / "decisions.parquet").to_pylist()
    assert len({r["doc_id"] for r in rows}) == len(rows), "a doc_id is decided twice"
    return {r["doc_id"]: f"{r['outcome']}/{r['reason']}" for r in rows}


def rejected(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "rejected.parquet").to_pylist()


def assert_reconciles(out: Path) -> None:
    result = CliRunner().invoke(main, ["reconcile", str(out)])
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "all checks passed", result.output


def assert_complete_folder(tmp_path: Path, out: Path) -> None:
    assert (out / "run.json").is_file() and (out / "decisions.parquet").is_file()
    hidden = sorted(p.name for p in tmp_path.glob(f".{out.name}.*"))
    assert not hidden, f"left beside the output folder: {hidden}"


def assert_accepted(case: dict[str, Any], result: Result, tmp_path: Path, out: Path) -> None:
    """Exit 0: the decisions and letters the case states, a complete folder that reconciles."""
    assert result.exit_code == 0, (result.exit_code, result.output)
    assert_complete_folder(tmp_path, out)
    assert decisions(out) == case["decisions"], case["decision"]
    assert pq.read_metadata(out / "letters.parquet").num_rows == case["letters"], case["decision"]
    assert rejected(out) == []
    assert_reconciles(out)


# -------------------------------------------------------------------------- the corpus


def test_corpus_is_complete():
    """Every case names a file of the folder, every file of the folder belongs to a case."""
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "two cases share a name"
    used = {c["file"] for c in CASES}
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file()} - HELPER_FILES
    assert used - on_disk == set(), "cases whose file is missing"
    assert on_disk - used == set(), "files of tests/bad_inputs/ that no case runs"
    for case in CASES:
        assert case["replaces"] in ROLES, case["name"]
        assert case["exit"] in (0, 2), case["name"]
        assert case["non_strict"] in NON_STRICT, case["name"]
        if case["exit"] == 2:
            assert ("lines" in case) != ("lines_match" in case), case["name"]
            assert "lines_match" not in case or "xfail" in case, "only a product bug may lack its exact line"
        else:
            assert {"decision", "decisions", "letters"} <= set(case), case["name"]
        if case["non_strict"] == "rejected":
            assert ROW_LINE.match(expected_lines(case)[0]), f"{case['name']}: not a row-level line"


@pytest.mark.parametrize("case", params(CASES))
def test_strict_run(case, tmp_path):
    """`run`: exit code and exact lines, no traceback; on exit 2 nothing is written."""
    result, out = invoke(case, tmp_path)
    assert_no_traceback(result)
    if case["exit"] == 2:
        assert result.exit_code == 2, (result.exit_code, result.output)
        assert_lines(case, result)
        assert_nothing_written(tmp_path, out)
    else:
        assert_accepted(case, result, tmp_path, out)


@pytest.mark.parametrize("case", params(CASES))
def test_non_strict_run(case, tmp_path):
    """`run --no-strict`: unreadable files still stop the run; bad rows go to rejected.parquet."""
    result, out = invoke(case, tmp_path, "--no-strict")
    assert_no_traceback(result)
    mode = case["non_strict"]
    if mode == "same" and case["exit"] == 2:
        assert result.exit_code == 2, (result.exit_code, result.output)
        assert_lines(case, result)
        assert_nothing_written(tmp_path, out)
    elif mode == "same":
        assert_accepted(case, result, tmp_path, out)
    elif mode == "no_crash":
        assert result.exit_code in (0, 2), (result.exit_code, result.output)
        if result.exit_code == 0:
            assert_complete_folder(tmp_path, out)
            assert_reconciles(out)
        else:
            assert_nothing_written(tmp_path, out)
    else:
        assert_row_rejected(case, result, tmp_path, out)


def assert_row_rejected(case: dict[str, Any], result: Result, tmp_path: Path, out: Path) -> None:
    assert result.exit_code == 0, (result.exit_code, result.output)
    assert_complete_folder(tmp_path, out)
    line = ROW_LINE.match(expected_lines(case)[0])
    path, row, column, message = line["file"], int(line["row"]), line["column"], line["message"]
    rows = {r["row_number"]: r for r in rejected(out) if r["source_file"] == path}
    wanted = case.get("rejected_rows", [row])
    assert sorted(rows) == sorted(wanted), f"rejected rows of {path}: {sorted(rows)}, expected {wanted}"
    # a row with lines of its own has each of them in its reason, printed as the line prints it
    # (control characters escaped; the file keeps them); the others have the first line's column
    own = [m for m in map(ROW_LINE.match, expected_lines(case)) if m and m["file"] == path]
    for number in wanted:
        assert rows[number]["source"] == case["replaces"]
        reason = printable(rows[number]["reason"])
        for m in [m for m in own if int(m["row"]) == number] or [line]:
            assert f"{m['column']}: " in reason, reason
            assert int(m["row"]) != number or f"{m['column']}: {m['message']}" in reason, reason
        assert json.loads(rows[number]["row_text"])["_row"] == number
    assert f"{column}: {message}" in printable(rows[row]["reason"]), rows[row]["reason"]
    if case["replaces"] == "open_items":
        doc_id = json.loads(rows[row]["row_text"])["doc_id"]
        assert doc_id not in decisions(out), f"{doc_id} is both rejected and decided"
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["rejected_rows"] == len(rejected(out))
    assert_reconciles(out)


@pytest.mark.parametrize("case", params(CASES))
def test_validate_says_the_same(case, tmp_path):
    """`validate`: the strict run's lines, or "valid" for an export the run accepts; writes nothing."""
    result, out = invoke(case, tmp_path, command="validate")
    assert_no_traceback(result)
    assert result.exit_code == case["exit"], (result.exit_code, result.output)
    if case["exit"] == 2:
        assert_lines(case, result)
    else:
        assert output_lines(result) == ["valid: no problems found"]
    assert_nothing_written(tmp_path, out)
