"""Serve deployments until the first Ctrl-C or SIGTERM, and then stop within seconds.

``prefect.serve`` ignored Ctrl-C and SIGTERM for minutes: Prefect's runner replaces the SIGTERM
handler with its own graceful shutdown, which pauses every schedule and waits on the API,
while a Ctrl-C also reached the temporary API server (same process group) so that shutdown
kept retrying a dead server. Here the runner runs on its own event loop in a daemon thread,
the main thread owns both signals, and the first one asks the runner to stop (cancelling its
in-flight runs) and waits at most ``shutdown_timeout_s`` (10 s) for it; if the runner is still
busy then, the process leaves it behind: the thread is a daemon, and the exit hooks (which
stop our temporary API server, see :mod:`flows.orchestration.runtime`) run as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["SHUTDOWN_TIMEOUT_S", "serve_until_signal"]

SHUTDOWN_TIMEOUT_S = 10.0
_POLL_S = 0.2
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _RunnerThread(threading.Thread):
    """Prefect's runner on its own event loop; keeps the error it ended with, if any."""

    def __init__(self, runner: Any) -> None:
        super().__init__(name="replenish-serve-runner", daemon=True)
        self.runner = runner
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self.runner.start())
        except BaseException as err:  # reported by the main thread
            self.error = err

    def request_stop(self) -> None:
        """Ask the runner, on its own loop, to cancel its runs and stop polling."""
        loop = getattr(self.runner, "_loop", None)
        if loop is None or not self.runner.started or loop.is_closed():
            return
        self.runner.stopping = True
        with contextlib.suppress(RuntimeError):  # its loop closed meanwhile: stopping anyway
            asyncio.run_coroutine_threadsafe(self.runner.astop(), loop)


def serve_until_signal(
    *deployments: Any,
    shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S,
    limit: int | None = None,
    announce: Callable[[str], None] | None = None,
) -> int | None:
    """Serve ``deployments`` (Prefect ``RunnerDeployment`` objects) until SIGINT or SIGTERM.

    Returns the number of the signal that stopped it, or None when the runner ended by
    itself; re-raises the runner's error if it failed. ``announce`` receives one line once the
    runner is serving (default: printed to stderr). Call from the main thread.
    """
    from prefect.runner import Runner

    runner = Runner(limit=limit)
    for deployment in deployments:
        runner.add_deployment(deployment)
    received: list[int] = []

    def on_signal(number: int, _frame: FrameType | None) -> None:
        received.append(number)

    previous = {number: signal.signal(number, on_signal) for number in _STOP_SIGNALS}
    try:
        thread = _RunnerThread(runner)
        thread.start()
        _wait(thread, received, announce or _to_stderr, len(deployments))
        if received:
            _to_stderr(f"received {signal.Signals(received[0]).name}: stopping (at most "
                       f"{shutdown_timeout_s:g} s)")
            thread.request_stop()
            thread.join(shutdown_timeout_s)
            return received[0]
        if thread.error is not None and not isinstance(thread.error, KeyboardInterrupt):
            raise thread.error
        return None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _wait(thread: _RunnerThread, received: list[int], announce: Callable[[str], None],
          count: int) -> None:
    """Block until a stop signal arrives or the runner ends; announce once it serves."""
    announced = False
    while thread.is_alive() and not received:
        if not announced and thread.runner.started:
            announce(f"Serving {count} deployment(s); Ctrl-C or SIGTERM stops.")
            announced = True
        time.sleep(_POLL_S)  # signal handlers run between sleeps


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
