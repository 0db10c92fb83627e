"""Prefect's temporary server never outlives its run, and ``serve`` stops on the first signal.

Real processes: a child Python starts the server (or serves a deployment), the test kills or
signals the child and then checks by pid and port that nothing is left behind. Each child
imports Prefect and starts its server: about 20 s on a quiet 2-core machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.orchestration import runtime
from flows.orchestration.runtime import PREFECT_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 240.0  # generous: the shared test machine can be very busy
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the death signal (prctl) is Linux-only")


def _children(pid: int) -> list[int]:
    """Pids of the live direct children of ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    """A fresh PREFECT_HOME and no API URL, so the child starts its own temporary server."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update(PREFECT_DEFAULTS)
    env.update({"PREFECT_HOME": str(tmp_path / "prefect-home"), "PYTHONPATH": str(ROOT),
                "PREFECT_PROFILES_PATH": str(tmp_path / "no-profiles.toml")})
    return env


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Children started by a test; any still running at the end is killed."""
    children: list[subprocess.Popen[str]] = []
    yield children
    for child in children:
        for pid in _children(child.pid):
            os.kill(pid, signal.SIGKILL)
        if child.poll() is None:
            child.kill()
            child.wait()


def _start(code: str, env: dict[str, str], cwd: Path,
           children: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    script = cwd / "child.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script)], cwd=cwd, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=(cwd / "child.err").open("w"),
                             start_new_session=True)  # its own process group, like a terminal job
    children.append(child)
    return child


def _read_until(child: subprocess.Popen[str], word: str, cwd: Path) -> list[str]:
    assert child.stdout is not None
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        if line.startswith(word):
            return line.split()
    errors = (cwd / "child.err").read_text(encoding="utf-8")[-2000:]
    raise AssertionError(f"child never printed {word!r}; its stderr ends with:\n{errors}")


def test_the_temporary_server_dies_with_a_killed_run(
    tmp_path: Path, child_env: dict[str, str], started: list[subprocess.Popen[str]]
) -> None:
    child = _start("""
        import os
        import time
        from flows.orchestration.runtime import prepare_prefect_environment
        prepare_prefect_environment()  # what replenish run/serve/demo call first
        print("server", os.environ["PREFECT_API_URL"].split(":")[-1].split("/")[0], flush=True)
        time.sleep(600)
    """, child_env, tmp_path, started)
    port = int(_read_until(child, "server", tmp_path)[1])
    [server] = _children(child.pid)
    assert _listening(port)
    os.kill(child.pid, signal.SIGKILL)  # kill -9 of the run: no atexit, no cleanup of ours
    child.wait()
    assert _gone_within(server, 15), f"temporary server {server} outlived its killed run"
    assert not _listening(port)


SERVE = """
    import os
    from flows.orchestration.runtime import prepare_prefect_environment
    prepare_prefect_environment()
    from prefect import flow
    from flows.orchestration.serve import serve_until_signal

    @flow
    def tick() -> None:
        pass

    if __name__ == "__main__":
        port = os.environ["PREFECT_API_URL"].split(":")[-1].split("/")[0]
        code = serve_until_signal(tick.to_deployment(name="tick", interval=3600),
                                  announce=lambda _line: print("serving", port, flush=True))
        print("stopped", code, flush=True)
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_on_the_first_signal_within_seconds(
    stop: signal.Signals, tmp_path: Path, child_env: dict[str, str],
    started: list[subprocess.Popen[str]],
) -> None:
    child = _start(SERVE, child_env, tmp_path, started)
    port = int(_read_until(child, "serving", tmp_path)[1])
    [server] = _children(child.pid)
    signalled = time.monotonic()
    # SIGINT goes to the whole process group, as Ctrl-C in a terminal does.
    if stop == signal.SIGINT:
        os.killpg(child.pid, stop)
    else:
        os.kill(child.pid, stop)
    assert _read_until(child, "stopped", tmp_path) == ["stopped", str(int(stop))]
    child.wait(timeout=15)
    assert time.monotonic() - signalled < 15
    assert child.returncode == 0
    assert _gone_within(server, 5) and not _listening(port)


def test_an_api_url_in_the_environment_or_the_profile_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "team"\n[profiles.team]\n'
                        'PREFECT_API_URL = "http://prefect.internal:4200/api"\n',
                        encoding="utf-8")
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(profiles))
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    assert runtime._profile_api_url() == "http://prefect.internal:4200/api"
    monkeypatch.setenv("PREFECT_PROFILE", "ephemeral")
    assert runtime._profile_api_url() is None
