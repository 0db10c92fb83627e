"""Progress lines on stderr for long work: what is running, and how long each step took."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Progress"]


class Progress:
    """Prints ``[step/total] label ... done in 1.2 s`` and keeps the timings for the run store."""

    def __init__(self, total: int, *, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet
        self.timings: dict[str, float] = {}
        self._step = 0

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self._step += 1
        prefix = f"[{self._step}/{self.total}] {label}"
        if not self.quiet:
            print(f"{prefix} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        self.timings[label] = round(elapsed, 3)
        if not self.quiet:
            print(f"{prefix} done in {elapsed:.1f} s", file=sys.stderr, flush=True)
