"""An output folder's letters as render contexts (from its files alone) and how they are
cut into batches; letters/pool.py renders the batches over worker processes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..outputs.folder import connect_views, read_manifest
from ..sql_runner import one, relation

BATCH_SIZE = 60  # letters per WeasyPrint document at most: spreads a document's fixed cost
# Lines per WeasyPrint layout. A layout holds about 100 KiB per line until it is written, so
# this bounds a render process's memory (1,000 lines: about 100 MiB above its 190 MiB base):
# a batch takes no letter that would carry it past this, and a longer letter is laid out
# alone, in parts of this many lines (letters/render.py).
BATCH_LINES = 1000
# A letter's printed lines in the order its PDF shows them: the table, then the blocks below it.
PRINTED_LINES = ("lines", "interest_lines", "late_interest_lines", "compensation_lines")
# what sql/letters/letter_context.sql reads of a folder
CONTEXT_RELATIONS = ("letters", "letter_lines", "recipients", "customer_actions", "interest_documents")


def letter_contexts(folder: Path, letter_id: str | None = None) -> list[dict[str, Any]]:
    """One dict per letter with its lines, interest lines and actions (sql/letters/letter_context.sql);
    with `letter_id`, that letter's alone (a letter's PDF does not depend on its batch: letters/render.py)."""
    return relation(connect_views(folder, relations=CONTEXT_RELATIONS), "letters/letter_context",
                    {"letter_ids": None if letter_id is None else [letter_id]}).to_arrow_table().to_pylist()


def plan_batches(line_rows: list[int], workers: int = 1) -> list[tuple[int, int]]:
    """Cut letters (in letter id order, by their printed lines) into render batches, as
    (start, stop) slices: consecutive letters, at most batch_size() of them and, unless one
    letter alone is longer, at most BATCH_LINES lines. A loop over letters, not lines."""
    size = batch_size(len(line_rows), workers)
    bounds, start, lines = [], 0, 0
    for i, rows in enumerate(line_rows):
        if i > start and (i - start == size or lines + rows > BATCH_LINES):
            bounds.append((start, i))
            start, lines = i, 0
        lines += rows
    if line_rows:
        bounds.append((start, len(line_rows)))
    return bounds


def batch_size(letters: int, workers: int) -> int:
    """Letters per batch: as many batches as a multiple of `workers`, as even as they come, of at
    most BATCH_SIZE letters. So 100 letters on 2 workers are 50 + 50, not 60 + 40, and 30 are
    15 + 15, not one batch that leaves a worker idle: a letter's PDF does not depend on its
    batch (letters/render.py), and a smaller batch costs only its document's fixed cost (about
    50 ms, against about 75 ms a letter)."""
    rounds = max(1, math.ceil(letters / (BATCH_SIZE * workers)))
    return max(1, math.ceil(letters / (rounds * workers)))


def batches_of(contexts: list[dict[str, Any]], workers: int = 1) -> list[list[dict[str, Any]]]:
    """The render batches of `contexts` for `workers` processes, in letter id order."""
    return [contexts[start:stop] for start, stop in plan_batches([printed_lines(c) for c in contexts], workers)]


def printed_lines(letter: dict[str, Any]) -> int:
    """The lines a letter prints: its rows of letter_lines and its interest lines."""
    return sum(len(letter[key]) for key in PRINTED_LINES)


def has_letter(folder: Path, letter_id: str) -> bool:
    [found] = one(connect_views(folder, relations=("letters",)), "letters/has_letter", {"id": letter_id})
    return found


def sender_of(folder: Path) -> dict[str, Any]:
    return read_manifest(folder)["sender"]
