"""House rules on the shape of the package: no import cycle between its modules (counting
imports inside functions and under TYPE_CHECKING, which hide a cycle rather than remove it),
and no module longer than MAX_LINES."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "dunning_batch"
ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400

def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__.py)."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that module `name` imports anywhere in its text (top level, in
    functions, under TYPE_CHECKING). Importing a.b.c runs the packages a.b and a first; the
    ones that enclose `name` are already running, so they are no edge."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]   # the package `name` is in
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            module = ".".join(base + (node.module.split(".") if node.module else []))
            targets.add(module)
            # `from . import x` / `from .a import b`: x and a.b may be modules themselves
            targets.update(f"{module}.{alias.name}" for alias in node.names)
    edges = set()
    for target in targets:
        parts = target.split(".")
        for n in range(1, len(parts) + 1):
            prefix = ".".join(parts[:n])
            if prefix in known and prefix != name and not name.startswith(prefix + "."):
                edges.add(prefix)
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as [a, b, ..., a], or None (depth-first search, in name order)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one_hidden_in_a_function_and_under_type_checking(tmp_path):
    """The finder itself, on a package of three modules whose cycle hides where a reader would not look."""
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "run.py").write_text("def go():\n    from .sub import distributed\n")
    (package / "sub" / "distributed.py").write_text("from .. import manifest\n")
    (package / "manifest.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                         "    from .run import Session\n")
    known = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(tmp_path).with_suffix("").parts
        known[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert find_cycle(graph) == [f"{PACKAGE}.manifest", f"{PACKAGE}.run", f"{PACKAGE}.sub.distributed",
                                 f"{PACKAGE}.manifest"]
    (package / "manifest.py").write_text("")
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert find_cycle(graph) is None


def test_no_module_is_longer_than_the_house_limit():
    long = {str(path.relative_to(ROOT)): n for path in modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"
