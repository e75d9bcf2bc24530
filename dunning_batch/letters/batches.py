"""Renders an output folder's letters: contexts from its files, batches over worker processes.

Used by `run` (into the folder being written) and by `render` (re-rendering from the
outputs alone). Progress shows on a terminal only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Callable

import duckdb

from ..outputs.folder import connect_views, read_manifest
from ..pipeline import SQL_DIR

BATCH_SIZE = 60  # letters per WeasyPrint document: spreads write_pdf's fixed cost
# Lines per WeasyPrint layout. A layout holds about 100 KiB per line until it is written, so
# this bounds a render process's memory (1,000 lines: about 100 MiB above its 190 MiB base):
# a batch takes no letter that would carry it past this, and a longer letter is laid out
# alone, in parts of this many lines (letters/render.py).
BATCH_LINES = 1000
# A letter's printed lines in the order its PDF shows them: the table, then the blocks below it.
PRINTED_LINES = ("lines", "interest_lines", "late_interest_lines", "compensation_lines")


def letter_contexts(folder: Path, letter_id: str | None = None) -> list[dict[str, Any]]:
    """One dict per letter with its lines, interest lines and actions (sql/letter_context.sql);
    with `letter_id`, the letters of its render batch."""
    sql = (SQL_DIR / "letter_context.sql").read_text(encoding="utf-8")
    if letter_id is None:
        return _context_views(folder).sql(sql, params={"letter_ids": None}).to_arrow_table().to_pylist()
    [(ids, sizes)] = [(ids, sizes) for ids, sizes in render_plan(folder) if letter_id in ids]
    contexts = _context_views(folder).sql(sql, params={"letter_ids": ids}).to_arrow_table().to_pylist()
    if [printed_lines(c) for c in contexts] != sizes:  # the plan counts what batches_of counts
        raise RuntimeError(f"letter_sizes.sql and letter_context.sql disagree on the lines of {ids}")
    return contexts


def _context_views(folder: Path) -> duckdb.DuckDBPyConnection:
    """The folder's views (interest_documents empty where the run posted no interest), as
    letter_context.sql reads them."""
    return connect_views(folder)


def render_plan(folder: Path) -> list[tuple[list[str], list[int]]]:
    """The render batches of a folder's letters: their ids and printed lines (sql/letter_sizes.sql)."""
    sql = (SQL_DIR / "letter_sizes.sql").read_text(encoding="utf-8")
    table = connect_views(folder).sql(sql).to_arrow_table()
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
    """The lines a letter prints: its rows of letter_lines (as sql/letter_sizes.sql counts them)."""
    return sum(len(letter[key]) for key in PRINTED_LINES)


def has_letter(folder: Path, letter_id: str) -> bool:
    found = connect_views(folder).execute("SELECT count(*) FROM letters WHERE letter_id = $id",
                                          {"id": letter_id}).fetchone()
    return found[0] > 0


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def render_letters(folder: Path, sender: dict[str, Any], workers: int | None = None,
                   letter_id: str | None = None, on_progress: Callable[[int, int], None] | None = None,
                   pdf_dir: Path | None = None) -> dict[str, int]:
    """Write `folder/pdf/LETTER_ID.pdf` for every letter (or one); returns pages per letter.
    With `pdf_dir`, the PDFs go there instead (`render` makes them beside the folder's own)."""
    from .render import render_batch  # WeasyPrint is imported only by runs that render

    pdf_dir = pdf_dir or folder / "pdf"
    pdf_dir.mkdir(exist_ok=True)
    if letter_id is not None:
        return dict(render_batch(letter_contexts(folder, letter_id), sender, pdf_dir, only=letter_id))
    return render_contexts(letter_contexts(folder), sender, pdf_dir, workers, on_progress)


def render_contexts(contexts: list[dict[str, Any]], sender: dict[str, Any], pdf_dir: Path,
                    workers: int | None = None, on_progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Render letter contexts in batches over `workers` processes into `pdf_dir`.

    This process is one of them: it renders batches too, while a feeder thread keeps the
    `workers - 1` spawned helpers busy. Everyone takes the next batch from one queue when
    done, so no process waits while another still has a backlog.
    """
    from .render import render_batch

    workers = workers or default_workers()
    pending = deque(batches_of(contexts))
    pages: dict[str, int] = {}

    def record(batch_pages: list[tuple[str, int]]) -> None:
        pages.update(batch_pages)
        if on_progress:
            on_progress(len(batch_pages), len(contexts))

    helpers = min(workers, len(pending)) - 1
    if helpers <= 0:
        while batch := _take(pending):
            record(render_batch(batch, sender, pdf_dir))
        return pages
    finished: SimpleQueue[Future] = SimpleQueue()
    # spawn, not fork: the parent holds DuckDB's threads, which a forked child must not inherit
    with ProcessPoolExecutor(max_workers=helpers, mp_context=get_context("spawn"),
                             initializer=_die_with_parent) as pool:
        feeder = threading.Thread(target=_feed, args=(pool, helpers, pending, finished, render_batch, sender, pdf_dir))
        feeder.start()
        try:
            while batch := _take(pending):
                record(render_batch(batch, sender, pdf_dir))
                while not finished.empty():
                    record(finished.get().result())
        finally:
            pending.clear()  # on an error here, the feeder submits nothing more
            feeder.join()
        while not finished.empty():
            record(finished.get().result())
    return pages


def _take(pending: deque) -> list[dict[str, Any]] | None:
    """The next batch, or None when all are taken (deque.popleft is atomic: no lock needed)."""
    try:
        return pending.popleft()
    except IndexError:
        return None


def _feed(pool: ProcessPoolExecutor, helpers: int, pending: deque, finished: SimpleQueue,
          render_batch: Callable, sender: dict[str, Any], pdf_dir: Path) -> None:
    """Keep each helper process on one batch at a time; hand finished futures to the renderer
    thread, which reads their results (and so raises a helper's error) itself."""
    in_flight: set[Future] = set()
    try:
        while True:
            while len(in_flight) < helpers and (batch := _take(pending)):
                in_flight.add(pool.submit(render_batch, batch, sender, pdf_dir))
            if not in_flight:
                return
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                finished.put(future)
    except BaseException as error:  # a broken pool: stop taking batches, report it as a result
        pending.clear()
        failed: Future = Future()
        failed.set_exception(error)
        finished.put(failed)


def _die_with_parent() -> None:
    """A worker must not outlive a killed run and go on writing into its hidden folder:
    ask Linux to send it SIGKILL when the parent dies (elsewhere, nothing to do)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def sender_of(folder: Path) -> dict[str, Any]:
    return read_manifest(folder)["sender"]
