"""Prefect's environment for ``replenish run`` / ``serve`` / ``demo``, set before Prefect loads.

Prefect reads its settings from the environment when it is first imported, so this module
must not import Prefect itself (nor, to stay quick to import, the forecasting core). Values
already in the environment win: an operator pointing ``PREFECT_API_URL`` at a server, or
raising the log level, keeps that choice.

The temporary server. Without an API URL, Prefect 3 starts a temporary local server itself
(``prefect.server.api.server.SubprocessASGIServer``: uvicorn in a subprocess, stopped by an
``atexit`` hook). A ``kill -9`` of the run skips that hook and left the server (about 230 MB)
running, orphaned; a Ctrl-C reached it with the rest of the terminal's process group, so the
runner's shutdown then waited minutes on a dead API. :func:`start_temporary_server` starts the
same server (same command, same settings) as our own child instead: in its own session (a
Ctrl-C to the job does not reach it; we stop it last), and tied to this process's life with
Linux's ``prctl(PR_SET_PDEATHSIG, SIGTERM)``, so it ends when we end, however we end.
``PREFECT_API_URL`` then points at it, and Prefect starts nothing of its own.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PREFECT_DEFAULTS",
    "TemporaryServer",
    "UserErrorTracebacks",
    "api_url_configured",
    "environment",
    "prepare_prefect_environment",
    "start_temporary_server",
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
        from flows.errors import UserError
        from forecasting.contract import DataContractError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, UserError | DataContractError):
            record.exc_info = None
            record.exc_text = None
        return True


def prepare_prefect_environment(start_server: bool = True) -> None:
    """Set quiet, bounded defaults for Prefect unless the environment already has them, and
    (``start_server``) start the temporary server as our own child when no API is configured
    (see the module's notes)."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if start_server and not api_url_configured():
        server = start_temporary_server()
        os.environ["PREFECT_API_URL"] = server.api_url
        if "prefect.context" in sys.modules:
            # Prefect already read its settings when imported: have it read them again.
            from prefect.context import refresh_global_settings_context

            refresh_global_settings_context()
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


_PR_SET_PDEATHSIG = 1
_STARTUP_TIMEOUT_S = 120.0  # the server imports all of Prefect: ~20 s on a busy 2-core box
_STOP_TIMEOUT_S = 10.0
_PORT_IN_USE = 3  # uvicorn's exit code when its port was taken meanwhile
# What Prefect sets for its own temporary server (SubprocessASGIServer._run_uvicorn_command).
_SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1"}


def api_url_configured() -> bool:
    """Whether Prefect already has an API to talk to: ``PREFECT_API_URL`` in the environment,
    the active profile or ``prefect.toml``, or (Prefect already imported, e.g. under its test
    harness) the current settings."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect.settings" in sys.modules:
        from prefect.settings import get_current_settings

        return bool(get_current_settings().api.url)
    return bool(_profile_api_url() or _toml_api_url())


def _profile_api_url() -> str | None:
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or document.get("active", "ephemeral")
    profile = document.get("profiles", {}).get(active, {})
    return profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None


def _toml_api_url() -> str | None:
    try:
        document = tomllib.loads(Path("prefect.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    api = document.get("api", {})
    return api.get("url") if isinstance(api, dict) else None


@dataclass
class TemporaryServer:
    """Prefect's temporary API server, run as a child that cannot outlive this process."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``) and reap it."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_temporary_server(timeout_s: float | None = None) -> TemporaryServer:
    """Start Prefect's API server on a free loopback port as a child of this process and wait
    until it answers; it is stopped at exit and, on Linux, by the kernel if we die first.

    Call from the main thread: Linux sends the death signal when the *thread* that started
    the child ends. Raises :class:`RuntimeError` if it does not answer within ``timeout_s``
    (default ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``, at least 120 s).
    """
    configured = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 0))
    wait_s = timeout_s if timeout_s is not None else max(configured, _STARTUP_TIMEOUT_S)
    deadline = time.monotonic() + wait_s
    while True:
        server = TemporaryServer(_spawn(port := _free_port()), port)
        atexit.register(server.stop)
        code = _wait_healthy(server, deadline)
        if code is None:
            return server
        atexit.unregister(server.stop)
        if code != _PORT_IN_USE or time.monotonic() >= deadline:
            server.stop()
            raise RuntimeError(
                f"Prefect's temporary server did not start on port {port} within {wait_s:g} s "
                f"(exit code {code}); set PREFECT_API_URL to a running Prefect server instead"
            )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(port: int) -> subprocess.Popen[bytes]:
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise RuntimeError("Prefect is not installed")
    package_parent = Path(spec.origin).parent.parent
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(package_parent), "--factory",
               "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port",
               str(port), "--log-level", "error", "--lifespan", "on",
               "--timeout-graceful-shutdown", "5"]
    return subprocess.Popen(command, env={**os.environ, **_SERVER_ENV},
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=_die_with_parent(os.getpid()))


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send the child SIGTERM when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _wait_healthy(server: TemporaryServer, deadline: float) -> int | None:
    """None once the server answers its health check, else its exit code (-1: timed out)."""
    url = f"{server.api_url}/health"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            return code
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return None
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return -1
