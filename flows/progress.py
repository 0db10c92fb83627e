"""Progress lines on stderr for long work: what is running, and how long each step took, in
the run's language (``locale``: a step's label is the English gettext message id)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flows.i18n import Language, language

__all__ = ["Progress"]


class Progress:
    """Prints ``[step/total] label ... done in 1.2 s`` (``[1/8] 读取数据表 ... 完成，用时 1.2 秒``
    in Chinese) and keeps the timings for the run store, keyed by the English label so they
    compare across languages."""

    def __init__(self, total: int, *, quiet: bool = False, lang: Language | None = None
                 ) -> None:
        self.total = total
        self.quiet = quiet
        self.lang = lang or language("en")
        self.timings: dict[str, float] = {}
        self._step = 0

    def say(self, message: str) -> None:
        """Print ``message`` as it is (already in the run's language)."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    @contextmanager
    def step(self, label: str, **fields: object) -> Iterator[None]:
        """Time one step; ``label`` is an English message id with ``{name}`` ``fields``."""
        self._step += 1
        prefix = f"[{self._step}/{self.total}] {self.lang.gettext(label, **fields)}"
        self.say(f"{prefix} ...")
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        self.timings[label.format(**fields) if fields else label] = round(elapsed, 3)
        self.say(f"{prefix} {self.lang.gettext('done in {seconds:.1f} s', seconds=elapsed)}")
