"""Signals (promotion calendar, livestream schedule) from an HTTP JSON API.

Expected API: for each table, ``GET {base_url}/{table}`` (e.g. ``.../promotions``) returns one
page of rows with the contract's column names, and the URL of the next page::

    {"items": [{"start": "2025-06-01", "end": "2025-06-18", "kind": "618", "discount": 0.2}],
     "next": "/promotions?page=2"}

``next`` is absolute or relative to the page it came from, and ``null`` (or absent) on the last
page. A bare JSON list is accepted as a single page. Rows of a table are numbered as a
spreadsheet would show them (the first item is row 2), and its source is named ``api:TABLE``.

The request carries ``Authorization: Bearer <token>`` when the environment variable named by
the caller holds a token; the token is never logged or put in a message. It only ever goes to
the configured origin (scheme, host and port of ``base_url``): every request, including each
redirect, is checked before it is sent, and a ``next`` link (or redirect) to another origin is
refused with :class:`SourceError` (a compromised or misconfigured API must not be able to
collect the token, nor feed the plan rows from a host nobody configured). Connection errors,
timeouts, HTTP 5xx and 429 are retried with exponential backoff (``Retry-After`` honoured).

Paging is bounded per table by pages (1,000), bytes of JSON read (50 MB, counted while the
body streams in, after decompression) and wall-clock time (120 s, retries included); a table
over any bound is refused rather than read forever or cached. Real signal tables are a few
hundred rows in a few pages, so the bounds only stop a runaway API.

The last good data is not lost: after a table is fetched completely and passes the contract's
table checks, its rows are saved atomically to ``cache_dir/TABLE-<hash of the URL>.json``
(keyed by URL, so pointing the config at another API never serves the old API's rows). A
failed fetch never touches that file. An answer that is empty or keeps fewer than
``min_rows_ratio`` (default 0.5) of the last good rows is refused as a failure too (an API
hiccup must not silently wipe the promotion calendar); set the ratio to 0 to accept any
answer. With ``use_last_good=True`` the caller gets the cached rows and a warning instead of an
error.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import tenacity

from flows.errors import SourceError
from flows.storage.exports import atomic_write
from flows.storage.sources.folder import RawTables
from forecasting.contract import DEMAND_TABLES, DataContractError, parse_table
from replenishment.contract import SUPPLY_TABLES

__all__ = ["SIGNAL_TABLES", "SignalsLimits", "SignalsResult", "cache_file", "fetch_signals"]

SIGNAL_TABLES = ("promotions", "livestreams")
_SPECS = {**DEMAND_TABLES, **SUPPLY_TABLES}
_MAX_WAIT_S = 30.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class SignalsLimits:
    """Bounds of one table's paging and the smallest answer accepted against the cache."""

    max_pages: int = 1_000
    max_bytes: int = 50_000_000
    max_seconds: float = 120.0
    min_rows_ratio: float = 0.5


@dataclass
class _Budget:
    """What is left of a table's paging bounds while its pages are read."""

    limits: SignalsLimits
    deadline: float
    pages: int = 0
    bytes_read: int = 0

    def next_page(self, where: str) -> None:
        if self.pages >= self.limits.max_pages:
            raise SourceError(f"{where}: more than {self.limits.max_pages:,} pages; refusing "
                              "to page further (data.signals_max_pages)")
        if time.monotonic() > self.deadline:
            raise SourceError(f"{where}: paging took longer than {self.limits.max_seconds:g} s; "
                              "refusing to page further (data.signals_max_seconds)")
        self.pages += 1

    def check(self, page_bytes: int, where: str) -> None:
        """Refuse a page that would take the table past its byte bound."""
        if self.bytes_read + page_bytes > self.limits.max_bytes:
            raise SourceError(f"{where}: the answer is larger than "
                              f"{self.limits.max_bytes / 1e6:g} MB; refusing it "
                              "(data.signals_max_mb)")


@dataclass(frozen=True)
class SignalsResult:
    """Tables read from the API (or its last good cache) and warnings for the user."""

    tables: RawTables
    warnings: list[str] = field(default_factory=list)


class _Transient(Exception):
    """A failure worth retrying (the API may recover): kept apart from final failures."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _public_url(url: httpx.URL) -> str:
    """The URL as safe to show: no user info, no query string (either may hold a secret)."""
    return str(url.copy_with(username=None, password=None, query=None))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _origin_text(url: httpx.URL) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


def _origin_guard(allowed: httpx.URL) -> Callable[[httpx.Request], None]:
    """An httpx request hook refusing, before it is sent, any request (a redirect included)
    that leaves the configured origin."""

    def check(request: httpx.Request) -> None:
        if _origin(request.url) != _origin(allowed):
            raise SourceError(
                f"signals API: refusing a request to {_origin_text(request.url)}, which is not "
                f"the configured origin {_origin_text(allowed)} (the token is only sent there)"
            )

    return check


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _get_page(
    client: httpx.Client, url: httpx.URL, token_env: str, headers: dict[str, str],
    budget: _Budget,
) -> Any:
    where = _public_url(url)
    try:
        with client.stream("GET", url, headers=headers) as response:
            _check_status(response, where, token_env)
            body = _read_bounded(response, budget, where)
    except httpx.TimeoutException as err:
        raise _Transient(f"{where} did not answer within {client.timeout.read} s") from err
    except httpx.TransportError as err:
        raise _Transient(f"cannot connect to {where} ({type(err).__name__}: {err})") from err
    try:
        return json.loads(body)
    except ValueError as err:
        raise SourceError(f"{where} did not return JSON ({err})") from err


def _read_bounded(response: httpx.Response, budget: _Budget, where: str) -> bytes:
    """The body, refused as soon as the table's byte budget is spent (a declared
    Content-Length over it is refused before reading anything). Bytes of an attempt that
    fails half-way are not counted, so a retry has the same budget."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit():
        budget.check(int(declared), where)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        budget.check(size, where)
        chunks.append(chunk)
    budget.bytes_read += size
    return b"".join(chunks)


def _check_status(response: httpx.Response, where: str, token_env: str) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise _Transient(f"{where} answered HTTP {status} {response.reason_phrase}",
                         _retry_after(response))
    if status in (401, 403):
        raise SourceError(
            f"{where} refused the request (HTTP {status}): check the bearer token in the "
            f"environment variable {token_env}"
        )
    if status >= 300:
        raise SourceError(f"{where} answered HTTP {status} {response.reason_phrase}")


def _page_rows(payload: Any, where: str) -> tuple[list[dict[str, Any]], str | None]:
    if isinstance(payload, list):
        items, nxt = payload, None
    elif isinstance(payload, dict) and isinstance(payload.get("items"), list):
        items, nxt = payload["items"], payload.get("next")
    else:
        raise SourceError(f"{where} returned JSON of an unexpected shape; expected "
                          '{"items": [...], "next": URL or null} or a list of rows')
    if not all(isinstance(item, dict) for item in items):
        raise SourceError(f"{where}: every item must be a JSON object of column: value")
    if nxt is not None and not isinstance(nxt, str):
        raise SourceError(f"{where}: 'next' must be a URL or null, got {nxt!r}")
    return items, nxt or None


def _wait(backoff_s: float) -> Callable[[tenacity.RetryCallState], float]:
    exponential = tenacity.wait_exponential(multiplier=backoff_s, max=_MAX_WAIT_S)

    def wait(state: tenacity.RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        if isinstance(err, _Transient) and err.retry_after is not None:
            return min(err.retry_after, _MAX_WAIT_S)
        return exponential(state)

    return wait


def _fetch_rows(
    client: httpx.Client, url: str, token_env: str, headers: dict[str, str], retries: int,
    backoff_s: float, limits: SignalsLimits,
) -> list[dict[str, Any]]:
    """Every row of every page, each page retried on transient failures, within ``limits``."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(retries + 1)
        | tenacity.stop_after_delay(limits.max_seconds),
        wait=_wait(backoff_s),
        retry=tenacity.retry_if_exception_type(_Transient),
        reraise=True,
    )
    first = httpx.URL(url)
    budget = _Budget(limits, deadline=time.monotonic() + limits.max_seconds)
    rows: list[dict[str, Any]] = []
    page: httpx.URL | None = first
    seen: set[str] = set()
    while page is not None:
        if str(page) in seen:
            raise SourceError(f"{_public_url(page)}: pagination does not end ('next' repeats "
                              "a page already read)")
        seen.add(str(page))
        budget.next_page(_public_url(first))
        try:
            payload = retrying(_get_page, client, page, token_env, headers, budget)
        except _Transient as err:
            tries = retrying.statistics.get("attempt_number", retries + 1)
            raise SourceError(f"{err} (gave up after {tries} attempts)") from err
        items, nxt = _page_rows(payload, _public_url(page))
        rows += items
        page = page.join(nxt) if nxt else None
        if page is not None and _origin(page) != _origin(first):
            raise SourceError(
                f"{_public_url(first)}: a 'next' link points to {_origin_text(page)}, another "
                f"origin than the configured {_origin_text(first)}; refusing to follow it"
            )
    return rows


def _frame(rows: list[dict[str, Any]], table: str) -> pd.DataFrame:
    if rows:
        return pd.DataFrame.from_records(rows)
    # No rows (e.g. nothing scheduled) is valid: keep the columns so the header checks pass.
    return pd.DataFrame({name: pd.Series(dtype=object) for name in _SPECS[table].columns})


def _save_cache(path: Path, table: str, url: str, rows: list[dict[str, Any]]) -> None:
    document = {"table": table, "url": url, "fetched_at": datetime.now(UTC).isoformat(),
                "items": rows}
    with atomic_write(path, "w") as handle:
        json.dump(document, handle, ensure_ascii=False)


def cache_file(cache_dir: str | os.PathLike[str], table: str, url: str) -> Path:
    """Where the last good rows of ``table`` read from ``url`` are kept (keyed by URL)."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{table}-{digest}.json"


def _load_cache(path: Path, url: str) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return None
    return document if document.get("url") == _public_url(httpx.URL(url)) else None


def _check_not_shrunk(rows: list[dict[str, Any]], cached: dict[str, Any] | None, table: str,
                      url: str, min_rows_ratio: float) -> None:
    """Refuse an answer keeping fewer than ``min_rows_ratio`` of the last good rows."""
    if cached is None or min_rows_ratio <= 0:
        return
    before = len(cached["items"])
    if before and len(rows) < min_rows_ratio * before:
        raise SourceError(
            f"{_public_url(httpx.URL(url))} returned {len(rows)} {table} rows, fewer than "
            f"{min_rows_ratio:.0%} of the {before} last good rows from "
            f"{cached.get('fetched_at')}; refusing it as a likely API fault (accept such "
            "answers with data.signals_min_rows_ratio: 0)"
        )


def fetch_signals(
    base_url: str,
    tables: tuple[str, ...] = SIGNAL_TABLES,
    *,
    cache_dir: str | os.PathLike[str],
    token_env: str = "REPLENISH_SIGNALS_TOKEN",
    timeout_s: float = 10.0,
    retries: int = 3,
    backoff_s: float = 0.5,
    use_last_good: bool = False,
    timezone: str = "Asia/Shanghai",
    limits: SignalsLimits | None = None,
) -> SignalsResult:
    """Read ``tables`` from the API at ``base_url`` (``GET base_url/TABLE``, paginated).

    Raises :class:`SourceError` when the API cannot be read (after the retries), leaves its
    origin, breaks a bound of ``limits`` or answers with sharply fewer rows than last time, and
    no fallback is allowed; :class:`DataContractError` when it returns rows breaking the
    contract (those rows are not cached).
    """
    unknown = [t for t in tables if t not in _SPECS]
    if unknown:
        raise ValueError(f"not tables of the contract: {', '.join(unknown)}")
    limits = limits or SignalsLimits()
    token = os.environ.get(token_env, "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    origin = httpx.URL(base_url)
    result = SignalsResult(tables={})
    with httpx.Client(headers={"Accept": "application/json"}, timeout=timeout_s,
                      follow_redirects=True,
                      event_hooks={"request": [_origin_guard(origin)]}) as client:
        for table in tables:
            url = f"{base_url.rstrip('/')}/{table}"
            cache = cache_file(cache_dir, table, url)
            cached = _load_cache(cache, url)
            try:
                rows = _fetch_rows(client, url, token_env, headers, retries, backoff_s, limits)
                _check_not_shrunk(rows, cached, table, url, limits.min_rows_ratio)
            except SourceError as err:
                result.tables[table] = _fallback(table, cache, cached, err, use_last_good,
                                                 result.warnings)
                continue
            source = f"api:{table}"
            frame = _frame(rows, table)
            _, problems = parse_table(frame, _SPECS[table], source, timezone)
            if problems:
                raise DataContractError(problems)
            _save_cache(cache, table, _public_url(httpx.URL(url)), rows)
            result.tables[table] = (frame, source)
    return result


def _fallback(
    table: str, cache_file: Path, document: dict[str, Any] | None, err: SourceError,
    use_last_good: bool, warnings: list[str],
) -> tuple[pd.DataFrame, str]:
    if document is None:
        raise SourceError(f"signals API: {err}; no last good {table} to fall back on") from err
    if not use_last_good:
        raise SourceError(
            f"signals API: {err}; the last good {table} from {document.get('fetched_at')} is "
            f"kept in {cache_file} (allow falling back to it with data.signals_use_last_good)"
        ) from err
    rows = document["items"]
    warnings.append(
        f"signals API: {err}; using the last good {table} from {document.get('fetched_at')} "
        f"({len(rows)} rows)"
    )
    return _frame(rows, table), f"api-cache:{table}"
