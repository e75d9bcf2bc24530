"""The seconds and rows of each stage of a run, in the order they ran: run.json's timings and
stage_rows, and what `--progress` prints as each stage ends."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator


@dataclass
class StageLog:
    """Seconds and row count per stage, in the order they ran (run.json's timings)."""

    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    on_stage: Callable[[str, int, float], None] | None = None

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Record the seconds the block takes as `name`'s: a part of the run that is no SQL
        stage (reading the inputs, writing, rendering)."""
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)
