"""SQL is run from one place: no module of dunning_batch/ but sql_runner.py builds SQL text,
opens a DuckDB connection or reads the folder of SQL files (issue 16).

An AST scan of every module: it fails on an f-string, `%`-format or `.format` whose literal
text holds a SQL keyword, on `duckdb.connect`, on any use of SQL_DIR, and on a plain string
literal that is a SQL statement (SQL belongs in a file of sql/). Each finding names file:line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dunning_batch"

ALLOWED: set[str] = set()  # no module but sql_runner writes SQL

# A keyword anywhere in formatted text: as a whole word, in upper case.
SQL_WORD = re.compile(r"\b(SELECT|FROM|CREATE|COPY|ALTER|DESCRIBE|INSERT|DROP|ATTACH|SET|PRAGMA|UNION|CASE|REPLACE|EXCLUDE|read_csv|read_parquet)\b")
# A plain literal that is a statement: it starts with a statement's keyword, and more follows.
SQL_STATEMENT = re.compile(
    r"^\s*(SELECT|WITH|CREATE|COPY|ALTER|DESCRIBE|INSERT|UPDATE|DELETE|DROP|ATTACH|DETACH|SET|RESET|"
    r"PRAGMA|INSTALL|LOAD|EXPORT|IMPORT|SUMMARIZE|SHOW|EXPLAIN|FROM)\s+\S")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "sql_runner.py" or p.parent != PACKAGE)


def _literal_text(node: ast.AST) -> str:
    """The constant text of a formatted string: the parts of an f-string, or the string itself."""
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def _messages(tree: ast.Module) -> set[int]:
    """ids of the f-strings a `raise` words its error with: text for a person, never run."""
    return {id(node) for raised in ast.walk(tree) if isinstance(raised, ast.Raise) and raised.exc is not None
            for node in ast.walk(raised.exc) if isinstance(node, ast.JoinedStr)}


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes: prose, not SQL."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def findings(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """Each breach of the house rule in `path`, as 'file:line: what' (file relative to `root`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(root)
    docs = _docstrings(tree)
    messages = _messages(tree)
    formatted: set[int] = set()  # string nodes already judged as part of a format
    out = []

    def report(node: ast.AST, what: str) -> None:
        out.append(f"{where}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                formatted.add(id(part))
            if id(node) not in messages and SQL_WORD.search(_literal_text(node)):
                report(node, "f-string SQL")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and SQL_WORD.search(_literal_text(node.left)):
            formatted.add(id(node.left))
            report(node, "%-formatted SQL")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "format" and SQL_WORD.search(_literal_text(func.value)):
                formatted.add(id(func.value))
                report(node, ".format SQL")
            if isinstance(func, ast.Attribute) and func.attr == "connect" \
                    and isinstance(func.value, ast.Name) and func.value.id == "duckdb":
                report(node, "duckdb.connect (use sql_runner.connect)")
        if isinstance(node, ast.Name) and node.id == "SQL_DIR":
            report(node, "SQL_DIR outside sql_runner")
        elif isinstance(node, ast.Attribute) and node.attr == "SQL_DIR":
            report(node, "SQL_DIR outside sql_runner")
        elif isinstance(node, ast.alias) and node.name == "SQL_DIR":
            out.append(f"{where}:{getattr(node, 'lineno', '?')}: SQL_DIR imported outside sql_runner")
        elif isinstance(node, ast.ImportFrom) and node.module == "duckdb" \
                and any(a.name == "connect" for a in node.names):
            report(node, "duckdb.connect imported (use sql_runner.connect)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs \
                and id(node) not in formatted and SQL_STATEMENT.match(node.value):
            report(node, f"SQL statement in a string literal ({node.value.strip()[:40]!r}): move it to sql/")
    return out


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", [p for p in _modules() if _name(p) not in ALLOWED], ids=_name)
def test_module_runs_sql_only_through_sql_runner(path: Path) -> None:
    found = findings(path)
    assert not found, "SQL outside sql_runner:\n" + "\n".join(found)


def test_the_scan_sees_each_kind_of_breach(tmp_path: Path) -> None:
    """The scan itself: each kind of breach is found, with its line; prose is not."""
    (tmp_path / "dunning_batch").mkdir()
    bad = tmp_path / "dunning_batch" / "bad.py"
    bad.write_text('"""Read the letters FROM the folder: a docstring."""\n'
                   'import duckdb\n'
                   'from .sql_runner import SQL_DIR\n'
                   'con = duckdb.connect()\n'
                   'con.execute(f"SELECT * FROM {name}")\n'
                   'con.execute("DESCRIBE %s" % name)\n'
                   'con.execute("COPY {} TO $p".format(name))\n'
                   'con.execute("SELECT count(*) FROM letters")\n'
                   'message = f"{name}: no letter found"\n'
                   'label = "Select the letters to send"\n'
                   'con.execute("RESET preserve_insertion_order")\n'
                   'raise UserError(f"{kind}: write a SELECT instead")\n', encoding="utf-8")
    found = findings(bad, tmp_path)
    assert all(f.startswith("dunning_batch/bad.py:") for f in found), found
    lines = sorted(int(f.split(":")[1]) for f in found)
    assert lines == [3, 4, 5, 6, 7, 8, 11], found


def test_the_allowlist_holds_only_modules_that_still_breach() -> None:
    """An allowed module that no longer breaches the rule leaves the allowlist (it is scanned then)."""
    paths = {_name(p): p for p in _modules()}
    assert ALLOWED <= paths.keys(), sorted(ALLOWED - paths.keys())
    clean = sorted(name for name in ALLOWED if not findings(paths[name]))
    assert not clean, f"remove from ALLOWED (they follow the rule now): {clean}"


def test_a_full_disk_met_by_sql_runner_is_still_one_sentence(tmp_path: Path) -> None:
    """sql_runner wraps DuckDB's error in a StageError naming its file; a write that runs out of
    space through it is still the sentence of outputs.guard (exit 2), other failures stay ours."""
    import duckdb

    from dunning_batch.errors import StageError, UserError
    from dunning_batch.outputs.guard import write_errors

    def failing(message: str) -> None:
        try:
            raise duckdb.IOException(message)
        except duckdb.IOException as exc:
            raise StageError(f"sql/reports/x.sql failed: {exc}") from exc

    with pytest.raises(UserError, match=r"^out: cannot write the output folder: no space left on the device"):
        with write_errors(Path("out")):
            failing('IO Error: Could not write file "out/decisions.parquet": No space left on device')
    with pytest.raises(StageError):
        with write_errors(Path("out")):
            failing("IO Error: something else")
