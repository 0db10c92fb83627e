"""Prefect's environment for ``replenish run`` / ``serve`` / ``demo``, set before Prefect loads.

Prefect reads its settings from the environment when it is first imported, so this module
must not import Prefect itself. Values already in the environment win: an operator pointing
``PREFECT_API_URL`` at a server, or raising the log level, keeps that choice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from flows.errors import UserError
from forecasting.contract import DataContractError

__all__ = [
    "PREFECT_DEFAULTS",
    "UserErrorTracebacks",
    "environment",
    "prepare_prefect_environment",
]

PREFECT_DEFAULTS = {
    # No usage telemetry from a planning job.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Without PREFECT_API_URL, Prefect starts a temporary local server: bound its startup.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    # The job prints its own progress; Prefect only speaks up about retries and failures.
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
    # The temporary server's own access log says nothing a planner needs.
    "PREFECT_LOGGING_SERVER_LEVEL": "ERROR",
}
# The loggers of Prefect's flow and task engines, which log a failed run with its traceback.
_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class UserErrorTracebacks(logging.Filter):
    """Keep the message of a run that failed on bad input or an unreachable source, drop its
    traceback: the cause is in the message, and a stack of library frames only hides it."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, UserError | DataContractError):
            record.exc_info = None
            record.exc_text = None
        return True


def prepare_prefect_environment() -> None:
    """Set quiet, bounded defaults for Prefect unless the environment already has them."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    for name in _RUN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, UserErrorTracebacks) for f in logger.filters):
            logger.addFilter(UserErrorTracebacks())


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the body, then restore each one as it was (or unset)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
