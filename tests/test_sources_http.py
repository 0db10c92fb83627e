"""The signals API source against a real HTTP server on 127.0.0.1 started by the tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tiny_dataset import write_tiny_dataset

from flows.config import Settings
from flows.errors import SourceError
from flows.storage.sources import fetch_signals, load_dataset
from forecasting.contract import DataContractError

TOKEN = "t0ken-abc"
TOKEN_ENV = "TEST_SIGNALS_TOKEN"
PROMOTIONS = [
    {"start": f"2025-03-0{i}", "end": f"2025-03-0{i + 1}", "kind": "flash", "sku": "SKU-1",
     "discount": 0.1 * i}
    for i in range(1, 6)
]


class FakeSignalsAPI(ThreadingHTTPServer):
    """A real HTTP server whose answers each test scripts: rows per table, failures, delays."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.rows: dict[str, list[dict[str, Any]]] = {"promotions": PROMOTIONS, "livestreams": []}
        self.page_size = 2
        self.failures: list[int] = []  # statuses to answer before answering normally
        self.delay_s = 0.0
        self.seen: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeSignalsAPI

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        api = self.server
        parts = urlsplit(self.path)
        api.seen.append((self.path, self.headers.get("Authorization")))
        if api.delay_s:
            time.sleep(api.delay_s)
        if api.failures:
            status = api.failures.pop(0)
            self._send(status, {"error": "busy"}, {"Retry-After": "0"} if status == 429 else None)
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"error": "unauthorized"})
            return
        table = parts.path.rsplit("/", 1)[-1]
        if table not in api.rows:
            self._send(404, {"error": "no such table"})
            return
        page = int(parse_qs(parts.query).get("page", ["0"])[0])
        rows = api.rows[table]
        start = page * api.page_size
        more = start + api.page_size < len(rows)
        self._send(200, {"items": rows[start:start + api.page_size],
                         "next": f"{table}?page={page + 1}" if more else None})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSignalsAPI]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    server = FakeSignalsAPI()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _fetch(api: FakeSignalsAPI, cache: Path, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"token_env": TOKEN_ENV, "retries": 2, "backoff_s": 0.01,
                               "timeout_s": 2.0, **kwargs}
    return fetch_signals(api.url, cache_dir=cache, **options)


def test_pages_are_followed_with_the_bearer_token(api: FakeSignalsAPI, tmp_path: Path) -> None:
    result = _fetch(api, tmp_path)
    frame, source = result.tables["promotions"]
    assert source == "api:promotions"
    assert frame["start"].tolist() == [p["start"] for p in PROMOTIONS]
    promotion_pages = [path for path, _ in api.seen if "promotions" in path]
    assert promotion_pages == ["/v1/promotions", "/v1/promotions?page=1",
                               "/v1/promotions?page=2"]
    assert {auth for _, auth in api.seen} == {f"Bearer {TOKEN}"}
    # An empty schedule is valid data, not an error.
    assert result.tables["livestreams"][0].empty
    assert "channel" in result.tables["livestreams"][0].columns
    assert result.warnings == []
    cached = json.loads((tmp_path / "promotions.json").read_text(encoding="utf-8"))
    assert cached["items"] == PROMOTIONS


def test_wrong_token_names_the_variable_not_the_secret(
    api: FakeSignalsAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "wrong-secret-value")
    with pytest.raises(SourceError) as err:
        _fetch(api, tmp_path)
    message = str(err.value)
    assert "HTTP 401" in message and TOKEN_ENV in message
    assert "wrong-secret-value" not in message
    assert len(api.seen) == 1  # a refused token is not retried


@pytest.mark.parametrize("status", [503, 429])
def test_transient_failures_are_retried(api: FakeSignalsAPI, tmp_path: Path,
                                        status: int) -> None:
    api.failures = [status, status]
    result = _fetch(api, tmp_path, tables=("promotions",))
    assert len(result.tables["promotions"][0]) == len(PROMOTIONS)
    assert [path for path, _ in api.seen[:3]] == ["/v1/promotions"] * 3


def test_slow_api_times_out_with_a_clear_error(api: FakeSignalsAPI, tmp_path: Path) -> None:
    api.delay_s = 1.0
    started = time.perf_counter()
    with pytest.raises(SourceError, match=r"did not answer within 0.2 s.*after 2 attempts"):
        _fetch(api, tmp_path, timeout_s=0.2, retries=1)
    assert time.perf_counter() - started < 1.5  # two short timeouts, not two full answers


def test_api_down_keeps_the_last_good_data(api: FakeSignalsAPI, tmp_path: Path) -> None:
    _fetch(api, tmp_path)
    cache_file = tmp_path / "promotions.json"
    last_good = cache_file.read_bytes()

    api.failures = [503] * 100
    with pytest.raises(SourceError) as err:
        _fetch(api, tmp_path)
    message = str(err.value)
    assert "HTTP 503" in message and "gave up after 3 attempts" in message
    assert "last good promotions" in message
    assert cache_file.read_bytes() == last_good

    result = _fetch(api, tmp_path, use_last_good=True)
    frame, source = result.tables["promotions"]
    assert source == "api-cache:promotions"
    assert frame["start"].tolist() == [p["start"] for p in PROMOTIONS]
    assert any("using the last good promotions" in w for w in result.warnings)
    assert cache_file.read_bytes() == last_good


def test_unreachable_api_without_cache_is_a_clear_error(tmp_path: Path) -> None:
    server = FakeSignalsAPI()  # bound, then closed: nothing listens on its port any more
    url = server.url
    server.server_close()
    with pytest.raises(SourceError, match=r"cannot connect to .*no last good promotions"):
        fetch_signals(url, ("promotions",), cache_dir=tmp_path, retries=1, backoff_s=0.01,
                      use_last_good=True)


def test_rows_breaking_the_contract_are_not_cached(api: FakeSignalsAPI, tmp_path: Path) -> None:
    _fetch(api, tmp_path)
    last_good = (tmp_path / "promotions.json").read_bytes()
    api.rows["promotions"] = [{"start": "2025-03-05", "end": "2025-03-01", "kind": "flash"}]
    with pytest.raises(DataContractError) as err:
        _fetch(api, tmp_path)
    [problem] = err.value.problems
    assert (problem.source, problem.row, problem.column) == ("api:promotions", 2, "end")
    assert (tmp_path / "promotions.json").read_bytes() == last_good


def test_load_dataset_merges_api_signals_over_the_folder(
    api: FakeSignalsAPI, tmp_path: Path
) -> None:
    folder = write_tiny_dataset(tmp_path / "data")
    settings = Settings.model_validate({
        "data": {"folder": folder, "signals_url": api.url, "signals_token_env": TOKEN_ENV},
        "store_url": f"sqlite:///{tmp_path / 'store' / 'runs.db'}",
    })
    dataset, summary = load_dataset(settings)
    assert len(dataset.demand.promotions) == len(PROMOTIONS)  # the folder had one
    assert dataset.demand.livestreams.empty
    assert "signals API" in summary
    assert (tmp_path / "store" / "signals" / "promotions.json").exists()
