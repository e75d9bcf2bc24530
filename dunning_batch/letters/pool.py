"""Renders an output folder's letters: its batches over worker processes, this one among them.

Used by `run` (into the folder being written) and by `render` (re-rendering from the
outputs alone); the contexts and batches come from letters/batches.py. Progress shows on a
terminal only.
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

from .batches import batches_of, letter_contexts


# A helper pays for its start (about a second of CPU: imports, fonts) only on a night with
# letters enough: on 2 cores, 2 workers were no faster than 1 up to about 100 one-page
# letters drawn directly (about 15 ms each) and took a second more CPU; from 150 they were
# faster (3.0 s against 3.2 s, 600 letters 7.6 s against 10.6 s). Fewer letters render here alone.
HELPER_LETTERS = 100

# what a helper lays out once at its start (_start_helper): a line in each of the letters' fonts
WARM_UP = '<p style="font: 9pt \'DejaVu Sans\'">Aa 0,00 € <b>Aa 0,00 €</b></p>'


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def render_letters(folder: Path, sender: dict[str, Any], workers: int | None = None,
                   letter_id: str | None = None, on_progress: Callable[[int, int], None] | None = None,
                   pdf_dir: Path | None = None, helpers: Helpers | None = None) -> dict[str, int]:
    """Write `folder/pdf/LETTER_ID.pdf` for every letter (or one); returns pages per letter.
    With `pdf_dir`, the PDFs go there instead (`render` makes them beside the folder's own);
    with `helpers` (start_helpers), those render beside this process."""
    from .render import render_batch  # WeasyPrint is imported only by runs that render

    pdf_dir = pdf_dir or folder / "pdf"
    pdf_dir.mkdir(exist_ok=True)
    if letter_id is not None:
        return dict(render_batch(letter_contexts(folder, letter_id), sender, pdf_dir))
    return render_contexts(letter_contexts(folder), sender, pdf_dir, workers, on_progress, helpers)


class Helpers:
    """The processes that render batches beside this one, started before there is anything to
    render (`run` starts them with the run, so that their start-up, about a second each of
    imports and fonts, overlaps with DuckDB deciding the night). Closed by whoever started them;
    they also die with this process (_die_with_parent)."""

    def __init__(self, count: int):
        self.count = count
        # spawn, not fork: the parent holds DuckDB's threads, which a forked child must not inherit
        self.pool = ProcessPoolExecutor(max_workers=count, mp_context=get_context("spawn"), initializer=_start_helper)
        # a submit starts one more process while fewer than `count` run (and none is idle):
        # started here, by the thread that lives as long as the run (their parent-death signal
        # follows the thread that started them)
        for _ in range(count):
            self.pool.submit(_ready)

    def close(self) -> None:
        """Stop the helpers: batches not started are dropped, the one a helper renders is finished."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "Helpers":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def start_helpers(workers: int | None, letters: int) -> Helpers | None:
    """The `workers - 1` helper processes of a render of `letters` over `workers` processes
    (this one renders too), started now; None when this process renders alone: one worker, or
    fewer than HELPER_LETTERS letters."""
    count = (workers or default_workers()) - 1
    return Helpers(count) if count > 0 and letters >= HELPER_LETTERS else None


def render_contexts(contexts: list[dict[str, Any]], sender: dict[str, Any], pdf_dir: Path,
                    workers: int | None = None, on_progress: Callable[[int, int], None] | None = None,
                    helpers: Helpers | None = None) -> dict[str, int]:
    """Render letter contexts in batches over `workers` processes into `pdf_dir`.

    This process is one of them: it renders batches too, while a feeder thread keeps the
    `workers - 1` helpers busy: `helpers` started earlier (and left running), else started
    here. Everyone takes the next batch from one queue when done, so no process waits while
    another still has a backlog.
    """
    from .render import render_batch

    workers = workers or default_workers()
    if helpers is None and len(contexts) < HELPER_LETTERS:
        workers = 1   # this process alone, in as few batches as it takes
    pending = deque(batches_of(contexts, workers))
    pages: dict[str, int] = {}

    def record(batch_pages: list[tuple[str, int]]) -> None:
        pages.update(batch_pages)
        if on_progress:
            on_progress(len(batch_pages), len(contexts))

    if helpers is None and len(pending) > 1 and workers > 1:
        with Helpers(min(workers, len(pending)) - 1) as started:
            return render_contexts(contexts, sender, pdf_dir, workers, on_progress, started)
    busy = min(helpers.count, len(pending) - 1) if helpers is not None else 0
    if busy <= 0:
        while batch := _take(pending):
            record(render_batch(batch, sender, pdf_dir))
        return pages
    finished: SimpleQueue[Future] = SimpleQueue()
    feeder = threading.Thread(target=_feed, args=(helpers.pool, busy, pending, finished, render_batch, sender, pdf_dir))
    feeder.start()
    try:
        while batch := _take(pending):
            record(render_batch(batch, sender, pdf_dir))
            while not finished.empty():
                record(finished.get().result())
    finally:
        pending.clear()  # on an error here, the feeder submits nothing more
        feeder.join()    # and waits for the batches the helpers render: none is left writing
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


def _ready() -> None:
    """A helper's first task: nothing, once its initializer has run."""


def _start_helper() -> None:
    """A helper's start: die with the run, then import WeasyPrint and the templates and lay
    out a line in the letters' fonts (regular and bold), so that its first batch finds all
    loaded. The layout is thrown away: nothing of it reaches a PDF."""
    _die_with_parent()
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    from .render import RefuseAll
    from .templating import environment

    environment().get_template("document.html.j2")
    HTML(string=WARM_UP, url_fetcher=RefuseAll()).render(font_config=FontConfiguration())


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
