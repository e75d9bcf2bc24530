"""`diff`: what differs between two runs' letters, level changes and decisions per reason.

Both folders' files are views in one DuckDB connection (`a_letters`, `b_letters`, ...); the
comparison is the SQL in `sql/diff/`, one file per kind of difference. This module runs it
and writes the result as a human summary or as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..outputs.folder import add_views, new_connection, read_manifest
from ..sql_runner import lock_to, records
from ..terminal import printable
from .query import cell_text

COMPARED = ("letters", "letter_lines", "decisions", "levels_update")  # the relations sql/diff/ reads
TEXT_LIMIT = 50  # rows listed per section in the human summary; JSON holds them all


@dataclass
class RunDiff:
    """The differences between run A and run B; empty lists when they agree."""

    a: dict[str, Any]
    b: dict[str, Any]
    letters: list[dict[str, Any]] = field(default_factory=list)
    level_changes: list[dict[str, Any]] = field(default_factory=list)
    reason_counts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def differ(self) -> bool:
        return bool(self.letters or self.level_changes or self.reason_counts)

    def letters_by(self, change: str) -> list[dict[str, Any]]:
        return [row for row in self.letters if row["change"] == change]

    def to_json(self) -> str:
        """The whole diff; amounts as exact decimal strings, as in run.json."""
        data = {
            "a": self.a, "b": self.b, "differ": self.differ,
            "letters": {change: self.letters_by(change) for change in ("added", "removed", "changed")},
            "level_changes": self.level_changes,
            "reason_counts": self.reason_counts,
        }
        return json.dumps(data, indent=2, default=str) + "\n"

    def to_text(self, limit: int = TEXT_LIMIT) -> str:
        lines = [printable(f"A: {self.a['folder']} (run of {self.a['as_of']})"),
                 printable(f"B: {self.b['folder']} (run of {self.b['as_of']})")]
        if self.a["as_of"] != self.b["as_of"]:
            lines.append("note: the runs are for different dates; letter ids contain the date, "
                         "so letters match only within one date")
        if not self.differ:
            return "\n".join(lines + ["no differences in letters, level changes or decisions per reason"]) + "\n"
        added, removed, changed = (self.letters_by(c) for c in ("added", "removed", "changed"))
        lines.append(f"letters: {len(added)} added, {len(removed)} removed, {len(changed)} changed")
        letter_lines = [_letter_line(row) for row in added + removed + changed]
        lines += _limited(letter_lines, limit)
        lines.append(f"level changes that differ: {len(self.level_changes)} item(s)")
        lines += _limited([_level_line(row) for row in self.level_changes], limit)
        lines.append(f"decisions per reason that differ: {len(self.reason_counts)}")
        lines += [f"  {r['outcome'] + '/' + r['reason']:<32} {r['items_a']:>7} -> {r['items_b']:<7} ({r['shift']:+d})"
                  for r in self.reason_counts]
        lines.append("the runs differ")
        return "\n".join(lines) + "\n"


def diff_runs(folder_a: str | Path, folder_b: str | Path) -> RunDiff:
    """Compare the output folders of two runs (SPEC §7 `diff`)."""
    con = new_connection()
    runs = {}
    for prefix, folder in (("a", folder_a), ("b", folder_b)):
        manifest = read_manifest(folder)
        add_views(con, folder, f"{prefix}_", COMPARED)
        runs[prefix] = {"folder": str(folder), "as_of": manifest["as_of"]}
    lock_to(con, [Path(folder_a).resolve(), Path(folder_b).resolve()])
    result = RunDiff(runs["a"], runs["b"])
    for name in ("letters", "level_changes", "reason_counts"):
        setattr(result, name, records(con, f"diff/{name}"))
    return result


def _limited(lines: list[str], limit: int) -> list[str]:
    shown = lines[:limit]
    return shown + ([f"  ... and {len(lines) - limit} more (all of them with --format json)"]
                    if len(lines) > limit else [])


def _letter_line(row: dict[str, Any]) -> str:
    head = printable(" ".join(cell_text(row[key]) for key in ("letter_id", "customer_id", "currency")))
    if row["change"] == "added":
        return (f"  + {head}: only in B, level {row['level_b']}, total due {row['total_due_b']}, "
                f"{row['line_count_b']} line(s)")
    if row["change"] == "removed":
        return (f"  - {head}: only in A, level {row['level_a']}, total due {row['total_due_a']}, "
                f"{row['line_count_a']} line(s)")
    parts = []
    if row["level_a"] != row["level_b"]:
        parts.append(f"level {row['level_a']} -> {row['level_b']}")
    if row["total_due_a"] != row["total_due_b"]:
        parts.append(f"total due {row['total_due_a']} -> {row['total_due_b']}")
    if row["lines_added"]:
        parts.append("lines added " + printable(", ".join(map(cell_text, row["lines_added"]))))
    if row["lines_removed"]:
        parts.append("lines removed " + printable(", ".join(map(cell_text, row["lines_removed"]))))
    return f"  ~ {head}: " + "; ".join(parts)


def _level_line(row: dict[str, Any]) -> str:
    def change(run: str) -> str:
        if row[f"level_after_{run}"] is None:
            return "no level change"
        return f"{row[f'level_before_{run}']} -> {row[f'level_after_{run}']}"
    item = f"{cell_text(row['doc_id'])} ({cell_text(row['customer_id'])})"
    return printable(f"  {item}: A {change('a')}, B {change('b')}")
