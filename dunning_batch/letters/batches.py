"""An output folder's letters as render contexts (from its files alone) and how they are
cut into batches; letters/pool.py renders the batches over worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..outputs.folder import connect_views, read_manifest
from ..sql_runner import one, relation

BATCH_SIZE = 60  # letters per WeasyPrint document: spreads write_pdf's fixed cost
# Lines per WeasyPrint layout. A layout holds about 100 KiB per line until it is written, so
# this bounds a render process's memory (1,000 lines: about 100 MiB above its 190 MiB base):
# a batch takes no letter that would carry it past this, and a longer letter is laid out
# alone, in parts of this many lines (letters/render.py).
BATCH_LINES = 1000
# A letter's printed lines in the order its PDF shows them: the table, then the blocks below it.
PRINTED_LINES = ("lines", "interest_lines", "late_interest_lines", "compensation_lines")


def letter_contexts(folder: Path, letter_id: str | None = None) -> list[dict[str, Any]]:
    """One dict per letter with its lines, interest lines and actions (sql/letters/letter_context.sql);
    with `letter_id`, the letters of its render batch."""
    if letter_id is None:
        return _contexts(folder, None)
    [(ids, sizes)] = [(ids, sizes) for ids, sizes in render_plan(folder) if letter_id in ids]
    contexts = _contexts(folder, ids)
    if [printed_lines(c) for c in contexts] != sizes:  # the plan counts what batches_of counts
        raise RuntimeError(f"letter_sizes.sql and letter_context.sql disagree on the lines of {ids}")
    return contexts


def _contexts(folder: Path, letter_ids: list[str] | None) -> list[dict[str, Any]]:
    """sql/letters/letter_context.sql over the folder's views (an empty interest_documents where the
    run posted no interest: the views stand in for §9 documents a folder lacks)."""
    return relation(connect_views(folder), "letters/letter_context", {"letter_ids": letter_ids}).to_arrow_table().to_pylist()


def render_plan(folder: Path) -> list[tuple[list[str], list[int]]]:
    """The render batches of a folder's letters: their ids and printed lines (sql/letters/letter_sizes.sql)."""
    table = relation(connect_views(folder), "letters/letter_sizes").to_arrow_table()
    ids, sizes = table["letter_id"].to_pylist(), table["line_rows"].to_pylist()
    return [(ids[start:stop], sizes[start:stop]) for start, stop in plan_batches(sizes)]


def plan_batches(line_rows: list[int]) -> list[tuple[int, int]]:
    """Cut letters (in letter id order, by their printed lines) into render batches, as
    (start, stop) slices: consecutive letters, at most BATCH_SIZE of them and, unless one
    letter alone is longer, at most BATCH_LINES lines. A loop over letters, not lines."""
    bounds, start, lines = [], 0, 0
    for i, rows in enumerate(line_rows):
        if i > start and (i - start == BATCH_SIZE or lines + rows > BATCH_LINES):
            bounds.append((start, i))
            start, lines = i, 0
        lines += rows
    if line_rows:
        bounds.append((start, len(line_rows)))
    return bounds


def batches_of(contexts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The render batches, by letter id order: they fix each PDF's bytes (its font subset),
    so every way of rendering (processes, Dask, `render --letter`) must use these."""
    return [contexts[start:stop] for start, stop in plan_batches([printed_lines(c) for c in contexts])]


def printed_lines(letter: dict[str, Any]) -> int:
    """The lines a letter prints: its rows of letter_lines (as sql/letters/letter_sizes.sql counts them)."""
    return sum(len(letter[key]) for key in PRINTED_LINES)


def has_letter(folder: Path, letter_id: str) -> bool:
    [found] = one(connect_views(folder), "letters/has_letter", {"id": letter_id})
    return found


def sender_of(folder: Path) -> dict[str, Any]:
    return read_manifest(folder)["sender"]
