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
from flows.storage.sources.http import SignalsLimits, cache_file
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
        self.next_link: str | None = None  # a scripted 'next' link on every page
        self.redirect_to: str | None = None  # answer every request with a 302 to here
        self.endless = False  # every page links to one more

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
        if api.redirect_to:
            self.send_response(302)
            self.send_header("Location", api.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        table = parts.path.rsplit("/", 1)[-1]
        if api.endless:
            page = int(parse_qs(parts.query).get("page", ["0"])[0])
            self._send(200, {"items": api.rows[table], "next": f"{table}?page={page + 1}"})
            return
        if table not in api.rows:
            self._send(404, {"error": "no such table"})
            return
        page = int(parse_qs(parts.query).get("page", ["0"])[0])
        rows = api.rows[table]
        start = page * api.page_size
        more = start + api.page_size < len(rows)
        nxt = api.next_link or (f"{table}?page={page + 1}" if more else None)
        self._send(200, {"items": rows[start:start + api.page_size], "next": nxt})


def _serve() -> Iterator[FakeSignalsAPI]:
    server = FakeSignalsAPI()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSignalsAPI]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    yield from _serve()


@pytest.fixture
def other_host() -> Iterator[FakeSignalsAPI]:
    """A second server on another port: another origin, which must never see the token."""
    yield from _serve()


def _promotions_cache(api: FakeSignalsAPI, cache: Path) -> Path:
    return cache_file(cache, "promotions", f"{api.url}/promotions")


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
    cached = json.loads(_promotions_cache(api, tmp_path).read_text(encoding="utf-8"))
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
    cache = _promotions_cache(api, tmp_path)
    last_good = cache.read_bytes()

    api.failures = [503] * 100
    with pytest.raises(SourceError) as err:
        _fetch(api, tmp_path)
    message = str(err.value)
    assert "HTTP 503" in message and "gave up after 3 attempts" in message
    assert "last good promotions" in message
    assert cache.read_bytes() == last_good

    result = _fetch(api, tmp_path, use_last_good=True)
    frame, source = result.tables["promotions"]
    assert source == "api-cache:promotions"
    assert frame["start"].tolist() == [p["start"] for p in PROMOTIONS]
    assert any("using the last good promotions" in w for w in result.warnings)
    assert cache.read_bytes() == last_good


def test_unreachable_api_without_cache_is_a_clear_error(tmp_path: Path) -> None:
    server = FakeSignalsAPI()  # bound, then closed: nothing listens on its port any more
    url = server.url
    server.server_close()
    with pytest.raises(SourceError, match=r"cannot connect to .*no last good promotions"):
        fetch_signals(url, ("promotions",), cache_dir=tmp_path, retries=1, backoff_s=0.01,
                      use_last_good=True)


def test_rows_breaking_the_contract_are_not_cached(api: FakeSignalsAPI, tmp_path: Path) -> None:
    _fetch(api, tmp_path)
    last_good = _promotions_cache(api, tmp_path).read_bytes()
    api.rows["promotions"] = [{"start": "2025-03-05", "end": "2025-03-01", "kind": "flash"}] * 5
    with pytest.raises(DataContractError) as err:
        _fetch(api, tmp_path)
    problem = err.value.problems[0]
    assert (problem.source, problem.row, problem.column) == ("api:promotions", 2, "end")
    assert _promotions_cache(api, tmp_path).read_bytes() == last_good


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
    assert _promotions_cache(api, tmp_path / "store" / "signals").exists()


def test_token_never_goes_to_a_next_link_of_another_origin(
    api: FakeSignalsAPI, other_host: FakeSignalsAPI, tmp_path: Path
) -> None:
    api.next_link = f"{other_host.url}/promotions?page=1"
    with pytest.raises(SourceError, match=r"another origin.*refusing to follow"):
        _fetch(api, tmp_path, tables=("promotions",))
    assert other_host.seen == []  # not asked at all, so neither the token nor its rows
    assert not _promotions_cache(api, tmp_path).exists()


def test_redirect_to_another_origin_is_refused_before_it_is_sent(
    api: FakeSignalsAPI, other_host: FakeSignalsAPI, tmp_path: Path
) -> None:
    api.redirect_to = f"{other_host.url}/promotions"
    with pytest.raises(SourceError, match="not the configured origin"):
        _fetch(api, tmp_path, tables=("promotions",))
    assert other_host.seen == []
    assert TOKEN not in str(api.seen[1:])  # one request: the redirect was not followed


@pytest.mark.parametrize(("limits", "expected"), [
    (SignalsLimits(max_pages=5), r"more than 5 pages"),
    (SignalsLimits(max_bytes=2_000), r"larger than 0.002 MB"),
    (SignalsLimits(max_seconds=0.3), r"longer than 0.3 s"),
])
def test_paging_is_bounded_by_pages_bytes_and_time(
    api: FakeSignalsAPI, tmp_path: Path, limits: SignalsLimits, expected: str
) -> None:
    api.endless = True  # an API whose 'next' never ends
    api.delay_s = 0.05
    started = time.perf_counter()
    with pytest.raises(SourceError, match=expected):
        _fetch(api, tmp_path, tables=("promotions",), limits=limits)
    assert time.perf_counter() - started < 5
    assert not _promotions_cache(api, tmp_path).exists()


def test_an_empty_or_shrunk_answer_is_refused_and_the_last_good_rows_kept(
    api: FakeSignalsAPI, tmp_path: Path
) -> None:
    _fetch(api, tmp_path, tables=("promotions",))
    cache = _promotions_cache(api, tmp_path)
    last_good = cache.read_bytes()
    for rows in ([], PROMOTIONS[:2]):  # 0 and 2 of the 5 last good rows
        api.rows["promotions"] = rows
        with pytest.raises(SourceError, match=rf"returned {len(rows)} promotions rows"):
            _fetch(api, tmp_path, tables=("promotions",))
        assert cache.read_bytes() == last_good
    result = _fetch(api, tmp_path, tables=("promotions",), use_last_good=True)
    assert len(result.tables["promotions"][0]) == len(PROMOTIONS)
    assert result.tables["promotions"][1] == "api-cache:promotions"
    # A planner who knows the calendar really shrank accepts it explicitly.
    accepted = _fetch(api, tmp_path, tables=("promotions",),
                      limits=SignalsLimits(min_rows_ratio=0))
    assert len(accepted.tables["promotions"][0]) == 2
    assert json.loads(cache.read_text(encoding="utf-8"))["items"] == PROMOTIONS[:2]


def test_last_good_cache_is_keyed_by_url_not_table(api: FakeSignalsAPI, tmp_path: Path) -> None:
    _fetch(api, tmp_path, tables=("promotions",))
    moved = FakeSignalsAPI()  # another API (nothing listens there any more)
    url = moved.url
    moved.server_close()
    with pytest.raises(SourceError, match="no last good promotions"):
        fetch_signals(url, ("promotions",), cache_dir=tmp_path, retries=0,
                      use_last_good=True)
