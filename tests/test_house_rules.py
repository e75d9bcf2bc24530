"""No rule of SPEC §4 or §9 is computed in Python: outside the config package (which checks
the config and turns it into the cfg_* tables the SQL stages join), no module reaches a
policy, a level or their settings, and none keeps its own list of document types.

A rule changed in its SQL stage then changes every output and every explanation with it;
a copy of the rule in Python would keep telling the old story.
"""

from __future__ import annotations

import ast
from pathlib import Path

from dunning_batch.config import model

PACKAGE = Path(model.__file__).resolve().parent.parent
# How Python reaches the rules: the config's policies (and their levels), or run.json's copy.
RULE_ATTRIBUTES = {"policies", "levels", "customer_classes"}
RULE_KEYS = {"policies"}


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "config" not in p.relative_to(PACKAGE).parts]


def _findings(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in RULE_ATTRIBUTES:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "policy":
            found.append(f"{node.lineno}: .policy()")
        elif isinstance(node, ast.Constant) and node.value in RULE_KEYS:
            found.append(f"{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in model.DOC_TYPES \
                and not path.name == "synth.py":
            found.append(f"{node.lineno}: document type {node.value!r}")
    return found


def test_no_module_outside_config_reaches_a_rule():
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}" for path in _modules() for line in _findings(path)]
    assert not found, "rules reached in Python (they belong in sql/, fed by the cfg_* tables):\n" + "\n".join(found)


def test_the_check_finds_a_rule_read_in_python(tmp_path):
    # the check itself can fail: a module that reads a level's days and names a type is caught
    module = tmp_path / "rule.py"
    module.write_text("def due(config):\n    return config.policies[0].levels[0].days_past_due + config.policy('a').x\n"
                      "RAISING = ('invoice', 'fee')\n", encoding="utf-8")
    assert sorted(line.split(":")[0] for line in _findings(module)) == ["2", "2", "2", "3", "3"]
